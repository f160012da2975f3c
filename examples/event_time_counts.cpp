// Per-key counts in event time: each key's events per 10 s tumbling window of the time the events
// happened (their "ts"), not of the time they reach the bolt, over events that arrive out of order;
// the stragglers that come too late for their window go to a stream of their own.
//
//   events -> counts (fields on "key"; 10 s tumbling windows of "ts", lag 3 s; a count per key)
//          -> print: every window's (key, window_start, count), and the stream "late"
//
// The events spout plays a fixed feed of readings from four sensors: 20 events per second of the
// clock, the i-th one due at 250 ms * i of event time (which runs 5 times as fast as the clock, so
// a 10 s window closes every 2 s). They come out of order: an event's "ts" is up to 2999 ms before
// its turn (and not before 0), so it may follow events up to 3 s younger, within the 3 s lag the
// bolt allows: none of them is late. From 40 s of event time on, every 25th event is a straggler
// that happened 40 s before its turn: its window fired long ago, so it goes to "late" (the print
// bolt shows it) instead of being counted. A counts task's watermark, its event-time clock, is the
// highest "ts" sent so far less the 3 s lag, recomputed every second; a window fires once the
// watermark reaches its end (docs/windows.md).
//
//   gale local build/examples/event_time_counts.so --duration 10
//   gale local build/examples/event_time_counts.so -c events.limit=400   # a finite run
//
// The print bolt writes to stderr (stdout is gale local's progress). The watermark moves only with
// the events that arrive: once the spout stops, the events of the windows still open stay pending
// (gale local's drain waits for them in vain; --drain 0 skips it). That is why a finite feed
// (events.limit) ends with one event per sensor far in the future, sent without a message id: it
// moves the watermark past every window of the feed.

#include <array>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include <gale/gale.hpp>

namespace {

constexpr std::array<const char*, 4> k_sensors = {"north", "south", "east", "west"};
constexpr std::int64_t k_event_every_ms = 250;   // event time between two events' turns
constexpr std::int64_t k_max_delay_ms = 2'999;   // how far an on-time event may lag its turn
constexpr std::int64_t k_lag_ms = 3'000;         // the bolt's allowed out-of-orderness
constexpr std::int64_t k_straggler_ms = 40'000;  // how far a straggler lags its turn
constexpr std::int64_t k_end_of_feed_ms = 1'000'000'000'000'000;  // ~31,700 years

// Emits the feed (key, ts), paced by the clock, with message ids; does not replay (a lost reading
// is lost). Config: events.limit (0: no end), events.per.second (20).
// Thread: all callbacks of its task run on the task's executor thread.
class EventSpout : public gale::Spout {
 public:
  void declare_outputs(gale::OutputDeclarer& declarer) override { declarer.declare({"key", "ts"}); }

  void open(const gale::Context& context, gale::SpoutCollector& out) override {
    context_ = &context;
    out_ = &out;
    limit_ = context.config().get_int("events.limit", 0);
    per_second_ = context.config().get_int("events.per.second", 20);
    if (per_second_ < 1) throw gale::ConfigError("events.per.second must be at least 1");
    opened_ms_ = context.now_ms();
  }

  void next_tuple() override {
    // Every event whose time on the clock has come, a few at a time: next_tuple must not block.
    const std::int64_t due = (context_->now_ms() - opened_ms_) * per_second_ / 1000 + 1;
    for (int n = 0; n < 50 && next_ < due && (limit_ == 0 || next_ < limit_); ++n, ++next_) {
      // Knuth's multiplicative hash: its top two bits pick one of the four sensors.
      const std::uint32_t h = static_cast<std::uint32_t>(next_) * 2654435761u;
      static_assert(k_sensors.size() == 4);
      const std::int64_t turn = next_ * k_event_every_ms;
      std::int64_t ts = turn - static_cast<std::int64_t>((h >> 8) % (k_max_delay_ms + 1));
      if (next_ % 25 == 24 && turn >= k_straggler_ms) ts = turn - k_straggler_ms;
      out_->emit({k_sensors[h >> 30], ts < 0 ? std::int64_t{0} : ts}, next_);
    }
    if (limit_ > 0 && next_ == limit_ && !ended_) {
      // One per sensor, so that every counts task that holds a sensor receives one. Without a
      // message id: their own windows never fire, so their trees would only time out.
      for (const char* sensor : k_sensors) out_->emit({sensor, k_end_of_feed_ms});
      ended_ = true;
    }
  }

 private:
  const gale::Context* context_ = nullptr;
  gale::SpoutCollector* out_ = nullptr;
  std::int64_t limit_ = 0;
  std::int64_t per_second_ = 20;
  std::int64_t opened_ms_ = 0;
  std::int64_t next_ = 0;
  bool ended_ = false;
};

// Each sensor's events per 10 s tumbling window of event time: (key, window_start, count). The
// window keeps one count per key (with_aggregate), not the tuples; execute() runs once per key
// of each window that fires. Late tuples go to the stream "late".
// Thread: all callbacks of one task run on that task's executor thread.
class CountBolt : public gale::WindowedBolt {
 public:
  CountBolt() {
    with_tumbling_window(gale::Duration(10'000));
    with_timestamp_field("ts");
    with_lag(gale::Duration(k_lag_ms));
    with_late_tuple_stream("late");
    with_aggregate(std::make_unique<gale::CountAggregate>(), gale::Fields{"key"});
  }
  void declare_outputs(gale::OutputDeclarer& declarer) override {
    declarer.declare({"key", "window_start", "count"});
  }
  void execute(const gale::TupleWindow& window, gale::BoltCollector& out) override {
    out.emit({window.key()[0], window.start(), window.result()});
  }
};

// Prints the counts and the late events to stderr.
// Thread: all callbacks of its task run on the task's executor thread.
class PrintBolt : public gale::BasicBolt {
 public:
  void declare_outputs(gale::OutputDeclarer&) override {}
  void execute(const gale::Tuple& input, gale::BasicCollector&) override {
    if (input.source_stream() == "late") {
      // late_tuple_fields(): the late tuple's values, its timestamp, where it came from.
      const gale::List& values = input.get_list("values");
      std::fprintf(stderr, "late: %s at %" PRId64 " ms, after its window had fired\n",
                   values.at(0).as_string().c_str(), input.get_int("timestamp"));
      return;
    }
    const std::int64_t start = input.get_int("window_start");
    std::fprintf(stderr, "window [%" PRId64 ", %" PRId64 ") ms: %s %" PRId64 "\n", start,
                 start + 10'000, input.get_string("key").c_str(), input.get_int("count"));
  }
};

void build(gale::TopologyBuilder& builder, gale::Config&) {
  builder.set_spout("events", gale::make<EventSpout>(), 1);
  builder.set_bolt("counts", gale::make<CountBolt>(), 2).fields_grouping("events", {"key"});
  builder.set_bolt("print", gale::make<PrintBolt>(), 1)
      .shuffle_grouping("counts")
      .shuffle_grouping("counts", "late");
}

}  // namespace

GALE_TOPOLOGY(build)
