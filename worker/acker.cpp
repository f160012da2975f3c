#include "worker/acker.hpp"

namespace gale::worker {

AckerTable::Result AckerTable::settle(std::uint64_t root, Entry& entry) {
  if (entry.spout_task == 0) return {};  // init not seen yet: nothing can be decided
  if (entry.failed) {
    Result r{Outcome::failed, entry.spout_task};
    entries_.erase(root);
    return r;
  }
  if (entry.value == 0) {
    Result r{Outcome::completed, entry.spout_task};
    entries_.erase(root);
    return r;
  }
  return {};
}

AckerTable::Result AckerTable::init(std::uint64_t root, std::uint64_t xor_value,
                                    std::int32_t spout_task) {
  Entry* entry = &entries_.find_or_insert(root);
  entry->value ^= xor_value;
  entry->spout_task = spout_task;
  return settle(root, *entry);
}

AckerTable::Result AckerTable::ack(std::uint64_t root, std::uint64_t xor_value) {
  Entry* entry = &entries_.find_or_insert(root);
  entry->value ^= xor_value;
  return settle(root, *entry);
}

AckerTable::Result AckerTable::fail(std::uint64_t root) {
  Entry* entry = &entries_.find_or_insert(root);
  entry->failed = true;
  return settle(root, *entry);
}

std::size_t AckerTable::rotate() {
  std::size_t dropped = 0;
  entries_.rotate([&](std::uint64_t, Entry&) { ++dropped; });
  return dropped;
}

}  // namespace gale::worker
