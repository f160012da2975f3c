// At-least-once processing with replays: a spout that keeps every message until it is acked and
// re-emits the ones whose trees fail, a bolt that fails about 5% of its inputs at random, and a
// sink. The summary of gale local shows the failed trees; every one of them was replayed.
//
//   gale local build/examples/reliable_pipeline.so --duration 5

#include <cstdint>
#include <cstdio>
#include <deque>
#include <random>
#include <string>
#include <unordered_map>

#include <gale/gale.hpp>

namespace {

// Emits numbered events; a failed event is emitted again with the same message id until it is
// acked. Thread: its task's executor.
class EventSpout : public gale::Spout {
 public:
  void declare_outputs(gale::OutputDeclarer& declarer) override {
    declarer.declare({"id", "payload", "attempt"});
  }

  void open(const gale::Context& context, gale::SpoutCollector& out) override {
    out_ = &out;
    const gale::Value* max_pending = context.config().find(gale::keys::topology_max_spout_pending);
    max_pending_ = max_pending != nullptr && max_pending->is_int() ? max_pending->as_int() : 0;
  }

  void next_tuple() override {
    if (!replay_.empty()) {
      const std::int64_t id = replay_.front();
      replay_.pop_front();
      if (auto it = pending_.find(id); it != pending_.end()) emit(id, ++it->second);
      return;
    }
    for (int i = 0; i < 8 && below_max_pending(); ++i) {
      const std::int64_t id = next_id_++;
      pending_.emplace(id, 1);
      emit(id, 1);
    }
  }

  void ack(const gale::MessageId& id) override { pending_.erase(id.as_int()); }
  void fail(const gale::MessageId& id) override {
    ++replays_;
    replay_.push_back(id.as_int());
  }

  void close() override {
    // No logger in a plugin: stderr keeps stdout for gale local's progress and summary.
    // Events failed during the stop's drain wait here for a replay that the stop cut off; a
    // durable source would keep them for the next run.
    std::fprintf(stderr, "reliable_pipeline: %llu replays; %zu events not acked at stop\n",
                 static_cast<unsigned long long>(replays_), pending_.size());
  }

 private:
  // The runtime checks topology.max.spout.pending before each next_tuple() call; checking it per
  // emit too keeps a call that emits several tuples from overshooting it.
  bool below_max_pending() const {
    return max_pending_ <= 0 || out_->pending_count() < static_cast<std::size_t>(max_pending_);
  }

  void emit(std::int64_t id, std::int64_t attempt) {
    out_->emit({id, "event-" + std::to_string(id), attempt}, id);
  }

  gale::SpoutCollector* out_ = nullptr;
  std::int64_t max_pending_ = 0;  // 0: unbounded
  std::int64_t next_id_ = 0;
  std::uint64_t replays_ = 0;
  std::unordered_map<std::int64_t, std::int64_t> pending_;  // message id -> attempts so far
  std::deque<std::int64_t> replay_;
};

// Fails about 5% of its inputs, as a flaky external call would; passes the rest on, anchored.
class FlakyBolt : public gale::Bolt {
 public:
  void declare_outputs(gale::OutputDeclarer& declarer) override {
    declarer.declare({"id", "payload"});
  }

  void prepare(const gale::Context& context, gale::BoltCollector&) override {
    random_.seed(static_cast<std::uint32_t>(context.task_id()) * 7919u + 1);
  }

  void execute(const gale::Tuple& input, gale::BoltCollector& out) override {
    if (random_() % 100 < 5) {
      out.fail(input);  // the spout's fail() runs now, without waiting for the timeout
      return;
    }
    out.emit(input, {input.get_int("id"), input.get_string("payload")});
    out.ack(input);
  }

 private:
  std::minstd_rand random_;
};

// The end of the pipeline: a BasicBolt, so its input is acked when execute() returns.
class SinkBolt : public gale::BasicBolt {
 public:
  void declare_outputs(gale::OutputDeclarer&) override {}
  void execute(const gale::Tuple& input, gale::BasicCollector&) override {
    checksum_ += static_cast<std::uint64_t>(input.get_int("id"));
  }

 private:
  std::uint64_t checksum_ = 0;
};

void build(gale::TopologyBuilder& builder, gale::Config& config) {
  builder.set_spout("events", gale::make<EventSpout>(), 1);
  builder.set_bolt("flaky", gale::make<FlakyBolt>(), 2).shuffle_grouping("events");
  builder.set_bolt("sink", gale::make<SinkBolt>(), 1).fields_grouping("flaky", {"id"});
  config.set(gale::keys::topology_max_spout_pending, 1024);
  // Trees lost to a crash would be replayed after this long; failures here are explicit and fast.
  config.set(gale::keys::topology_message_timeout_secs, 10);
}

}  // namespace

GALE_TOPOLOGY(build)
