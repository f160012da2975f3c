#include <gale/testing.hpp>

#include <algorithm>
#include <thread>

#include <gale/errors.hpp>

#include "common/clock.hpp"
#include "common/topology_id.hpp"
#include "topology/src/plan.hpp"
#include "worker/worker.hpp"

namespace gale::testing {

namespace {

using namespace std::chrono_literals;

const std::vector<Values>& no_tuples() {
  static const std::vector<Values> empty;
  return empty;
}

}  // namespace

struct TrackedTopology::Run {
  std::shared_ptr<common::ManualClock> clock;  // null: real time
  std::unique_ptr<worker::Worker> worker;
};

const std::vector<Values>& CompletedTopology::emitted(std::string_view component,
                                                      std::string_view stream) const {
  auto c = emitted_.find(component);
  if (c == emitted_.end()) {
    if (counts_.find(component) == counts_.end()) {
      throw TopologyError("unknown component '" + std::string(component) + "'");
    }
    return no_tuples();
  }
  auto s = c->second.find(stream);
  return s == c->second.end() ? no_tuples() : s->second;
}

ComponentCounts CompletedTopology::counts(std::string_view component) const {
  auto it = counts_.find(component);
  if (it == counts_.end())
    throw TopologyError("unknown component '" + std::string(component) + "'");
  return it->second;
}

TrackedTopology::TrackedTopology(const Topology& topology, RunOptions options)
    : options_(std::move(options)), run_(std::make_unique<Run>()) {
  worker::WorkerOptions wo;
  wo.capture_emits = true;
  wo.name = "test";
  if (options_.simulated_time) {
    run_->clock = std::make_shared<common::ManualClock>();
    wo.clock = run_->clock;
  }
  // One deployment per run, unless the test names one (to play a restart of the same deployment).
  if (!options_.config.contains(keys::topology_id)) {
    options_.config.set(keys::topology_id, common::local_topology_id(options_.config.get_string(
                                               keys::topology_name, "test")));
  }
  run_->worker = std::make_unique<worker::Worker>(topology, options_.config, std::move(wo));
  deadline_ = std::chrono::steady_clock::now() + options_.wall_limit;
  run_->worker->start();
}

TrackedTopology::~TrackedTopology() { stop(); }

void TrackedTopology::stop() {
  if (run_->worker) run_->worker->stop(std::chrono::milliseconds(0));
}

void TrackedTopology::wait_idle() {
  // Two looks a few milliseconds apart that both find nothing queued, every spout idle and no
  // batch handed over in between: a message in flight always shows in one of them.
  while (true) {
    if (std::chrono::steady_clock::now() > deadline_) {
      throw Error("test kit: topology still busy after " +
                  std::to_string(options_.wall_limit.count()) + " ms (" +
                  std::to_string(run_->worker->pending_trees()) + " tuple trees pending)");
    }
    std::uint64_t before = run_->worker->activity();
    bool idle = run_->worker->quiescent() && run_->worker->spouts_idle();
    std::this_thread::sleep_for(2ms);
    if (idle && run_->worker->quiescent() && run_->worker->spouts_idle() &&
        run_->worker->activity() == before) {
      return;
    }
  }
}

void TrackedTopology::advance_time(std::chrono::milliseconds by) {
  if (!run_->clock) throw Error("test kit: advance_time needs RunOptions::simulated_time");
  run_->clock->advance(by);
  simulated_ += by;
  // Every executor runs its timers against the new time before we look for idleness: ticks and
  // timeouts come from inside executors, not from a queue the idle check could see.
  run_->worker->sync_timers();
  wait_idle();
}

void TrackedTopology::run_to_completion() {
  while (true) {
    wait_idle();
    if (run_->worker->pending_trees() == 0) return;
    if (run_->clock) {
      advance_time(options_.time_step);
    } else {
      std::this_thread::sleep_for(10ms);
    }
  }
}

std::uint64_t TrackedTopology::pending_trees() const { return run_->worker->pending_trees(); }

CompletedTopology TrackedTopology::result() const {
  CompletedTopology r;
  r.simulated_time_ = simulated_;
  const detail::Plan& plan = run_->worker->plan();
  for (const detail::ComponentPlan& c : plan.components()) {
    r.counts_[c.def->id];  // every component is known, even one that emitted nothing
  }
  for (worker::CapturedEmit& e : run_->worker->captured()) {
    const detail::ComponentPlan& c = plan.component(e.component_index);
    r.emitted_[c.def->id][c.streams[e.stream_index].meta.stream].push_back(std::move(e.values));
  }
  for (const worker::ComponentStats& s : run_->worker->stats().components) {
    if (s.is_acker) continue;
    ComponentCounts& counts = r.counts_[s.component];
    counts.emitted = s.emitted;
    counts.acked = s.acked;
    counts.failed = s.failed;
    counts.timed_out = s.timed_out;
    counts.executed = s.executed;
    counts.errors = s.errors;
  }
  return r;
}

CompletedTopology complete_topology(const Topology& topology, RunOptions options) {
  TrackedTopology tracked(topology, std::move(options));
  tracked.run_to_completion();
  CompletedTopology result = tracked.result();
  tracked.stop();
  return result;
}

}  // namespace gale::testing
