#include "topology/src/window/window_spec.hpp"

#include <gale/errors.hpp>
#include <gale/window.hpp>

namespace gale::detail {

namespace {

std::optional<std::int64_t> positive(const Config& config, const char* key) {
  const Value* v = config.find(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_int() || v->as_int() < 1) {
    throw ConfigError("config key '" + std::string(key) + "': expected an int >= 1, got " +
                      v->to_string());
  }
  return v->as_int();
}

}  // namespace

std::optional<WindowSpec> WindowSpec::from(const Config& config) {
  WindowSpec s;
  s.length_count = positive(config, keys::window_length_count);
  s.length_ms = positive(config, keys::window_length_duration_ms);
  s.slide_count = positive(config, keys::window_sliding_interval_count);
  s.slide_ms = positive(config, keys::window_sliding_interval_duration_ms);
  if (!s.length_count && !s.length_ms && !s.slide_count && !s.slide_ms) return std::nullopt;
  if (s.length_count && s.length_ms) {
    throw ConfigError(std::string("a window has one length: both '") + keys::window_length_count +
                      "' and '" + keys::window_length_duration_ms + "' are set");
  }
  if (!s.length_count && !s.length_ms) {
    throw ConfigError(std::string("a window needs a length: '") + keys::window_length_count +
                      "' or '" + keys::window_length_duration_ms + "'");
  }
  if (s.slide_count && s.slide_ms) {
    throw ConfigError(std::string("a window has one sliding interval: both '") +
                      keys::window_sliding_interval_count + "' and '" +
                      keys::window_sliding_interval_duration_ms + "' are set");
  }
  if (!s.slide_count && !s.slide_ms) s.slide_count = 1;
  if (s.length_count && s.slide_count && *s.slide_count > *s.length_count) {
    throw ConfigError("the sliding interval of " + std::to_string(*s.slide_count) +
                      " tuples is longer than the window of " + std::to_string(*s.length_count) +
                      " tuples: some tuples would be in no window");
  }
  if (s.length_ms && s.slide_ms && *s.slide_ms > *s.length_ms) {
    throw ConfigError("the sliding interval of " + std::to_string(*s.slide_ms) +
                      " ms is longer than the window of " + std::to_string(*s.length_ms) +
                      " ms: some tuples would be in no window");
  }
  return s;
}

std::string WindowSpec::describe() const {
  const std::string length = length_count ? std::to_string(*length_count) + " tuples"
                                          : std::to_string(*length_ms) + " ms";
  const bool tumbling = (length_count && slide_count && *slide_count == *length_count) ||
                        (length_ms && slide_ms && *slide_ms == *length_ms);
  if (tumbling) return "a tumbling window of " + length;
  const std::string every = slide_count ? std::to_string(*slide_count) + " tuples"
                                        : std::to_string(*slide_ms) + " ms";
  return "a sliding window of " + length + " every " + every;
}

Config WindowSpec::to_config() const {
  Config c;
  auto put = [&](const char* key, const std::optional<std::int64_t>& v) {
    if (v) c.set(key, *v);
  };
  put(keys::window_length_count, length_count);
  put(keys::window_length_duration_ms, length_ms);
  put(keys::window_sliding_interval_count, slide_count);
  put(keys::window_sliding_interval_duration_ms, slide_ms);
  return c;
}

void check_window_limits(const WindowSpec& spec, std::string_view bolt, std::int64_t pending_limit,
                         std::string_view pending_source, std::int64_t timeout_ms) {
  const std::string who = "bolt '" + std::string(bolt) + "': " + spec.describe();
  if (pending_limit > 0 && (spec.length_count || spec.slide_count)) {
    const std::int64_t count = spec.length_count.value_or(0) + spec.slide_count.value_or(0);
    if (count > pending_limit) {
      throw ConfigError(who + " holds up to " + std::to_string(count) +
                        " tuples (length + sliding interval), more than the " +
                        std::to_string(pending_limit) + " tuple trees the spouts may have pending (" +
                        std::string(pending_source) +
                        "): the window could never fill. Raise topology.max.spout.pending or "
                        "shrink the window");
    }
  }
  if (timeout_ms > 0 && (spec.length_ms || spec.slide_ms)) {
    const std::int64_t ms = spec.length_ms.value_or(0) + spec.slide_ms.value_or(0);
    if (ms > timeout_ms) {
      throw ConfigError(who + " holds tuples for up to " + std::to_string(ms) +
                        " ms (length + sliding interval), longer than topology.message.timeout.secs (" +
                        std::to_string(timeout_ms / 1000) +
                        " s): its tuples would time out before they leave the window. Raise the "
                        "timeout or shrink the window");
    }
  }
}

}  // namespace gale::detail
