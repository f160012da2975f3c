#pragma once

// A windowed bolt's window, read from its component config (the keys::window_* keys), and the
// checks of it: alone (lengths, intervals) and against the topology's acking limits.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gale/config.hpp>
#include <gale/export.hpp>

namespace gale::detail {

// Exported for the unit tests.
struct GALE_API WindowSpec {
  // A sliding or tumbling window: exactly one length and one sliding interval are set.
  std::optional<std::int64_t> length_count;
  std::optional<std::int64_t> length_ms;
  std::optional<std::int64_t> slide_count;
  std::optional<std::int64_t> slide_ms;
  // Or keyed sessions: the gap and the key's fields (none of the above then).
  std::optional<std::int64_t> session_gap_ms;
  std::vector<std::string> session_key;
  // Event time: a timestamp field, or an extractor the bolt holds; the lag, the watermark
  // interval, the allowed lateness, the idle timeout of an input (0: never idle), and the late
  // tuple stream (empty: none).
  std::string timestamp_field;
  bool timestamp_extractor = false;
  std::int64_t lag_ms = 0;
  std::int64_t watermark_interval_ms = 1000;
  std::int64_t lateness_ms = 0;
  std::int64_t idle_timeout_ms = 10'000;
  std::string late_stream;
  // Incremental aggregation, and its key's fields (sessions: the session key).
  bool aggregate = false;
  std::vector<std::string> aggregate_key;

  [[nodiscard]] bool sessions() const noexcept { return session_gap_ms.has_value(); }
  [[nodiscard]] bool event_time() const noexcept {
    return !timestamp_field.empty() || timestamp_extractor;
  }

  // The window of a merged component config, or nullopt when it sets no window key. A window
  // without a sliding interval slides by one tuple (Storm). Throws ConfigError naming the key for
  // a value that is not a positive integer, for two lengths or two intervals, for a missing
  // length, for a sliding interval longer than the window in the same unit, for sessions
  // without a gap or a key, or mixed with a length or interval, for event time or aggregation on
  // a window by count, for both a timestamp field and an extractor, for event-time settings (lag,
  // lateness, late stream) without event time, for a negative lag, lateness or idle timeout, and
  // for an aggregate key on sessions.
  static std::optional<WindowSpec> from(const Config& config);

  // "a sliding window of 10000 ms every 2000 ms", "a tumbling window of 100 tuples", "... in
  // event time (field 'ts', lag 500 ms), aggregated by (word)".
  [[nodiscard]] std::string describe() const;
  // The shape alone: "a sliding window of 10000 ms every 2000 ms".
  [[nodiscard]] std::string describe_shape() const;
  // The window keys of this spec, for a component config.
  [[nodiscard]] Config to_config() const;
};

// The acking limits a windowed bolt's window must fit in (Storm's WindowedBoltExecutor.validate):
// with acking on, the tuples a window holds are pending trees, so a window by count (length plus
// sliding interval) must not hold more tuples than the spouts may have pending trees, and a window
// by duration (length plus sliding interval) must not outlast the message timeout. Throws
// ConfigError naming `bolt` and the limit. `pending_limit` 0: unbounded; `timeout_ms` 0: no
// timeouts.
GALE_API void check_window_limits(const WindowSpec& spec, std::string_view bolt,
                                  std::int64_t pending_limit, std::string_view pending_source,
                                  std::int64_t timeout_ms);

}  // namespace gale::detail
