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
  s.session_gap_ms = positive(config, keys::window_session_gap_ms);
  const Value* key = config.find(keys::window_session_key_fields);
  if (key != nullptr && !key->is_null()) {
    const auto wrong = [&] {
      return ConfigError("config key '" + std::string(keys::window_session_key_fields) +
                         "': expected a non-empty list of field names, got " + key->to_string());
    };
    if (!key->is_list() || key->as_list().empty()) throw wrong();
    for (const Value& name : key->as_list()) {
      if (!name.is_string() || name.as_string().empty()) throw wrong();
      s.session_key.push_back(name.as_string());
    }
  }
  if (s.session_gap_ms || !s.session_key.empty()) {
    if (!s.session_gap_ms || s.session_key.empty()) {
      throw ConfigError(std::string("session windows need both '") + keys::window_session_gap_ms +
                        "' and '" + keys::window_session_key_fields + "'");
    }
    if (s.length_count || s.length_ms || s.slide_count || s.slide_ms) {
      throw ConfigError("a window is either sessions or a sliding or tumbling window, not both");
    }
    return s;
  }
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
  if (sessions()) {
    std::string key;
    for (const std::string& f : session_key) key += (key.empty() ? "" : ", ") + f;
    return "session windows by (" + key + ") with a gap of " + std::to_string(*session_gap_ms) +
           " ms";
  }
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
  put(keys::window_session_gap_ms, session_gap_ms);
  if (!session_key.empty()) {
    List names;
    for (const std::string& f : session_key) names.emplace_back(f);
    c.set(keys::window_session_key_fields, Value(std::move(names)));
  }
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
  if (spec.sessions()) {
    // A session lasts at least its gap (longer while its key stays busy: see docs/windows.md).
    if (timeout_ms > 0 && *spec.session_gap_ms > timeout_ms) {
      throw ConfigError(who + " holds every tuple for at least the gap, longer than "
                              "topology.message.timeout.secs (" +
                        std::to_string(timeout_ms / 1000) +
                        " s): its tuples would time out before their session closes. Raise the "
                        "timeout or shorten the gap");
    }
    return;
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
