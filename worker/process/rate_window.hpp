#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace gale::worker {

// Per-counter rates over the last heartbeat interval: the previous total of each counter and when
// it was read. Times come from the caller (a common::Clock), so rates are tested without sleeping.
// Thread: one owner (the worker process's).
class RateWindow {
 public:
  // Per second, rounded, of the growth of `total` since the last call for `key` at `now_ns`.
  // 0 on the first call for `key`, when no time passed, or when the total went down.
  std::int64_t rate(const std::string& key, std::uint64_t total, std::int64_t now_ns);

 private:
  struct Reading {
    std::uint64_t total;
    std::int64_t at_ns;
  };
  std::map<std::string, Reading> last_;
};

}  // namespace gale::worker
