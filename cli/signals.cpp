#include "cli/signals.hpp"

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <thread>

namespace gale::cli {

sigset_t stop_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  return signals;
}

int wait_for_signal(const sigset_t& signals, std::chrono::steady_clock::time_point deadline) {
  using Clock = std::chrono::steady_clock;
  for (;;) {
    const auto left = std::max(deadline - Clock::now(), Clock::duration::zero());
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    timespec timeout{};
    timeout.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    timeout.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    const int signal = sigtimedwait(&signals, nullptr, &timeout);
    if (signal > 0) return signal;
    if (errno == EAGAIN && Clock::now() >= deadline) return 0;
    if (errno != EINTR && errno != EAGAIN) {
      std::this_thread::sleep_until(deadline);  // cannot happen; never spin if it does
      return 0;
    }
  }
}

}  // namespace gale::cli
