#include "bench/topologies.hpp"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>

#include <gale/bolts/split_sentence_bolt.hpp>
#include <gale/bolts/word_count_bolt.hpp>

#include "bench/probe.hpp"

namespace gale::bench {

namespace {

// Tuples a spout emits per next_tuple() call: few enough to keep next_tuple short, enough that the
// call's overhead does not dominate.
constexpr int k_emits_per_call = 16;
// A rate-limited spout that fell behind (a stall, or max spout pending) catches up at most this
// much at once instead of bursting everything it owes.
constexpr double k_max_backlog_ns = 5'000'000;

std::shared_ptr<Probe> make_probe(const gale::Context& context) {
  std::string dir = context.config().get_string(k_stats_dir, "");
  auto probe = std::make_shared<Probe>(context.component_id(), context.task_id(), dir);
  if (dir.empty()) register_probe(probe);
  return probe;
}

// Emits a constant int (noop) or the next sentence (wordcount), with the emit time as message id
// when acking is on, as fast as it is called or at bench.rate tuples/s.
// Thread: its task's executor.
class BenchSpout final : public gale::Spout {
 public:
  explicit BenchSpout(Shape shape) : shape_(shape) {}

  void declare_outputs(gale::OutputDeclarer& declarer) override {
    declarer.declare({shape_ == Shape::noop ? "value" : "sentence"});
  }

  void open(const gale::Context& context, gale::SpoutCollector& out) override {
    out_ = &out;
    const gale::Config& config = context.config();
    reliable_ = config.get_int(gale::keys::topology_acker_executors, 1) > 0;
    idle_ = config.get_bool(k_idle, false);
    const double rate = config.get_double(k_rate, 0);
    interval_ns_ = rate > 0 ? 1e9 / rate : 0;
    probe_ = make_probe(context);
  }

  void next_tuple() override {
    const std::int64_t now = now_ns();
    probe_->maybe_publish(now);
    if (idle_) return;
    int n = k_emits_per_call;
    if (interval_ns_ > 0) n = std::min<std::int64_t>(n, due(now));
    for (int i = 0; i < n; ++i) {
      gale::Values values = next_values();
      if (reliable_) {
        out_->emit(std::move(values), gale::MessageId(now));
      } else {
        out_->emit(std::move(values));
      }
    }
    probe_->add(static_cast<std::uint64_t>(n));
  }

  void ack(const gale::MessageId& id) override {
    const std::int64_t now = now_ns();
    probe_->acked(now - id.as_int());
    probe_->maybe_publish(now);
  }
  void fail(const gale::MessageId&) override { probe_->failed(); }

 private:
  gale::Values next_values() {
    if (shape_ == Shape::noop) return {std::int64_t{42}};
    const std::string_view sentence = k_sentences[next_sentence_];
    next_sentence_ = (next_sentence_ + 1) % k_sentence_count;
    return {std::string(sentence)};
  }

  // How many tuples are due at `now` (bench.rate), counting those it then emits as sent.
  std::int64_t due(std::int64_t now) {
    const auto t = static_cast<double>(now);
    if (next_due_ns_ == 0) next_due_ns_ = t;
    next_due_ns_ = std::max(next_due_ns_, t - k_max_backlog_ns);
    if (next_due_ns_ > t) return 0;
    const auto n = std::min<std::int64_t>(
        k_emits_per_call, static_cast<std::int64_t>((t - next_due_ns_) / interval_ns_) + 1);
    next_due_ns_ += static_cast<double>(n) * interval_ns_;
    return n;
  }

  const Shape shape_;
  gale::SpoutCollector* out_ = nullptr;
  bool reliable_ = true;
  bool idle_ = false;
  double interval_ns_ = 0;  // 0: no rate limit
  double next_due_ns_ = 0;
  int next_sentence_ = 0;
  std::shared_ptr<Probe> probe_;
};

// A bench bolt: bolt B (a built-in one, or NoopBolt) with a probe on top that counts its data
// tuples and is published now and then (on a tick at the latest, so an idle task's snapshot stays
// fresh). Thread: its task's executor.
template <class B>
class Probed final : public B {
 public:
  using B::B;

  void prepare(const gale::Context& context, gale::BoltCollector& out) override {
    B::prepare(context, out);
    probe_ = make_probe(context);
  }
  gale::Config component_config() const override {
    gale::Config config = B::component_config();
    config.set(gale::keys::topology_tick_tuple_freq_secs, 1);
    return config;
  }
  void execute(const gale::Tuple& input, gale::BoltCollector& out) override {
    if (input.is_tick()) {
      probe_->maybe_publish(now_ns());
      return;
    }
    B::execute(input, out);
    probe_->add();
    if ((++executed_ & 63) == 0) probe_->maybe_publish(now_ns());
  }

 private:
  std::shared_ptr<Probe> probe_;
  std::uint64_t executed_ = 0;
};

// Acks its input (unless bench.sink.acks is false) and does nothing else.
// Thread: its task's executor.
class NoopBolt : public gale::Bolt {
 public:
  void declare_outputs(gale::OutputDeclarer&) override {}
  void prepare(const gale::Context& context, gale::BoltCollector&) override {
    acks_ = context.config().get_bool(k_sink_acks, true);
  }
  void execute(const gale::Tuple& input, gale::BoltCollector& out) override {
    if (acks_) out.ack(input);
  }

 private:
  bool acks_ = true;
};

}  // namespace

void build(Shape shape, gale::TopologyBuilder& builder) {
  const std::string spout(k_spout);
  builder.set_spout(spout, gale::make<BenchSpout>(shape), 1);
  if (shape == Shape::noop) {
    add_noop_sink(builder, spout);
  } else {
    const std::string split(k_split);
    builder.set_bolt(split, gale::make<Probed<gale::bolts::SplitSentenceBolt>>(), 1)
        .shuffle_grouping(spout);
    // A sink: counts and acks, emits nothing.
    builder
        .set_bolt(std::string(k_count),
                  gale::make<Probed<gale::bolts::WordCountBolt>>(
                      gale::bolts::WordCountOptions{.emit_counts = false}),
                  1)
        .fields_grouping(split, {"word"});
  }
}

void add_noop_sink(gale::TopologyBuilder& builder, const std::string& from) {
  builder.set_bolt(std::string(k_noop), gale::make<Probed<NoopBolt>>(), 1).shuffle_grouping(from);
}

gale::Topology topology(Shape shape) {
  gale::TopologyBuilder builder;
  build(shape, builder);
  return builder.build();
}

std::string_view sink_of(Shape shape) { return shape == Shape::noop ? k_noop : k_count; }

const char* name_of(Shape shape) { return shape == Shape::noop ? "noop" : "wordcount"; }

}  // namespace gale::bench
