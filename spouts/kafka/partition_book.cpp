#include "spouts/kafka/partition_book.hpp"

namespace gale::spouts::kafka {

void PartitionBook::assign(const TopicPartition& tp) { parts_.try_emplace(tp); }

std::optional<CommitPosition> PartitionBook::revoke(const TopicPartition& tp) {
  const auto it = parts_.find(tp);
  if (it == parts_.end()) return std::nullopt;
  std::optional<CommitPosition> out;
  if (it->second.tracker && it->second.tracker->has_commit()) {
    out = CommitPosition{tp, it->second.tracker->commit()};
  }
  parts_.erase(it);
  return out;
}

std::vector<TopicPartition> PartitionBook::partitions() const {
  std::vector<TopicPartition> out;
  for (const auto& [tp, part] : parts_) out.push_back(tp);
  return out;
}

bool PartitionBook::read(const RecordPosition& at, Values record) {
  const auto it = parts_.find(at.tp);
  if (it == parts_.end()) return false;
  Partition& part = it->second;
  if (!part.tracker) part.tracker.emplace(at.offset);
  if (!part.tracker->emitted(at.offset, at.offset + 1)) return false;
  part.records.emplace_hint(part.records.end(), at.offset, std::move(record));  // mostly ascending
  return true;
}

bool PartitionBook::done(const RecordPosition& at) {
  const auto it = parts_.find(at.tp);
  if (it == parts_.end() || !it->second.tracker) return false;
  if (!it->second.tracker->done(at.offset)) return false;
  it->second.records.erase(at.offset);
  return true;
}

const Values* PartitionBook::record(const RecordPosition& at) const {
  const auto it = parts_.find(at.tp);
  if (it == parts_.end()) return nullptr;
  const auto rec = it->second.records.find(at.offset);
  return rec == it->second.records.end() ? nullptr : &rec->second;
}

std::vector<CommitPosition> PartitionBook::take_commits() {
  std::vector<CommitPosition> out;
  for (auto& [tp, part] : parts_) {
    if (part.tracker && part.tracker->has_commit()) {
      out.push_back({tp, part.tracker->commit()});
    }
  }
  return out;
}

std::vector<CommitPosition> PartitionBook::committed() const {
  std::vector<CommitPosition> out;
  for (const auto& [tp, part] : parts_) {
    if (part.tracker) out.push_back({tp, part.tracker->committed()});
  }
  return out;
}

std::vector<CommitPosition> PartitionBook::positions() const {
  std::vector<CommitPosition> out;
  for (const auto& [tp, part] : parts_) {
    if (part.tracker) out.push_back({tp, part.tracker->committable()});
  }
  return out;
}

bool PartitionBook::at_cap(const TopicPartition& tp) const {
  const auto it = parts_.find(tp);
  return it != parts_.end() && it->second.tracker &&
         it->second.tracker->uncommitted() >= max_uncommitted_;
}

bool PartitionBook::commit_due(const TopicPartition& tp) const {
  const auto it = parts_.find(tp);
  return it != parts_.end() && it->second.tracker &&
         2 * it->second.tracker->uncommitted() >= max_uncommitted_ &&
         it->second.tracker->has_commit();
}

std::size_t PartitionBook::in_flight() const {
  std::size_t n = 0;
  for (const auto& [tp, part] : parts_) n += part.records.size();
  return n;
}

}  // namespace gale::spouts::kafka
