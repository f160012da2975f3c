#pragma once

// Where the Kafka spout starts reading a partition it is assigned: storm-kafka-client's
// FirstPollOffsetStrategy. The group's commits carry the deployment that made them (commit
// metadata "gale:<topology.id>"), so that earliest and latest start over once per deployment and
// a partition moving between tasks of one deployment, or a restarted worker, resumes from the
// commit. Kept apart from librdkafka so that it is tested without a broker.

#include <optional>
#include <string>
#include <string_view>

namespace gale::spouts::kafka {

// kafka.first.poll.offset.strategy.
enum class FirstPoll {
  earliest,              // the beginning, unless this deployment committed the partition
  latest,                // the end, unless this deployment committed the partition
  uncommitted_earliest,  // the group's commit, or the beginning without one
  uncommitted_latest,    // the group's commit, or the end without one
};

// The strategy named `name` (one of the key's choices, which the schema checks). Throws
// gale::ConfigError naming kafka.first.poll.offset.strategy for any other name.
[[nodiscard]] FirstPoll first_poll_of(std::string_view name);

// True for earliest and latest, which look at who made the group's commit.
[[nodiscard]] constexpr bool by_deployment(FirstPoll strategy) noexcept {
  return strategy == FirstPoll::earliest || strategy == FirstPoll::latest;
}

// The metadata every commit of deployment `topology_id` carries: "gale:<topology.id>".
[[nodiscard]] std::string commit_metadata(std::string_view topology_id);

enum class StartAt { commit, beginning, end };

// Where a partition starts under `strategy`, given the group's commit of it (`committed`: its
// metadata, or nullopt when the group has no commit) and this deployment's commit metadata `ours`.
[[nodiscard]] StartAt start_at(FirstPoll strategy, const std::optional<std::string>& committed,
                               std::string_view ours);

}  // namespace gale::spouts::kafka
