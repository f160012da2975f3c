#pragma once

// Windowed bolts (Storm's BaseWindowedBolt): a bolt that is given windows of tuples instead of one
// tuple at a time. Windows slide or tumble, by a count of tuples or by a duration:
//
//   class RollingCount : public gale::WindowedBolt {
//    public:
//     RollingCount() { with_window(gale::Duration(10'000), gale::Duration(2'000)); }
//     void declare_outputs(gale::OutputDeclarer& d) override { d.declare({"count"}); }
//     void execute(const gale::TupleWindow& window, gale::BoltCollector& out) override {
//       out.emit({static_cast<std::int64_t>(window.get().size())});
//     }
//   };
//   builder.set_bolt("rolling", gale::make<RollingCount>()).shuffle_grouping("spout");
//
// Windows may also be keyed sessions (with_session_window).
//
// Time is processing time by default: the runtime's clock (Context::now_ms(); the test kit's
// simulated clock in a test) when a tuple reaches the bolt. A window by duration holds the tuples
// that arrived in [start, end), closes as soon as the clock reaches its end, and ends at a
// multiple of its sliding interval on that clock.
//
// Event time (with_timestamp_field or with_timestamp_extractor): a tuple's own timestamp places it
// in its windows, and a window closes when the bolt's watermark passes its end. The watermark of
// each input task is the highest timestamp it has sent, less the lag (with_lag: the bounded
// out-of-orderness); the bolt's watermark is the lowest over its input tasks, recomputed every
// watermark interval, and an input task that sent nothing for the idle timeout stops holding it
// back. A window stays open for the allowed lateness after the watermark passed it (a tuple
// arriving then fires it again); a tuple whose windows have all been dropped is late: it goes to
// the late tuple stream when one is configured, and is acked.
//
// Incremental aggregation (with_aggregate): a window keeps one accumulator per key instead of its
// tuples, and execute() is called once per key with window.key() and window.result().
//
// Reliability: every emit from execute() is anchored to every tuple of the window (of the key's
// tuples, with aggregation), unless given anchors of its own, and a tuple is acked once it has
// left every window it belongs to, so at-least-once holds across windows. With acking on, the
// tuples a window holds are pending trees: a count window must fit in topology.max.spout.pending
// and a duration window (with its lag and lateness) in topology.message.timeout.secs (checked
// when the topology starts, as Storm does; the error names the bolt). See docs/windows.md.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gale/bolt.hpp>
#include <gale/collector.hpp>
#include <gale/component.hpp>
#include <gale/config.hpp>
#include <gale/context.hpp>
#include <gale/export.hpp>
#include <gale/fields.hpp>
#include <gale/output_declarer.hpp>
#include <gale/tuple.hpp>

namespace gale {

// A window length or sliding interval counted in tuples (Storm's BaseWindowedBolt.Count).
struct Count {
  explicit constexpr Count(std::int64_t n) noexcept : value(n) {}
  std::int64_t value;
};
// A window length or sliding interval in time, milliseconds (Storm's BaseWindowedBolt.Duration).
using Duration = std::chrono::milliseconds;

namespace keys {
// The component config of a windowed bolt, set by WindowedBolt::with_window and
// with_tumbling_window (Storm's keys). A window has a length by count or by duration, and a
// sliding interval by count or by duration (the length, for a tumbling window).
inline constexpr const char* window_length_count = "topology.bolts.window.length.count";
inline constexpr const char* window_length_duration_ms = "topology.bolts.window.length.duration.ms";
inline constexpr const char* window_sliding_interval_count =
    "topology.bolts.sliding.interval.count";
inline constexpr const char* window_sliding_interval_duration_ms =
    "topology.bolts.sliding.interval.duration.ms";
// Gale: keyed session windows, set by WindowedBolt::with_session_window: the gap that ends a
// session, and the fields whose values are its key (a list of field names).
inline constexpr const char* window_session_gap_ms = "topology.bolts.window.session.gap.ms";
inline constexpr const char* window_session_key_fields = "topology.bolts.window.session.key.fields";
// Event time (Storm's keys): the field holding each tuple's timestamp (an int, milliseconds), the
// lag (bounded out-of-orderness, ms; default 0), the interval at which the watermark is
// recomputed (ms; default 1000), and the stream late tuples go to (none by default).
inline constexpr const char* window_timestamp_field = "topology.bolts.tuple.timestamp.field.name";
inline constexpr const char* window_timestamp_max_lag_ms =
    "topology.bolts.tuple.timestamp.max.lag.ms";
inline constexpr const char* window_watermark_interval_ms =
    "topology.bolts.watermark.event.interval.ms";
inline constexpr const char* window_late_tuple_stream = "topology.bolts.late.tuple.stream";
// Gale: event time from a timestamp extractor (true; set by with_timestamp_extractor), the
// allowed lateness (ms; default 0), and the idle timeout of an input task (ms; default 10000; 0:
// an input never counts as idle).
inline constexpr const char* window_timestamp_extractor =
    "topology.bolts.tuple.timestamp.extractor";
inline constexpr const char* window_allowed_lateness_ms =
    "topology.bolts.window.allowed.lateness.ms";
inline constexpr const char* window_watermark_idle_timeout_ms =
    "topology.bolts.watermark.idle.timeout.ms";
// Gale: incremental aggregation (true; set by with_aggregate) and the fields of its key (a list
// of field names; none: one aggregate per window).
inline constexpr const char* window_aggregate = "topology.bolts.window.aggregate";
inline constexpr const char* window_aggregate_key_fields =
    "topology.bolts.window.aggregate.key.fields";
}  // namespace keys

// The fields of the late tuple stream (WindowedBolt::with_late_tuple_stream): the late tuple's
// values (a list), its timestamp, and the component and stream it came from.
inline const Fields& late_tuple_fields() {
  static const Fields fields{"values", "timestamp", "source_component", "source_stream"};
  return fields;
}

// An incremental aggregate of a window's tuples, as Flink's AggregateFunction: the window keeps
// one accumulator per key (and per slice of a sliding window) instead of its tuples. An
// accumulator is a Value: an int for a count, a list [sum, count] for a mean, a map for a top-k.
// One instance per task, called on the task's thread only. Exceptions thrown from add() fail
// the tuple that was added (it is reported and replayed); from merge() or result() they are
// reported like an exception from execute().
class GALE_API WindowAggregate {
 public:
  virtual ~WindowAggregate();
  // A new accumulator, of no tuples.
  virtual Value create() = 0;
  // Adds one tuple to an accumulator.
  virtual void add(Value& accumulator, const Tuple& input) = 0;
  // Merges `other` into `into`: `into` becomes the accumulator of both sets of tuples. Used for
  // the slices of a sliding window and when two sessions merge.
  virtual void merge(Value& into, const Value& other) = 0;
  // The window's result from its accumulator; by default the accumulator itself.
  virtual Value result(const Value& accumulator);
};

// Counts the tuples of a window: an int.
class GALE_API CountAggregate final : public WindowAggregate {
 public:
  Value create() override;
  void add(Value& accumulator, const Tuple& input) override;
  void merge(Value& into, const Value& other) override;
};

// Sums a numeric field of the tuples of a window: an int while every value is an int, else a
// double. add() throws TypeError naming the field when a value is not a number.
class GALE_API SumAggregate final : public WindowAggregate {
 public:
  explicit SumAggregate(std::string field);
  Value create() override;
  void add(Value& accumulator, const Tuple& input) override;
  void merge(Value& into, const Value& other) override;

 private:
  std::string field_;
};

// One window, as execute() sees it. Times are milliseconds on the clock windows are measured by.
// Thread: the bolt task's; valid during the execute() call it is given to.
class GALE_API TupleWindow {
 public:
  TupleWindow(std::vector<Tuple> tuples, std::vector<Tuple> new_tuples, std::vector<Tuple> expired,
              std::int64_t start_ms, std::int64_t end_ms);
  // An aggregated window (WindowedBolt::with_aggregate): one key's result; no tuples.
  TupleWindow(Values key, Value result, std::int64_t start_ms, std::int64_t end_ms);

  // Every tuple in the window, oldest first.
  const std::vector<Tuple>& get() const noexcept { return tuples_; }
  // The tuples of get() that were in no earlier window.
  const std::vector<Tuple>& get_new() const noexcept { return new_; }
  // The tuples that were in the previous window (or in none) and have left for good since: what
  // a running aggregate takes out. They are acked after this execute() returns.
  const std::vector<Tuple>& get_expired() const noexcept { return expired_; }
  // The window's start (inclusive) and end (exclusive): a duration window holds the tuples that
  // arrived in [start, end), start = end - length; a count window starts at the arrival of its
  // oldest tuple, or at its end when it is empty; a session starts at its first tuple's arrival
  // and ends a gap after its last one's.
  // In event time the window holds the tuples whose timestamps are in [start, end); get() is
  // ordered by timestamp (by arrival for equal ones), get_new() holds the tuples that no earlier
  // execute() was shown (the late ones, when a window fires again within its allowed lateness), and
  // get_expired() the tuples that left for good since the previous execute().
  std::int64_t start() const noexcept { return start_; }
  std::int64_t end() const noexcept { return end_; }

  // With aggregation (WindowedBolt::with_aggregate): the values of the key fields this call is
  // for (empty without key fields, or the session key for sessions), and the aggregate's result
  // over the key's tuples in the window. get(), get_new() and get_expired() are then empty.
  bool aggregated() const noexcept { return aggregated_; }
  const Values& key() const noexcept { return key_; }
  const Value& result() const noexcept { return result_; }

 private:
  std::vector<Tuple> tuples_;
  std::vector<Tuple> new_;
  std::vector<Tuple> expired_;
  std::int64_t start_;
  std::int64_t end_;
  bool aggregated_ = false;
  Values key_;
  Value result_;
};

// A bolt run on windows of its input. One instance per task; threading, errors and ownership as
// for Bolt. Configure the window in the constructor with with_window or with_tumbling_window
// (exactly one of them). An exception from execute() is reported like report_error() (counted,
// logged, shown by `gale status`), and the window's tuples are still acked when they leave it
// (fail them in execute() to have them replayed).
class GALE_API WindowedBolt {
 public:
  virtual ~WindowedBolt();

  virtual void declare_outputs(OutputDeclarer& declarer) = 0;
  // Called once before the first window. `out` stays valid until cleanup() returns.
  virtual void prepare(const Context& context, BoltCollector& out);
  // Called for each window when it closes. Emits through `out` are anchored to every tuple of
  // window.get(), unless the emit gives its own anchors. ack() through `out` is ignored (the
  // window acks its tuples as they leave it); fail() fails a tuple's tree at once.
  virtual void execute(const TupleWindow& window, BoltCollector& out) = 0;
  virtual void cleanup();
  // The bolt's own component config; the window settings are added to it.
  virtual Config component_config() const;

  // Sliding windows: `length` by count or duration, evaluated every `sliding_interval` tuples or
  // milliseconds. Without a sliding interval the window slides with every tuple.
  WindowedBolt& with_window(Count length, Count sliding_interval);
  WindowedBolt& with_window(Count length, Duration sliding_interval);
  WindowedBolt& with_window(Duration length, Count sliding_interval);
  WindowedBolt& with_window(Duration length, Duration sliding_interval);
  WindowedBolt& with_window(Count length);
  WindowedBolt& with_window(Duration length);
  // Tumbling windows: consecutive, not overlapping, each `length` long.
  WindowedBolt& with_tumbling_window(Count length);
  WindowedBolt& with_tumbling_window(Duration length);
  // Session windows per key (the values of `key` in each input tuple): a key's session holds its
  // tuples that arrived with less than `gap` between each and the next, and closes `gap` after
  // its last tuple. Subscribe with a fields grouping on `key` so that a key's tuples reach one
  // task.
  WindowedBolt& with_session_window(Fields key, Duration gap);

  // Event time: each tuple's timestamp (milliseconds, an int) is its `field`, or what `extractor`
  // returns for it (called on the task's thread; an exception fails the tuple). Needs a window by
  // duration or sessions; every input stream must declare `field` (checked when the topology
  // starts). Without either, windows go by processing time.
  WindowedBolt& with_timestamp_field(std::string field);
  WindowedBolt& with_timestamp_extractor(std::function<std::int64_t(const Tuple&)> extractor);
  // The bounded out-of-orderness of the input: a tuple may arrive up to `lag` behind the highest
  // timestamp seen from its task without being late (default 0).
  WindowedBolt& with_lag(Duration lag);
  // How often the watermark is recomputed and windows behind it closed (default 1 s).
  WindowedBolt& with_watermark_interval(Duration interval);
  // How long a window is kept after the watermark passed its end (default 0): a tuple of it
  // arriving meanwhile is added and the window fires again.
  WindowedBolt& with_allowed_lateness(Duration lateness);
  // Late tuples (whose windows were all dropped) are emitted on `stream`, anchored to them, with
  // late_tuple_fields(); the stream is declared for the bolt. Without it they are only acked.
  WindowedBolt& with_late_tuple_stream(std::string stream);
  // An input task that sent nothing for `timeout` stops holding the watermark back (default
  // 10 s; 0: never).
  WindowedBolt& with_idle_timeout(Duration timeout);

  // Incremental aggregation: the window keeps, per value of the `key` fields, one accumulator of
  // `aggregate` instead of its tuples, and execute() is called for each key of each window with
  // window.key() and window.result(). Needs a window by duration or sessions (whose key is then
  // the session key; leave `key` empty). With acking on, the window still keeps each tracked
  // tuple's acking handle (not its values) until it leaves its last window.
  WindowedBolt& with_aggregate(std::unique_ptr<WindowAggregate> aggregate, Fields key = {});

  // The window settings (the keys::window_* keys), for the runtime.
  const Config& window_config() const noexcept { return window_config_; }
  // For the runtime: the extractor (empty unless with_timestamp_extractor) and the aggregate
  // (null unless with_aggregate).
  const std::function<std::int64_t(const Tuple&)>& timestamp_extractor() const noexcept {
    return extractor_;
  }
  WindowAggregate* aggregate() const noexcept { return aggregate_.get(); }

 private:
  WindowedBolt& set_window(Value length_count, Value length_ms, Value slide_count, Value slide_ms);

  Config window_config_;
  std::function<std::int64_t(const Tuple&)> extractor_;
  std::unique_ptr<WindowAggregate> aggregate_;
};

}  // namespace gale
