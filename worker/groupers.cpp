#include "worker/groupers.hpp"

#include <algorithm>

#include <gale/errors.hpp>
#include <gale/grouping.hpp>

#include "worker/random.hpp"

namespace gale::worker {

Grouper::~Grouper() = default;

std::uint64_t fields_hash(const Values& values,
                          const std::vector<std::size_t>& field_indexes) noexcept {
  std::uint64_t h = 0x84222325cbf29ce4ull;
  for (std::size_t i : field_indexes) {
    std::uint64_t v = i < values.size() ? values[i].hash() : 0;
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  }
  return h;
}

namespace {

// Maps a 64-bit hash onto [0, n) by its high bits (multiply and shift), where `% n` would be a
// 64-bit division per tuple, ten times the cost. The hash's avalanche makes every bit as good.
std::size_t reduce(std::uint64_t hash, std::size_t n) noexcept {
  return static_cast<std::size_t>((static_cast<unsigned __int128>(hash) * n) >> 64);
}

// Round-robin over a shuffled order, reshuffled every round (Storm's shuffle grouping): even load
// without a random draw per tuple.
class ShuffleGrouper final : public Grouper {
 public:
  ShuffleGrouper(std::vector<std::int32_t> tasks, std::uint64_t seed)
      : tasks_(std::move(tasks)), random_(seed) {
    reshuffle();
  }
  void choose(const Values&, std::vector<std::int32_t>& out) override {
    if (next_ == tasks_.size()) reshuffle();
    out.push_back(tasks_[next_++]);
  }

 private:
  void reshuffle() {
    for (std::size_t i = tasks_.size(); i > 1; --i) {
      std::swap(tasks_[i - 1], tasks_[random_.below(static_cast<std::uint32_t>(i))]);
    }
    next_ = 0;
  }
  std::vector<std::int32_t> tasks_;
  Random random_;
  std::size_t next_ = 0;
};

class FieldsGrouper final : public Grouper {
 public:
  FieldsGrouper(const std::vector<std::int32_t>& tasks, std::vector<std::size_t> fields)
      : tasks_(tasks), fields_(std::move(fields)) {}
  void choose(const Values& values, std::vector<std::int32_t>& out) override {
    out.push_back(tasks_[reduce(fields_hash(values, fields_), tasks_.size())]);
  }

 private:
  const std::vector<std::int32_t>& tasks_;
  std::vector<std::size_t> fields_;
};

class AllGrouper final : public Grouper {
 public:
  explicit AllGrouper(const std::vector<std::int32_t>& tasks) : tasks_(tasks) {}
  void choose(const Values&, std::vector<std::int32_t>& out) override {
    out.insert(out.end(), tasks_.begin(), tasks_.end());
  }

 private:
  const std::vector<std::int32_t>& tasks_;
};

// Global grouping (the lowest task id), and every grouping but direct and custom onto a
// component with one task: the choice is fixed, so no hash or draw per tuple.
class FixedTaskGrouper final : public Grouper {
 public:
  explicit FixedTaskGrouper(std::int32_t task) : task_(task) {}
  void choose(const Values&, std::vector<std::int32_t>& out) override { out.push_back(task_); }

 private:
  std::int32_t task_;
};

// None grouping: Storm leaves the choice to the runtime; a random task spreads the load.
class RandomGrouper final : public Grouper {
 public:
  RandomGrouper(const std::vector<std::int32_t>& tasks, std::uint64_t seed)
      : tasks_(tasks), random_(seed) {}
  void choose(const Values&, std::vector<std::int32_t>& out) override {
    out.push_back(tasks_[random_.below(static_cast<std::uint32_t>(tasks_.size()))]);
  }

 private:
  const std::vector<std::int32_t>& tasks_;
  Random random_;
};

// Partial key grouping (Nasir et al., "The power of both choices"): each key has two candidate
// tasks; the one this emitter has sent fewer tuples to wins, which bounds skew from hot keys.
class PartialKeyGrouper final : public Grouper {
 public:
  PartialKeyGrouper(const std::vector<std::int32_t>& tasks, std::vector<std::size_t> fields)
      : tasks_(tasks), fields_(std::move(fields)), load_(tasks.size(), 0) {}
  void choose(const Values& values, std::vector<std::int32_t>& out) override {
    std::uint64_t h = fields_hash(values, fields_);
    std::size_t first = reduce(h, tasks_.size());
    std::uint64_t h2 = (h ^ 0x5bd1e9955bd1e995ull) * 0xff51afd7ed558ccdull;
    std::size_t second = reduce(h2 ^ (h2 >> 33), tasks_.size());
    std::size_t pick = load_[second] < load_[first] ? second : first;
    ++load_[pick];
    out.push_back(tasks_[pick]);
  }

 private:
  const std::vector<std::int32_t>& tasks_;
  std::vector<std::size_t> fields_;
  std::vector<std::uint64_t> load_;
};

class CustomGrouper final : public Grouper {
 public:
  CustomGrouper(std::unique_ptr<CustomStreamGrouping> grouping,
                const std::vector<std::int32_t>& tasks, std::int32_t source_task,
                std::function<void(const std::string&)> report_error)
      : grouping_(std::move(grouping)),
        tasks_(tasks),
        source_task_(source_task),
        report_error_(std::move(report_error)) {}
  void choose(const Values& values, std::vector<std::int32_t>& out) override {
    std::size_t first = out.size();
    grouping_->choose_tasks(source_task_, values, out);
    // Keep only tasks that subscribe; anything else is a bug in the grouping, reported not routed.
    auto bad = std::remove_if(
        out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
        [&](std::int32_t t) { return !std::binary_search(tasks_.begin(), tasks_.end(), t); });
    if (bad != out.end()) {
      if (report_error_) {
        report_error_("custom grouping chose task " + std::to_string(*bad) +
                      ", which is not a target task; tuple not sent there");
      }
      out.erase(bad, out.end());
    }
  }

 private:
  std::unique_ptr<CustomStreamGrouping> grouping_;
  const std::vector<std::int32_t>& tasks_;
  std::int32_t source_task_;
  std::function<void(const std::string&)> report_error_;
};

}  // namespace

std::unique_ptr<Grouper> make_grouper(const detail::SubscriberPlan& subscriber, GrouperArgs args) {
  const auto& tasks = *subscriber.tasks;
  const GroupingType type = subscriber.grouping->type;
  if (tasks.size() == 1 && type != GroupingType::direct && type != GroupingType::custom) {
    return std::make_unique<FixedTaskGrouper>(tasks.front());
  }
  switch (type) {
    case GroupingType::shuffle:
      return std::make_unique<ShuffleGrouper>(tasks, args.seed);
    case GroupingType::fields:
      return std::make_unique<FieldsGrouper>(tasks, subscriber.field_indexes);
    case GroupingType::all:
      return std::make_unique<AllGrouper>(tasks);
    case GroupingType::global:
      return std::make_unique<FixedTaskGrouper>(*std::min_element(tasks.begin(), tasks.end()));
    case GroupingType::none:
      return std::make_unique<RandomGrouper>(tasks, args.seed);
    case GroupingType::direct:
      return nullptr;
    case GroupingType::local_or_shuffle: {
      std::vector<std::int32_t> local;
      for (std::int32_t t : tasks) {
        if (std::find(args.local_tasks.begin(), args.local_tasks.end(), t) !=
            args.local_tasks.end()) {
          local.push_back(t);
        }
      }
      return std::make_unique<ShuffleGrouper>(local.empty() ? tasks : std::move(local), args.seed);
    }
    case GroupingType::partial_key:
      return std::make_unique<PartialKeyGrouper>(tasks, subscriber.field_indexes);
    case GroupingType::custom: {
      auto grouping = subscriber.grouping->custom();
      if (!grouping) throw TopologyError("custom grouping factory returned null");
      grouping->prepare(*args.context, args.stream, tasks);
      return std::make_unique<CustomGrouper>(std::move(grouping), tasks, args.context->task_id(),
                                             std::move(args.report_error));
    }
  }
  return nullptr;
}

}  // namespace gale::worker
