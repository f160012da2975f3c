#include "spouts/kafka/first_poll.hpp"

#include <gale/errors.hpp>

namespace gale::spouts::kafka {

FirstPoll first_poll_of(std::string_view name) {
  if (name == "earliest") return FirstPoll::earliest;
  if (name == "latest") return FirstPoll::latest;
  if (name == "uncommitted_earliest") return FirstPoll::uncommitted_earliest;
  if (name == "uncommitted_latest") return FirstPoll::uncommitted_latest;
  throw ConfigError("config key 'kafka.first.poll.offset.strategy': unknown strategy '" +
                    std::string(name) + "'");
}

std::string commit_metadata(std::string_view topology_id) {
  return "gale:" + std::string(topology_id);
}

StartAt start_at(FirstPoll strategy, const std::optional<std::string>& committed,
                 std::string_view ours) {
  const bool from_beginning =
      strategy == FirstPoll::earliest || strategy == FirstPoll::uncommitted_earliest;
  if (!committed) return from_beginning ? StartAt::beginning : StartAt::end;
  // A commit of another deployment (or of another client, without Gale's metadata) is the
  // previous deployment's place: earliest and latest start over from it.
  if (by_deployment(strategy) && *committed != ours) {
    return from_beginning ? StartAt::beginning : StartAt::end;
  }
  return StartAt::commit;
}

}  // namespace gale::spouts::kafka
