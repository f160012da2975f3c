// libFuzzer target: configuration parsing (topology/gale/config.hpp, cli/config_file.hpp). The
// input is config-file text; for any text:
// - apply_config_text (the gale.conf loader) sets entries or throws ConfigError (nothing else);
// - each line, as a -c override, goes through Config::set_from_string, and its value through
//   Config::parse_value, the same way;
// - parse_value's ints and doubles are whole-text parses, and an int prints back as the text;
// - validate() throws ConfigError or accepts, and what it accepts the typed getters read.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <gale/config.hpp>
#include <gale/errors.hpp>

#include "cli/config_file.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using gale::Config;
using gale::ConfigError;
using gale::Value;

void check_parsed(std::string_view text) {
  const Value v = Config::parse_value(text);
  switch (v.type()) {
    case Value::Type::null:
      FUZZ_CHECK(text == "null");
      break;
    case Value::Type::boolean:
      FUZZ_CHECK(text == (v.as_bool() ? "true" : "false"));
      break;
    case Value::Type::integer:
      FUZZ_CHECK(Config::parse_value(std::to_string(v.as_int())) == v);
      break;
    case Value::Type::floating:
      FUZZ_CHECK(!text.empty());
      break;
    case Value::Type::string:
      FUZZ_CHECK(v.as_string() == text);
      break;
    default:
      FUZZ_CHECK(false);  // parse_value makes scalars only
  }
}

// Validates `config`; when it passes, the getters the runtime calls read every known key.
void check_validate(const Config& config) {
  try {
    config.validate();
  } catch (const ConfigError&) {
    return;
  }
  namespace keys = gale::keys;
  FUZZ_CHECK(config.get_int(keys::topology_workers, 1) >= 1);
  FUZZ_CHECK(config.get_int(keys::topology_acker_executors, 1) >= 0);
  FUZZ_CHECK(config.get_int(keys::topology_message_timeout_secs, 30) >= 1);
  (void)config.get_bool(keys::topology_enable_message_timeouts, true);
  (void)config.get_bool(keys::topology_debug, false);
  (void)config.get_bool(keys::topology_executor_spin_light_load, false);
  FUZZ_CHECK(config.get_int(keys::topology_executor_receive_buffer_size, 16384) >= 1);
  FUZZ_CHECK(config.get_int(keys::topology_producer_batch_size, 64) >= 1);
  FUZZ_CHECK(config.get_int(keys::topology_sleep_spout_wait_strategy_time_ms, 1) >= 0);
  FUZZ_CHECK(config.get_int(keys::topology_spout_wait_max_ms, 100) >= 0);
  FUZZ_CHECK(config.get_int(keys::topology_executor_spin_micros, 50) >= 0);
  (void)config.get_string(keys::topology_name, "x");
  const Value* pending = config.find(keys::topology_max_spout_pending);
  FUZZ_CHECK(pending == nullptr || pending->is_null() || pending->as_int() >= 1);
  const Value* tick = config.find(keys::topology_tick_tuple_freq_secs);
  FUZZ_CHECK(tick == nullptr || tick->is_null() || (tick->is_int() && tick->as_int() >= 1) ||
             (tick->is_double() && tick->as_double() >= 0.001));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  Config from_file;
  try {
    gale::cli::apply_config_text(text, "fuzz.conf", from_file);
    check_validate(from_file);
  } catch (const ConfigError&) {
  }

  Config from_overrides;
  std::string_view rest = text;
  while (!rest.empty()) {
    const std::size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    check_parsed(line);
    try {
      from_overrides.set_from_string(line);
    } catch (const ConfigError&) {
    }
  }
  check_validate(from_overrides);
  return 0;
}
