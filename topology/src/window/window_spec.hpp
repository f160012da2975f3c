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

  [[nodiscard]] bool sessions() const noexcept { return session_gap_ms.has_value(); }

  // The window of a merged component config, or nullopt when it sets no window key. A window
  // without a sliding interval slides by one tuple (Storm). Throws ConfigError naming the key for
  // a value that is not a positive integer, for two lengths or two intervals, for a missing
  // length, for a sliding interval longer than the window in the same unit, and for sessions
  // without a gap or a key, or mixed with a length or interval.
  static std::optional<WindowSpec> from(const Config& config);

  // "a sliding window of 10000 ms every 2000 ms", "a tumbling window of 100 tuples".
  [[nodiscard]] std::string describe() const;
  // The window keys of this spec, for a component config.
  [[nodiscard]] Config to_config() const;
};

// The acking limits a windowed bolt's window must fit in (Storm's WindowedBoltExecutor.validate):
// with acking on, the tuples a window holds are pending trees, so a window by count (length plus
// sliding interval) must not hold more tuples than the spouts may have pending trees, and a window
// by duration (length plus sliding interval) must not outlast the message timeout. Throws
// ConfigError naming `bolt` and the limit. `pending_limit` 0: unbounded; `timeout_ms` 0: no
// timeouts.
GALE_API void check_window_limits(const WindowSpec& spec, std::string_view bolt, std::int64_t pending_limit,
                         std::string_view pending_source, std::int64_t timeout_ms);

}  // namespace gale::detail
