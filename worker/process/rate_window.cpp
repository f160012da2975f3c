#include "worker/process/rate_window.hpp"

namespace gale::worker {

std::int64_t RateWindow::rate(const std::string& key, std::uint64_t total, std::int64_t now_ns) {
  auto [it, fresh] = last_.try_emplace(key, Reading{total, now_ns});
  if (fresh) return 0;
  const Reading before = it->second;
  it->second = Reading{total, now_ns};
  const double seconds = static_cast<double>(now_ns - before.at_ns) / 1e9;
  if (seconds <= 0 || total < before.total) return 0;
  return static_cast<std::int64_t>(static_cast<double>(total - before.total) / seconds + 0.5);
}

}  // namespace gale::worker
