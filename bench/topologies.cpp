#include "bench/topologies.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>

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

// peak_window_tuples(): written by the one window_tuples task of a local run, read by the run.
std::atomic<std::uint64_t> g_peak_window_tuples{0};

std::shared_ptr<Probe> make_probe(const gale::Context& context) {
  std::string dir = context.config().get_string(k_stats_dir, "");
  auto probe = std::make_shared<Probe>(context.component_id(), context.task_id(), dir);
  if (dir.empty()) register_probe(probe);
  return probe;
}

// Emits a constant int (noop), the next sentence (wordcount) or the next of bench.keys int keys in
// turn (keyed_noop and the window shapes), with the emit time as message id when acking is on, as
// fast as it is called or at bench.rate tuples/s.
// Thread: its task's executor.
class BenchSpout final : public gale::Spout {
 public:
  explicit BenchSpout(Shape shape) : shape_(shape) {}

  void declare_outputs(gale::OutputDeclarer& declarer) override {
    declarer.declare({field_of(shape_)});
  }

  void open(const gale::Context& context, gale::SpoutCollector& out) override {
    out_ = &out;
    const gale::Config& config = context.config();
    reliable_ = config.get_int(gale::keys::topology_acker_executors, 1) > 0;
    idle_ = config.get_bool(k_idle, false);
    const double rate = config.get_double(k_rate, 0);
    interval_ns_ = rate > 0 ? 1e9 / rate : 0;
    keys_ = config.get_int(k_keys, k_default_keys);
    if (keys_ < 1) throw std::invalid_argument(std::string(k_keys) + " must be at least 1");
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
  static const char* field_of(Shape shape) {
    switch (shape) {
      case Shape::noop:
        return "value";
      case Shape::wordcount:
        return "sentence";
      default:
        return "key";
    }
  }

  gale::Values next_values() {
    if (shape_ == Shape::noop) return {std::int64_t{42}};
    if (shape_ != Shape::wordcount) {
      const std::int64_t key = next_key_;
      next_key_ = next_key_ + 1 == keys_ ? 0 : next_key_ + 1;
      return {key};
    }
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
  std::int64_t keys_ = k_default_keys;
  std::int64_t next_key_ = 0;
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

// A windowed bench bolt: the runtime's adapter of WindowedBolt W (what gale::make<W> would give)
// with a probe on top that counts the data tuples the window takes in. Ticks, which close the
// windows, go through uncounted. Thread: its task's executor.
template <class W>
class ProbedWindow final : public gale::Bolt {
 public:
  ProbedWindow() : bolt_(gale::windowed_bolt_adapter(std::make_unique<W>())) {}

  void declare_outputs(gale::OutputDeclarer& declarer) override {
    bolt_->declare_outputs(declarer);
  }
  // The window's config: it has ticks every sliding interval (1 s), which also publish the probe.
  gale::Config component_config() const override { return bolt_->component_config(); }
  void prepare(const gale::Context& context, gale::BoltCollector& out) override {
    bolt_->prepare(context, out);
    probe_ = make_probe(context);
  }
  void execute(const gale::Tuple& input, gale::BoltCollector& out) override {
    bolt_->execute(input, out);
    if (input.is_tick()) {
      probe_->maybe_publish(now_ns());
      return;
    }
    probe_->add();
    if ((++executed_ & 63) == 0) probe_->maybe_publish(now_ns());
  }
  void cleanup() override { bolt_->cleanup(); }

 private:
  std::unique_ptr<gale::Bolt> bolt_;
  std::shared_ptr<Probe> probe_;
  std::uint64_t executed_ = 0;
};

// Counts per key over the last 10 s every 1 s with the window's incremental aggregate: the window
// keeps one count per key and 1 s pane instead of the tuples, and calls execute() once per key of
// each window. Thread: its task's executor.
class AggregatedCount final : public gale::WindowedBolt {
 public:
  AggregatedCount() {
    with_window(gale::Duration(k_window_length_ms), gale::Duration(k_window_slide_ms));
    with_aggregate(std::make_unique<gale::CountAggregate>(), gale::Fields{"key"});
  }
  void declare_outputs(gale::OutputDeclarer& declarer) override {
    declarer.declare({"key", "count"});
  }
  void execute(const gale::TupleWindow& window, gale::BoltCollector& out) override {
    out.emit({window.key()[0], window.result()});
  }
};

// The same counts from the window's tuples: the window keeps every tuple of the last 10 s (and
// the next second's), and execute() counts them per key, as a bolt without aggregation must.
// Thread: its task's executor.
class TupleCount final : public gale::WindowedBolt {
 public:
  TupleCount() {
    with_window(gale::Duration(k_window_length_ms), gale::Duration(k_window_slide_ms));
  }
  void declare_outputs(gale::OutputDeclarer& declarer) override {
    declarer.declare({"key", "count"});
  }
  void execute(const gale::TupleWindow& window, gale::BoltCollector& out) override {
    const std::uint64_t held = window.get().size() + window.get_expired().size();
    if (held > g_peak_window_tuples.load(std::memory_order_relaxed)) {
      g_peak_window_tuples.store(held, std::memory_order_relaxed);
    }
    counts_.clear();  // keeps its buckets: the same keys come back every window
    for (const gale::Tuple& t : window.get()) ++counts_[t.get_int(0)];
    for (const auto& [key, count] : counts_) out.emit({key, count});
  }

 private:
  // The counts of the window being shown, rebuilt in each execute().
  std::unordered_map<std::int64_t, std::int64_t> counts_;
};

}  // namespace

void build(Shape shape, gale::TopologyBuilder& builder) {
  const std::string spout(k_spout);
  builder.set_spout(spout, gale::make<BenchSpout>(shape), 1);
  if (shape == Shape::noop) {
    add_noop_sink(builder, spout);
  } else if (shape == Shape::keyed_noop) {
    builder.set_bolt(std::string(k_noop), gale::make<Probed<NoopBolt>>(), 1)
        .fields_grouping(spout, {"key"});
  } else if (shape == Shape::window_aggregate) {
    builder.set_bolt(std::string(k_window), gale::make<ProbedWindow<AggregatedCount>>(), 1)
        .fields_grouping(spout, {"key"});
  } else if (shape == Shape::window_tuples) {
    builder.set_bolt(std::string(k_window), gale::make<ProbedWindow<TupleCount>>(), 1)
        .fields_grouping(spout, {"key"});
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

std::string_view sink_of(Shape shape) {
  switch (shape) {
    case Shape::noop:
    case Shape::keyed_noop:
      return k_noop;
    case Shape::wordcount:
      return k_count;
    case Shape::window_aggregate:
    case Shape::window_tuples:
      return k_window;
  }
  return k_noop;
}

std::uint64_t peak_window_tuples() { return g_peak_window_tuples.load(std::memory_order_relaxed); }

const char* name_of(Shape shape) {
  switch (shape) {
    case Shape::noop:
      return "noop";
    case Shape::wordcount:
      return "wordcount";
    case Shape::keyed_noop:
      return "keyed-noop";
    case Shape::window_aggregate:
      return "window-aggregate";
    case Shape::window_tuples:
      return "window-tuples";
  }
  return "noop";
}

}  // namespace gale::bench
