#include <gale/grouping.hpp>

namespace gale {

CustomStreamGrouping::~CustomStreamGrouping() = default;

// Most custom groupings only need the target tasks when choosing, which choose_tasks() cannot see,
// so they override prepare(); the default keeps the ones that do not need anything trivial.
void CustomStreamGrouping::prepare(const Context&, const std::string&,
                                   const std::vector<std::int32_t>&) {}

const char* grouping_name(GroupingType type) noexcept {
  switch (type) {
    case GroupingType::shuffle: return "shuffle";
    case GroupingType::fields: return "fields";
    case GroupingType::all: return "all";
    case GroupingType::global: return "global";
    case GroupingType::none: return "none";
    case GroupingType::direct: return "direct";
    case GroupingType::local_or_shuffle: return "local_or_shuffle";
    case GroupingType::partial_key: return "partial_key";
    case GroupingType::custom: return "custom";
  }
  // Only reachable with a value cast from an out-of-range integer (e.g. a corrupt message).
  return "unknown";
}

}  // namespace gale
