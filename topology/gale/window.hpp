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
// Windows may also be keyed sessions (with_session_window). Time is processing time: the runtime's clock (Context::now_ms(); the test kit's simulated clock
// in a test) when a tuple reaches the bolt. A window by duration holds the tuples that arrived in
// [start, end), closes as soon as the clock reaches its end, and ends at a multiple of its sliding
// interval on that clock. Reliability: every emit from execute() is anchored to every tuple of
// the window (unless given anchors of its own), and a tuple is acked once it has left every
// window it belongs to, so at-least-once holds across windows. With acking on, the tuples a
// window holds are pending trees: a count window must fit in topology.max.spout.pending and a
// duration window in topology.message.timeout.secs (checked when the topology starts, as Storm
// does; the error names the bolt). See docs/windows.md.

#include <chrono>
#include <cstdint>
#include <memory>
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
inline constexpr const char* window_sliding_interval_count = "topology.bolts.sliding.interval.count";
inline constexpr const char* window_sliding_interval_duration_ms =
    "topology.bolts.sliding.interval.duration.ms";
// Gale: keyed session windows, set by WindowedBolt::with_session_window: the gap that ends a
// session, and the fields whose values are its key (a list of field names).
inline constexpr const char* window_session_gap_ms = "topology.bolts.window.session.gap.ms";
inline constexpr const char* window_session_key_fields =
    "topology.bolts.window.session.key.fields";
}  // namespace keys

// One window, as execute() sees it. Times are milliseconds on the clock windows are measured by.
// Thread: the bolt task's; valid during the execute() call it is given to.
class GALE_API TupleWindow {
 public:
  TupleWindow(std::vector<Tuple> tuples, std::vector<Tuple> new_tuples,
              std::vector<Tuple> expired, std::int64_t start_ms, std::int64_t end_ms);

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
  std::int64_t start() const noexcept { return start_; }
  std::int64_t end() const noexcept { return end_; }

 private:
  std::vector<Tuple> tuples_;
  std::vector<Tuple> new_;
  std::vector<Tuple> expired_;
  std::int64_t start_;
  std::int64_t end_;
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
  // its last tuple. Subscribe with a fields grouping on `key` so that a key's tuples reach one task.
  WindowedBolt& with_session_window(Fields key, Duration gap);

  // The window settings (the keys::window_* keys), for the runtime.
  const Config& window_config() const noexcept { return window_config_; }

 private:
  WindowedBolt& set_window(Value length_count, Value length_ms, Value slide_count,
                           Value slide_ms);

  Config window_config_;
};

}  // namespace gale
