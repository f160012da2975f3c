#include <gale/config.hpp>

#include <algorithm>
#include <charconv>
#include <iterator>
#include <span>
#include <system_error>
#include <vector>

#include <gale/errors.hpp>
#include <gale/window.hpp>

#include "closest_match.hpp"

namespace gale {

namespace {

// "int 0", "string \"abc\"", "null": what an error message shows of the value it rejects.
std::string describe(const Value& v) {
  if (v.is_null()) return "null";
  return std::string(type_name(v.type())) + " " + v.to_string();
}

[[noreturn]] void throw_wrong(std::string_view key, std::string_view expected, const Value& found) {
  throw ConfigError("config " + std::string(key) + ": expected " + std::string(expected) +
                    ", got " + describe(found));
}

std::string_view trim(std::string_view s) {
  constexpr std::string_view k_space = " \t\r\n";
  std::size_t begin = s.find_first_not_of(k_space);
  if (begin == std::string_view::npos) return {};
  std::size_t end = s.find_last_not_of(k_space);
  return s.substr(begin, end - begin + 1);
}

// The known topology.* keys and what they accept. Unknown keys pass: as in Storm, a topology's own
// settings live in the same config and only the topology reads them (keys::unknown_key_warning()
// points out the likely misspellings among them).
enum class Rule { int_at_least, null_or_int_at_least, null_or_seconds, boolean, string, one_of };

// The shortest interval Rule::null_or_seconds accepts: a millisecond.
constexpr double k_min_seconds = 0.001;

struct KeyRule {
  const char* key;
  Rule rule;
  std::int64_t min = 0;
  std::span<const std::string_view> choices = {};  // Rule::one_of
};

constexpr std::string_view k_stuck_policies[] = {"report", "restart"};
constexpr std::string_view k_guarantees[] = {"at_least_once", "at_most_once"};

constexpr KeyRule k_rules[] = {
    {keys::topology_workers, Rule::int_at_least, 1},
    {keys::topology_acker_executors, Rule::int_at_least, 0},
    {keys::topology_processing_guarantee, Rule::one_of, 0, k_guarantees},
    {keys::topology_message_timeout_secs, Rule::int_at_least, 1},
    {keys::topology_enable_message_timeouts, Rule::boolean},
    {keys::topology_max_spout_pending, Rule::null_or_int_at_least, 1},
    {keys::topology_tick_tuple_freq_secs, Rule::null_or_seconds},
    {keys::topology_debug, Rule::boolean},
    {keys::topology_executor_receive_buffer_size, Rule::int_at_least, 1},
    {keys::topology_producer_batch_size, Rule::int_at_least, 1},
    {keys::topology_sleep_spout_wait_strategy_time_ms, Rule::int_at_least, 0},
    {keys::topology_spout_wait_max_ms, Rule::int_at_least, 0},
    {keys::topology_executor_spin_micros, Rule::int_at_least, 0},
    {keys::topology_executor_spin_light_load, Rule::boolean},
    {keys::topology_executor_stuck_secs, Rule::null_or_int_at_least, 0},
    {keys::topology_executor_stuck_policy, Rule::one_of, 0, k_stuck_policies},
    {keys::topology_name, Rule::string},
    {keys::topology_id, Rule::string},
    {keys::window_length_count, Rule::null_or_int_at_least, 1},
    {keys::window_length_duration_ms, Rule::null_or_int_at_least, 1},
    {keys::window_sliding_interval_count, Rule::null_or_int_at_least, 1},
    {keys::window_sliding_interval_duration_ms, Rule::null_or_int_at_least, 1},
    {keys::window_session_gap_ms, Rule::null_or_int_at_least, 1},
    {keys::window_timestamp_field, Rule::string},
    {keys::window_timestamp_extractor, Rule::boolean},
    {keys::window_timestamp_max_lag_ms, Rule::null_or_int_at_least, 0},
    {keys::window_watermark_interval_ms, Rule::null_or_int_at_least, 1},
    {keys::window_allowed_lateness_ms, Rule::null_or_int_at_least, 0},
    {keys::window_watermark_idle_timeout_ms, Rule::null_or_int_at_least, 0},
    {keys::window_late_tuple_stream, Rule::string},
    {keys::window_aggregate, Rule::boolean},
};

void check(const KeyRule& rule, const Value& v) {
  switch (rule.rule) {
    case Rule::int_at_least:
      if (!v.is_int() || v.as_int() < rule.min) {
        throw_wrong(rule.key, "int >= " + std::to_string(rule.min), v);
      }
      break;
    case Rule::null_or_int_at_least:
      if (!v.is_null() && (!v.is_int() || v.as_int() < rule.min)) {
        throw_wrong(rule.key, "null or int >= " + std::to_string(rule.min), v);
      }
      break;
    case Rule::null_or_seconds:
      if (!v.is_null() && !(v.is_int() && v.as_int() >= 1) &&
          !(v.is_double() && v.as_double() >= k_min_seconds && v.as_double() <= 1e9)) {
        throw_wrong(rule.key, "null, an int >= 1 or a number of seconds >= 0.001", v);
      }
      break;
    case Rule::boolean:
      if (!v.is_bool()) throw_wrong(rule.key, "bool", v);
      break;
    case Rule::string:
      if (!v.is_string()) throw_wrong(rule.key, "string", v);
      break;
    case Rule::one_of: {
      std::string expected;
      for (std::string_view c : rule.choices) {
        expected += (expected.empty() ? "\"" : " or \"") + std::string(c) + "\"";
      }
      if (!v.is_string() || std::find(rule.choices.begin(), rule.choices.end(), v.as_string()) ==
                                rule.choices.end()) {
        throw_wrong(rule.key, expected, v);
      }
      break;
    }
  }
}

// Every key Gale reads, in alphabetical order: the topology keys of <gale/config.hpp> and the
// cluster keys, which live with the daemons that read them (nimbus/nimbus.hpp,
// supervisor/supervisor.hpp, worker/process/worker_process.hpp; nimbus.address is read by the
// client verbs and the supervisor command). tests/unit/test_config.cpp checks that each of those
// constants is listed here.
constexpr std::string_view k_known_keys[] = {
    "nimbus.address",
    "nimbus.plugin.check.timeout.secs",
    "nimbus.supervisor.timeout.secs",
    "supervisor.heartbeat.frequency.secs",
    "supervisor.worker.shutdown.secs",
    "supervisor.worker.start.timeout.secs",
    "supervisor.worker.timeout.secs",
    keys::topology_acker_executors,
    keys::window_late_tuple_stream,
    keys::window_sliding_interval_count,
    keys::window_sliding_interval_duration_ms,
    keys::window_timestamp_extractor,
    keys::window_timestamp_field,
    keys::window_timestamp_max_lag_ms,
    keys::window_watermark_interval_ms,
    keys::window_watermark_idle_timeout_ms,
    keys::window_aggregate,
    keys::window_aggregate_key_fields,
    keys::window_allowed_lateness_ms,
    keys::window_length_count,
    keys::window_length_duration_ms,
    keys::window_session_gap_ms,
    keys::window_session_key_fields,
    keys::topology_debug,
    keys::topology_enable_message_timeouts,
    keys::topology_executor_receive_buffer_size,
    keys::topology_executor_spin_light_load,
    keys::topology_executor_spin_micros,
    keys::topology_executor_stuck_policy,
    keys::topology_executor_stuck_secs,
    keys::topology_id,
    keys::topology_max_spout_pending,
    keys::topology_message_timeout_secs,
    keys::topology_name,
    keys::topology_processing_guarantee,
    keys::topology_producer_batch_size,
    keys::topology_sleep_spout_wait_strategy_time_ms,
    keys::topology_spout_wait_max_ms,
    keys::topology_tick_tuple_freq_secs,
    keys::topology_worker_memory_limit_mb,
    keys::topology_workers,
    "worker.heartbeat.frequency.secs",
};
static_assert(std::is_sorted(std::begin(k_known_keys), std::end(k_known_keys)));

constexpr std::string_view k_gale_namespaces[] = {"topology.", "nimbus.", "supervisor.", "worker."};

}  // namespace

namespace keys {

bool is_known(std::string_view key) noexcept {
  return std::binary_search(std::begin(k_known_keys), std::end(k_known_keys), key);
}

bool in_gale_namespace(std::string_view key) noexcept {
  return std::any_of(std::begin(k_gale_namespaces), std::end(k_gale_namespaces),
                     [key](std::string_view ns) { return key.starts_with(ns); });
}

std::string closest_known(std::string_view key) {
  // Alphabetical: the first of equals wins.
  static const std::vector<std::string_view> known(std::begin(k_known_keys),
                                                   std::end(k_known_keys));
  return detail::closest_match(key, known);
}

std::optional<std::string> unknown_key_warning(std::string_view key) {
  if (!in_gale_namespace(key) || is_known(key)) return std::nullopt;
  std::string warning = "unknown config key '" + std::string(key) + "'";
  if (const std::string close = closest_known(key); !close.empty()) {
    warning += " (did you mean '" + close + "'?)";
  }
  return warning;
}

}  // namespace keys

void Config::set(std::string key, Value value) {
  entries_.insert_or_assign(std::move(key), std::move(value));
}

void Config::erase(std::string_view key) {
  if (auto it = entries_.find(key); it != entries_.end()) entries_.erase(it);
}

bool Config::contains(std::string_view key) const { return entries_.find(key) != entries_.end(); }

const Value* Config::find(std::string_view key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second;
}

std::int64_t Config::get_int(std::string_view key, std::int64_t fallback) const {
  const Value* v = find(key);
  if (v == nullptr) return fallback;
  if (!v->is_int()) throw_wrong(key, "int", *v);
  return v->as_int();
}

double Config::get_double(std::string_view key, double fallback) const {
  const Value* v = find(key);
  if (v == nullptr) return fallback;
  // "-c x=2" parses as an int; it is still a fine double.
  if (!v->is_double() && !v->is_int()) throw_wrong(key, "double", *v);
  return v->as_double();
}

bool Config::get_bool(std::string_view key, bool fallback) const {
  const Value* v = find(key);
  if (v == nullptr) return fallback;
  if (!v->is_bool()) throw_wrong(key, "bool", *v);
  return v->as_bool();
}

std::string Config::get_string(std::string_view key, std::string_view fallback) const {
  const Value* v = find(key);
  if (v == nullptr) return std::string(fallback);
  if (!v->is_string()) throw_wrong(key, "string", *v);
  return v->as_string();
}

void Config::merge(const Config& other) {
  for (const auto& [key, value] : other.entries_) entries_.insert_or_assign(key, value);
}

void Config::set_from_string(std::string_view assignment) {
  std::size_t eq = assignment.find('=');
  if (eq == std::string_view::npos) {
    throw ConfigError("malformed config assignment \"" + std::string(assignment) +
                      "\": expected key=value");
  }
  std::string_view key = trim(assignment.substr(0, eq));
  if (key.empty()) {
    throw ConfigError("malformed config assignment \"" + std::string(assignment) + "\": empty key");
  }
  // The value is trimmed too, so that "key = value" (the way people write config files) means the
  // same as "key=value" instead of the string " value". Only the first '=' splits: the value may
  // contain more.
  set(std::string(key), parse_value(trim(assignment.substr(eq + 1))));
}

Value Config::parse_value(std::string_view text) {
  if (text == "null") return Value();
  if (text == "true") return Value(true);
  if (text == "false") return Value(false);

  const char* begin = text.data();
  const char* end = text.data() + text.size();
  // Only whole-text parses count: "12abc" and "1.2.3" are strings, not 12 and 1.2.
  std::int64_t i = 0;
  if (auto [ptr, ec] = std::from_chars(begin, end, i); ec == std::errc() && ptr == end) {
    return Value(i);
  }
  // from_chars also reads "inf", "nan" and "infinity"; those are words, so a double must start with
  // a digit or a '.', after an optional '-'. Out-of-range numbers ("1e999") stay strings.
  std::string_view digits = text.substr(!text.empty() && text[0] == '-' ? 1 : 0);
  if (!digits.empty() && ((digits[0] >= '0' && digits[0] <= '9') || digits[0] == '.')) {
    double d = 0;
    if (auto [ptr, ec] = std::from_chars(begin, end, d); ec == std::errc() && ptr == end) {
      return Value(d);
    }
  }
  return Value(std::string(text));
}

void Config::validate() const {
  for (const KeyRule& rule : k_rules) {
    if (const Value* v = find(rule.key)) check(rule, *v);
  }
  // The guarantee and the acker count say the same thing twice when both are set: they must agree.
  const Value* guarantee = find(keys::topology_processing_guarantee);
  const Value* ackers = find(keys::topology_acker_executors);
  if (guarantee != nullptr && ackers != nullptr) {
    const bool acking = guarantee->as_string() == "at_least_once";
    if (acking != (ackers->as_int() > 0)) {
      throw ConfigError(
          "config " + std::string(keys::topology_processing_guarantee) + " " +
          guarantee->as_string() + " contradicts " + keys::topology_acker_executors + " " +
          std::to_string(ackers->as_int()) +
          (acking ? ": at_least_once needs an acker" : ": at_most_once has no ackers"));
    }
  }
}

}  // namespace gale
