#pragma once

// What the Redis connector tests run: a sink that records what reached it (failing some entries
// the first time it sees them), and a local-mode worker on real time.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <gale/gale.hpp>

#include "worker/worker.hpp"

namespace gale::test {

// What the sinks of one run saw; shared by their tasks through a pointer in the factory.
// Thread: any; every member is guarded by `mutex`.
struct Ledger {
  explicit Ledger(int entries) : delivered(static_cast<std::size_t>(entries), 0) {}

  int delivered_count() {
    std::lock_guard lock(mutex);
    return static_cast<int>(std::count_if(delivered.begin(), delivered.end(),
                                          [](int n) { return n > 0; }));
  }

  // Once `hold_after` entries were delivered, the sinks wait until release(): the topology then
  // stands still at a known point (-1: never).
  void release() {
    {
      std::lock_guard lock(mutex);
      released = true;
    }
    changed.notify_all();
  }

  std::mutex mutex;
  std::condition_variable changed;
  int hold_after = -1;
  bool released = false;
  int delivered_total = 0;
  std::vector<int> delivered;        // per entry number: times acked by the sink
  std::set<int> failed_once;         // entry numbers failed on first sight
  std::vector<std::string> reasons;  // the error stream's reasons
  std::vector<std::string> positions;
};

// Entry number n is failed the first time the sink sees it when its hash picks it (about one in
// `fail_one_in`; 0: none), and always when n is `always_fail`.
inline bool picked(int n, int fail_one_in) {
  return fail_one_in > 0 && (static_cast<std::uint32_t>(n) * 2654435761u) % 1000u <
                                1000u / static_cast<std::uint32_t>(fail_one_in);
}

// Thread: each task's executor thread; the ledger is locked.
class CheckingSink : public Bolt {
 public:
  CheckingSink(std::shared_ptr<Ledger> ledger, int fail_one_in, int always_fail = -1)
      : ledger_(std::move(ledger)), fail_one_in_(fail_one_in), always_fail_(always_fail) {}
  void declare_outputs(OutputDeclarer&) override {}
  void execute(const Tuple& input, BoltCollector& out) override {
    const int n = std::stoi(input.get_string("n"));
    std::unique_lock lock(ledger_->mutex);
    ledger_->changed.wait(lock, [&] {
      return ledger_->hold_after < 0 || ledger_->delivered_total < ledger_->hold_after ||
             ledger_->released;
    });
    if (n == always_fail_ || (picked(n, fail_one_in_) && ledger_->failed_once.insert(n).second)) {
      out.fail(input);
      return;
    }
    ++ledger_->delivered.at(static_cast<std::size_t>(n));
    ++ledger_->delivered_total;
    out.ack(input);
  }

 private:
  std::shared_ptr<Ledger> ledger_;
  int fail_one_in_;
  int always_fail_;
};

// Records the error stream: (position, record, reason).
// Thread: each task's executor thread; the ledger is locked.
class ErrorSink : public Bolt {
 public:
  explicit ErrorSink(std::shared_ptr<Ledger> ledger) : ledger_(std::move(ledger)) {}
  void declare_outputs(OutputDeclarer&) override {}
  void execute(const Tuple& input, BoltCollector& out) override {
    std::lock_guard lock(ledger_->mutex);
    ledger_->positions.push_back(input.get_string("position"));
    ledger_->reasons.push_back(input.get_string("reason"));
    out.ack(input);
  }

 private:
  std::shared_ptr<Ledger> ledger_;
};

// The message of the error `build` (which builds a topology) throws, or "" when it throws none.
template <class Build>
std::string build_error(Build build) {
  try {
    build();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

inline const worker::ComponentStats& stats_of(const worker::WorkerStats& stats,
                                              const std::string& component) {
  for (const worker::ComponentStats& c : stats.components) {
    if (c.component == component) return c;
  }
  throw Error("no component '" + component + "' in the worker's stats");
}

}  // namespace gale::test
