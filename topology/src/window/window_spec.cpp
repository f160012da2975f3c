#include "topology/src/window/window_spec.hpp"

#include <gale/errors.hpp>
#include <gale/window.hpp>

namespace gale::detail {

namespace {

std::optional<std::int64_t> at_least(const Config& config, const char* key, std::int64_t min) {
  const Value* v = config.find(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_int() || v->as_int() < min) {
    throw ConfigError("config key '" + std::string(key) +
                      "': expected an int >= " + std::to_string(min) + ", got " + v->to_string());
  }
  return v->as_int();
}

std::string text(const Config& config, const char* key) {
  const Value* v = config.find(key);
  if (v == nullptr || v->is_null()) return {};
  if (!v->is_string() || v->as_string().empty()) {
    throw ConfigError("config key '" + std::string(key) + "': expected a non-empty string, got " +
                      v->to_string());
  }
  return v->as_string();
}

bool flag(const Config& config, const char* key) {
  const Value* v = config.find(key);
  if (v == nullptr || v->is_null()) return false;
  if (!v->is_bool()) {
    throw ConfigError("config key '" + std::string(key) + "': expected a bool, got " +
                      v->to_string());
  }
  return v->as_bool();
}

std::vector<std::string> field_names(const Config& config, const char* key) {
  std::vector<std::string> names;
  const Value* v = config.find(key);
  if (v == nullptr || v->is_null()) return names;
  const auto wrong = [&] {
    return ConfigError("config key '" + std::string(key) +
                       "': expected a non-empty list of field names, got " + v->to_string());
  };
  if (!v->is_list() || v->as_list().empty()) throw wrong();
  for (const Value& name : v->as_list()) {
    if (!name.is_string() || name.as_string().empty()) throw wrong();
    names.push_back(name.as_string());
  }
  return names;
}

// Reads and checks the event-time and aggregation settings of `s` (its window shape is read).
void read_time_and_aggregate(const Config& config, WindowSpec& s) {
  s.timestamp_field = text(config, keys::window_timestamp_field);
  s.timestamp_extractor = flag(config, keys::window_timestamp_extractor);
  const std::optional<std::int64_t> lag = at_least(config, keys::window_timestamp_max_lag_ms, 0);
  const std::optional<std::int64_t> every = at_least(config, keys::window_watermark_interval_ms, 1);
  const std::optional<std::int64_t> lateness =
      at_least(config, keys::window_allowed_lateness_ms, 0);
  const std::optional<std::int64_t> idle =
      at_least(config, keys::window_watermark_idle_timeout_ms, 0);
  s.late_stream = text(config, keys::window_late_tuple_stream);
  s.aggregate = flag(config, keys::window_aggregate);
  s.aggregate_key = field_names(config, keys::window_aggregate_key_fields);
  if (!s.timestamp_field.empty() && s.timestamp_extractor) {
    throw ConfigError(std::string("a window takes its timestamps from a field or from an "
                                  "extractor, not both: '") +
                      keys::window_timestamp_field + "' and '" + keys::window_timestamp_extractor +
                      "' are set");
  }
  if (!s.event_time()) {
    const char* set = lag                      ? keys::window_timestamp_max_lag_ms
                      : every                  ? keys::window_watermark_interval_ms
                      : lateness               ? keys::window_allowed_lateness_ms
                      : idle                   ? keys::window_watermark_idle_timeout_ms
                      : !s.late_stream.empty() ? keys::window_late_tuple_stream
                                               : nullptr;
    if (set != nullptr) {
      throw ConfigError("config key '" + std::string(set) +
                        "' is for event time, but the window has no timestamp: set '" +
                        keys::window_timestamp_field +
                        "' (with_timestamp_field) or use "
                        "with_timestamp_extractor");
    }
  }
  const bool by_count = s.length_count || s.slide_count;
  if (s.event_time() && by_count) {
    throw ConfigError(
        "event time needs a window by duration or sessions: a window by count "
        "counts tuples as they arrive (" +
        s.describe() + ")");
  }
  if (s.aggregate && by_count) {
    throw ConfigError("aggregation needs a window by duration or sessions (" + s.describe() + ")");
  }
  if (!s.aggregate && !s.aggregate_key.empty()) {
    throw ConfigError(std::string("config key '") + keys::window_aggregate_key_fields +
                      "' is set without an aggregate (with_aggregate)");
  }
  if (s.sessions() && !s.aggregate_key.empty()) {
    throw ConfigError(
        "an aggregate of session windows is keyed by the session key: give "
        "with_aggregate no key fields");
  }
  if (lag) s.lag_ms = *lag;
  if (every) s.watermark_interval_ms = *every;
  if (lateness) s.lateness_ms = *lateness;
  if (idle) s.idle_timeout_ms = *idle;
}

}  // namespace

std::optional<WindowSpec> WindowSpec::from(const Config& config) {
  WindowSpec s;
  s.length_count = at_least(config, keys::window_length_count, 1);
  s.length_ms = at_least(config, keys::window_length_duration_ms, 1);
  s.slide_count = at_least(config, keys::window_sliding_interval_count, 1);
  s.slide_ms = at_least(config, keys::window_sliding_interval_duration_ms, 1);
  s.session_gap_ms = at_least(config, keys::window_session_gap_ms, 1);
  s.session_key = field_names(config, keys::window_session_key_fields);
  if (s.session_gap_ms || !s.session_key.empty()) {
    if (!s.session_gap_ms || s.session_key.empty()) {
      throw ConfigError(std::string("session windows need both '") + keys::window_session_gap_ms +
                        "' and '" + keys::window_session_key_fields + "'");
    }
    if (s.length_count || s.length_ms || s.slide_count || s.slide_ms) {
      throw ConfigError("a window is either sessions or a sliding or tumbling window, not both");
    }
    read_time_and_aggregate(config, s);
    return s;
  }
  if (!s.length_count && !s.length_ms && !s.slide_count && !s.slide_ms) {
    for (const char* key : {keys::window_timestamp_field, keys::window_timestamp_extractor,
                            keys::window_timestamp_max_lag_ms, keys::window_watermark_interval_ms,
                            keys::window_allowed_lateness_ms,
                            keys::window_watermark_idle_timeout_ms, keys::window_late_tuple_stream,
                            keys::window_aggregate, keys::window_aggregate_key_fields}) {
      const Value* v = config.find(key);
      if (v != nullptr && !v->is_null()) {
        throw ConfigError("config key '" + std::string(key) +
                          "' is a window setting, but no window is set (with_window, "
                          "with_tumbling_window or with_session_window)");
      }
    }
    return std::nullopt;
  }
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
  read_time_and_aggregate(config, s);
  return s;
}

namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& f : names) out += (out.empty() ? "" : ", ") + f;
  return out;
}

}  // namespace

std::string WindowSpec::describe() const {
  std::string more;
  if (event_time()) {
    more += " in event time (" +
            (timestamp_field.empty() ? std::string("an extractor")
                                     : "field '" + timestamp_field + "'") +
            ", lag " + std::to_string(lag_ms) + " ms";
    if (lateness_ms > 0) more += ", allowed lateness " + std::to_string(lateness_ms) + " ms";
    more += ")";
  }
  if (aggregate) {
    more += aggregate_key.empty() ? (sessions() ? ", aggregated" : ", aggregated per window")
                                  : ", aggregated by (" + joined(aggregate_key) + ")";
  }
  return describe_shape() + more;
}

std::string WindowSpec::describe_shape() const {
  if (sessions()) {
    std::string key;
    for (const std::string& f : session_key) key += (key.empty() ? "" : ", ") + f;
    return "session windows by (" + key + ") with a gap of " + std::to_string(*session_gap_ms) +
           " ms";
  }
  const std::string length =
      length_count ? std::to_string(*length_count) + " tuples" : std::to_string(*length_ms) + " ms";
  const bool tumbling = (length_count && slide_count && *slide_count == *length_count) ||
                        (length_ms && slide_ms && *slide_ms == *length_ms);
  if (tumbling) return "a tumbling window of " + length;
  const std::string every =
      slide_count ? std::to_string(*slide_count) + " tuples" : std::to_string(*slide_ms) + " ms";
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
  auto put_names = [&](const char* key, const std::vector<std::string>& fields) {
    if (fields.empty()) return;
    List names;
    for (const std::string& f : fields) names.emplace_back(f);
    c.set(key, Value(std::move(names)));
  };
  put_names(keys::window_session_key_fields, session_key);
  if (!timestamp_field.empty()) c.set(keys::window_timestamp_field, timestamp_field);
  if (timestamp_extractor) c.set(keys::window_timestamp_extractor, true);
  if (event_time()) {
    c.set(keys::window_timestamp_max_lag_ms, lag_ms);
    c.set(keys::window_watermark_interval_ms, watermark_interval_ms);
    c.set(keys::window_allowed_lateness_ms, lateness_ms);
    c.set(keys::window_watermark_idle_timeout_ms, idle_timeout_ms);
  }
  if (!late_stream.empty()) c.set(keys::window_late_tuple_stream, late_stream);
  if (aggregate) c.set(keys::window_aggregate, true);
  put_names(keys::window_aggregate_key_fields, aggregate_key);
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
                        std::to_string(pending_limit) +
                        " tuple trees the spouts may have pending (" + std::string(pending_source) +
                        "): the window could never fill. Raise topology.max.spout.pending or "
                        "shrink the window");
    }
  }
  // In event time a tuple also waits for the watermark: the lag, the lateness the window is kept
  // for, and up to one watermark interval.
  const std::int64_t waits =
      spec.event_time() ? spec.lag_ms + spec.lateness_ms + spec.watermark_interval_ms : 0;
  if (spec.sessions()) {
    // A session lasts at least its gap (longer while its key stays busy: see docs/windows.md).
    if (timeout_ms > 0 && *spec.session_gap_ms + waits > timeout_ms) {
      throw ConfigError(who +
                        " holds every tuple for at least the gap, longer than "
                        "topology.message.timeout.secs (" +
                        std::to_string(timeout_ms / 1000) +
                        " s): its tuples would time out before their session closes. Raise the "
                        "timeout or shorten the gap");
    }
    return;
  }
  if (timeout_ms > 0 && (spec.length_ms || spec.slide_ms)) {
    const std::int64_t ms = spec.length_ms.value_or(0) + spec.slide_ms.value_or(0) + waits;
    if (ms > timeout_ms) {
      throw ConfigError(who + " holds tuples for up to " + std::to_string(ms) +
                        (spec.event_time() ? " ms (length + sliding interval + lag + lateness + "
                                             "watermark interval)"
                                           : " ms (length + sliding interval)") +
                        ", longer than topology.message.timeout.secs (" +
                        std::to_string(timeout_ms / 1000) +
                        " s): its tuples would time out before they leave the window. Raise the "
                        "timeout or shrink the window");
    }
  }
}

}  // namespace gale::detail
