#include <doctest/doctest.h>

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <gale/config.hpp>
#include <gale/errors.hpp>

#include "cli/config_file.hpp"
#include "nimbus/nimbus.hpp"
#include "supervisor/supervisor.hpp"
#include "topology/src/plan.hpp"
#include "worker/process/worker_process.hpp"

using gale::Config;
using gale::List;
using gale::Value;
namespace keys = gale::keys;
namespace fs = std::filesystem;

namespace {

// A fresh directory, removed (and left, when it was entered) at the end of the test.
class ConfigDir {
 public:
  ConfigDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("gale-config-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ConfigDir() {
    if (!previous_.empty()) fs::current_path(previous_);
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name) << text;
    return (path_ / name).string();
  }
  void enter() {
    previous_ = fs::current_path();
    fs::current_path(path_);
  }

 private:
  fs::path path_;
  fs::path previous_;
};

}  // namespace

TEST_SUITE("config") {
  TEST_CASE("parse_value: integers") {
    CHECK(Config::parse_value("42") == Value(42));
    CHECK(Config::parse_value("-3") == Value(-3));
    CHECK(Config::parse_value("0") == Value(0));
    CHECK(Config::parse_value("9223372036854775807") == Value(std::int64_t{9223372036854775807}));
    CHECK(Config::parse_value("-9223372036854775808").as_int() ==
          std::numeric_limits<std::int64_t>::min());
  }

  TEST_CASE("parse_value: doubles") {
    CHECK(Config::parse_value("1.5") == Value(1.5));
    CHECK(Config::parse_value("1e3") == Value(1000.0));
    CHECK(Config::parse_value("-0.25") == Value(-0.25));
    CHECK(Config::parse_value(".5") == Value(0.5));
    CHECK(Config::parse_value("1.0").is_double());  // not collapsed into an int
  }

  TEST_CASE("parse_value: keywords") {
    CHECK(Config::parse_value("true") == Value(true));
    CHECK(Config::parse_value("false") == Value(false));
    CHECK(Config::parse_value("null").is_null());
  }

  TEST_CASE("parse_value: everything else is a string, parsed strictly") {
    CHECK(Config::parse_value("abc") == Value("abc"));
    CHECK(Config::parse_value("1.2.3") == Value("1.2.3"));
    CHECK(Config::parse_value("") == Value(""));
    CHECK(Config::parse_value("12abc") == Value("12abc"));
    CHECK(Config::parse_value("1e") == Value("1e"));
    CHECK(Config::parse_value("-") == Value("-"));
    CHECK(Config::parse_value("True") == Value("True"));
    CHECK(Config::parse_value("nan") == Value("nan"));
    CHECK(Config::parse_value("inf") == Value("inf"));
    CHECK(Config::parse_value("-infinity") == Value("-infinity"));
    CHECK(Config::parse_value("1e999") == Value("1e999"));  // out of range stays text
    CHECK(Config::parse_value(" 1") == Value(" 1"));
    CHECK(Config::parse_value("0x10") == Value("0x10"));
  }

  TEST_CASE("set, find, contains, erase, merge") {
    Config c;
    CHECK_FALSE(c.contains("a"));
    CHECK(c.find("a") == nullptr);
    c.set("a", 1);
    c.set("b", "x");
    REQUIRE(c.find("a") != nullptr);
    CHECK(*c.find("a") == Value(1));
    c.set("a", 2);  // replaces
    CHECK(c.get_int("a", 0) == 2);
    c.erase("a");
    CHECK_FALSE(c.contains("a"));
    c.erase("never-set");  // no-op
    Config other;
    other.set("b", "y");
    other.set("c", true);
    c.merge(other);
    CHECK(c.get_string("b", "") == "y");
    CHECK(c.get_bool("c", false));
    CHECK(c.entries().size() == 2);
  }

  TEST_CASE("set_from_string") {
    Config c;
    c.set_from_string("topology.workers=4");
    CHECK(c.get_int(keys::topology_workers, 0) == 4);
    c.set_from_string("  topology.debug  =true");
    CHECK(c.get_bool(keys::topology_debug, false));
    c.set_from_string("x = 2.5 ");
    CHECK(*c.find("x") == Value(2.5));
    c.set_from_string("expr=a=b");  // only the first '=' splits
    CHECK(c.get_string("expr", "") == "a=b");
    c.set_from_string("empty=");
    CHECK(*c.find("empty") == Value(""));
    c.set_from_string("n=null");
    CHECK(c.find("n")->is_null());
  }

  TEST_CASE("set_from_string rejects malformed text, quoting it") {
    Config c;
    CHECK_THROWS_WITH_AS(c.set_from_string("topology.workers"),
                         doctest::Contains("\"topology.workers\""), gale::ConfigError);
    CHECK_THROWS_WITH_AS(c.set_from_string("topology.workers"), doctest::Contains("key=value"),
                         gale::ConfigError);
    CHECK_THROWS_WITH_AS(c.set_from_string("=5"), doctest::Contains("\"=5\""), gale::ConfigError);
    CHECK_THROWS_WITH_AS(c.set_from_string("  =5"), doctest::Contains("empty key"),
                         gale::ConfigError);
    CHECK_THROWS_AS(c.set_from_string(""), gale::ConfigError);
    CHECK(c.entries().empty());
  }

  TEST_CASE("getters: fallback when absent") {
    Config c;
    CHECK(c.get_int("k", 7) == 7);
    CHECK(c.get_double("k", 0.5) == 0.5);
    CHECK(c.get_bool("k", true));
    CHECK(c.get_string("k", "dflt") == "dflt");
  }

  TEST_CASE("getters: wrong type names the key, the expectation and the value") {
    Config c;
    c.set(keys::topology_workers, "abc");
    CHECK_THROWS_WITH_AS(c.get_int(keys::topology_workers, 1),
                         "config topology.workers: expected int, got string \"abc\"",
                         gale::ConfigError);
    c.set("d", true);
    CHECK_THROWS_WITH_AS(c.get_double("d", 0), "config d: expected double, got bool true",
                         gale::ConfigError);
    c.set("b", 1);
    CHECK_THROWS_WITH_AS(c.get_bool("b", false), "config b: expected bool, got int 1",
                         gale::ConfigError);
    c.set("s", Value());
    CHECK_THROWS_WITH_AS(c.get_string("s", ""), "config s: expected string, got null",
                         gale::ConfigError);
    c.set("i", 1.5);
    CHECK_THROWS_WITH_AS(c.get_int("i", 0), "config i: expected int, got double 1.5",
                         gale::ConfigError);
  }

  TEST_CASE("get_double accepts an int") {
    Config c;
    c.set("x", 3);
    CHECK(c.get_double("x", 0) == 3.0);
    c.set("y", 0.25);
    CHECK(c.get_double("y", 0) == 0.25);
  }

  TEST_CASE("the processing guarantee: two choices, and it must agree with the acker count") {
    Config c;
    c.set(keys::topology_processing_guarantee, "at_most_once");
    CHECK_NOTHROW(c.validate());
    CHECK(gale::detail::acker_task_count(c) == 0);
    c.set(keys::topology_acker_executors, 0);
    CHECK_NOTHROW(c.validate());
    c.set(keys::topology_acker_executors, 2);
    CHECK_THROWS_WITH_AS(c.validate(),
                         "config topology.processing.guarantee at_most_once contradicts "
                         "topology.acker.executors 2: at_most_once has no ackers",
                         gale::ConfigError);
    c.set(keys::topology_processing_guarantee, "at_least_once");
    CHECK_NOTHROW(c.validate());
    CHECK(gale::detail::acker_task_count(c) == 2);
    c.set(keys::topology_acker_executors, 0);
    CHECK_THROWS_WITH_AS(c.validate(),
                         "config topology.processing.guarantee at_least_once contradicts "
                         "topology.acker.executors 0: at_least_once needs an acker",
                         gale::ConfigError);
    Config unset;
    CHECK(gale::detail::acker_task_count(unset) == 1);
    unset.set(keys::topology_processing_guarantee, "exactly_once");
    CHECK_THROWS_WITH_AS(unset.validate(),
                         "config topology.processing.guarantee: expected \"at_least_once\" or "
                         "\"at_most_once\", got string \"exactly_once\"",
                         gale::ConfigError);
  }

  TEST_CASE("validate accepts good values, unknown keys and an empty config") {
    Config c;
    CHECK_NOTHROW(c.validate());
    c.set(keys::topology_workers, 1);
    c.set(keys::topology_acker_executors, 0);
    c.set(keys::topology_message_timeout_secs, 30);
    c.set(keys::topology_enable_message_timeouts, false);
    c.set(keys::topology_max_spout_pending, Value());
    c.set(keys::topology_tick_tuple_freq_secs, 1);
    c.set(keys::topology_debug, true);
    c.set(keys::topology_executor_receive_buffer_size, 1024);
    c.set(keys::topology_producer_batch_size, 1);
    c.set(keys::topology_sleep_spout_wait_strategy_time_ms, 0);
    c.set(keys::topology_name, "wordcount");
    c.set(keys::topology_executor_stuck_secs, 0);
    c.set(keys::topology_executor_stuck_policy, "report");
    c.set("my.app.setting", List{"anything"});  // user config, as in Storm
    CHECK_NOTHROW(c.validate());
    c.set(keys::topology_max_spout_pending, 1000);
    c.set(keys::topology_tick_tuple_freq_secs, Value());
    c.set(keys::topology_executor_stuck_secs, Value());
    c.set(keys::topology_executor_stuck_policy, "restart");
    CHECK_NOTHROW(c.validate());
  }

  TEST_CASE("validate rejects each known key's bad values, with a precise message") {
    struct Case {
      const char* key;
      Value value;
      const char* message;
    };
    const Case cases[] = {
        {keys::topology_workers, 0, "config topology.workers: expected int >= 1, got int 0"},
        {keys::topology_workers, "abc",
         "config topology.workers: expected int >= 1, got string \"abc\""},
        {keys::topology_workers, 2.0, "config topology.workers: expected int >= 1, got double 2.0"},
        {keys::topology_acker_executors, -1,
         "config topology.acker.executors: expected int >= 0, got int -1"},
        {keys::topology_message_timeout_secs, 0,
         "config topology.message.timeout.secs: expected int >= 1, got int 0"},
        {keys::topology_enable_message_timeouts, 1,
         "config topology.enable.message.timeouts: expected bool, got int 1"},
        {keys::topology_max_spout_pending, 0,
         "config topology.max.spout.pending: expected null or int >= 1, got int 0"},
        {keys::topology_max_spout_pending, "x",
         "config topology.max.spout.pending: expected null or int >= 1, got string \"x\""},
        {keys::topology_tick_tuple_freq_secs, -5,
         "config topology.tick.tuple.freq.secs: expected null, an int >= 1 or a number of seconds "
         ">= 0.001, got int -5"},
        {keys::topology_tick_tuple_freq_secs, 0.0005,
         "config topology.tick.tuple.freq.secs: expected null, an int >= 1 or a number of seconds "
         ">= 0.001, got double 5e-04"},
        {keys::topology_debug, "true", "config topology.debug: expected bool, got string \"true\""},
        {keys::topology_executor_receive_buffer_size, 0,
         "config topology.executor.receive.buffer.size: expected int >= 1, got int 0"},
        {keys::topology_producer_batch_size, Value(),
         "config topology.producer.batch.size: expected int >= 1, got null"},
        {keys::topology_sleep_spout_wait_strategy_time_ms, -1,
         "config topology.sleep.spout.wait.strategy.time.ms: expected int >= 0, got int -1"},
        {keys::topology_name, 5, "config topology.name: expected string, got int 5"},
        {keys::topology_id, 5, "config topology.id: expected string, got int 5"},
        {keys::topology_executor_stuck_secs, -1,
         "config topology.executor.stuck.secs: expected null or int >= 0, got int -1"},
        {keys::topology_executor_stuck_secs, 1.5,
         "config topology.executor.stuck.secs: expected null or int >= 0, got double 1.5"},
        {keys::topology_executor_stuck_policy, "kill",
         "config topology.executor.stuck.policy: expected \"report\" or \"restart\", got string "
         "\"kill\""},
        {keys::topology_executor_stuck_policy, Value(),
         "config topology.executor.stuck.policy: expected \"report\" or \"restart\", got null"},
    };
    for (const Case& tc : cases) {
      CAPTURE(tc.key);
      Config c;
      c.set(tc.key, tc.value);
      CHECK_THROWS_WITH_AS(c.validate(), tc.message, gale::ConfigError);
    }
  }

  TEST_CASE("validate after set_from_string: the CLI path") {
    Config c;
    c.set_from_string("topology.workers=abc");
    CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains("topology.workers"), gale::ConfigError);
    c.set_from_string("topology.workers=3");
    c.set_from_string("topology.max.spout.pending=null");
    CHECK_NOTHROW(c.validate());
  }

  TEST_CASE("load_config: the base, then the file, then each -c, later winning") {
    ConfigDir dir;
    gale::cli::ConfigSources sources;
    sources.file = dir.write("gale.conf",
                             "# comment\n"
                             "a = from-file\n"
                             "b = 2\n"
                             "b = 3\n"
                             "[topology]\n"
                             "workers = 4\n"
                             "debug = true\n"
                             "ratio = 0.5\n"
                             "nothing = null\n");
    sources.overrides = {"b=5", "c=x", "c=y"};
    Config base;
    base.set("a", "from-base");
    base.set("kept", 1);
    base.set("b", 1);
    std::vector<std::string> warnings;
    const Config config =
        gale::cli::load_config(sources, base, [&](const std::string& w) { warnings.push_back(w); });
    CHECK(warnings == std::vector<std::string>{"unknown config key 'topology.nothing'",
                                               "unknown config key 'topology.ratio'"});
    CHECK(config.get_int("kept", 0) == 1);                  // base only
    CHECK(config.get_string("a", "") == "from-file");       // the file wins over the base
    CHECK(config.get_int("b", 0) == 5);                     // -c wins over the file's last line
    CHECK(config.get_string("c", "") == "y");               // the later -c wins
    CHECK(config.get_int(keys::topology_workers, 0) == 4);  // [topology] prefixes its keys
    CHECK(config.get_bool(keys::topology_debug, false));
    CHECK(config.get_double("topology.ratio", 0) == 0.5);
    REQUIRE(config.find("topology.nothing") != nullptr);
    CHECK(config.find("topology.nothing")->is_null());
  }

  TEST_CASE("load_config: a bad file's error names the file; a bad -c quotes it") {
    ConfigDir dir;
    gale::cli::ConfigSources sources;
    sources.file = dir.write("bad.conf", "a = 1\nthis line has no equals sign\n");
    try {
      (void)gale::cli::load_config(sources);
      FAIL("no ConfigError");
    } catch (const gale::ConfigError& e) {
      CHECK(std::string(e.what()).find(sources.file) != std::string::npos);
    }
    sources.file = (fs::temp_directory_path() / "gale-no-such-dir" / "missing.conf").string();
    try {
      (void)gale::cli::load_config(sources);
      FAIL("no ConfigError");
    } catch (const gale::ConfigError& e) {
      CHECK(std::string(e.what()) == "cannot read config file " + sources.file);
    }
    sources.file.clear();
    sources.overrides = {"no-equals-sign"};
    CHECK_THROWS_AS((void)gale::cli::load_config(sources), gale::ConfigError);
  }

  TEST_CASE("a config file line holding boost's own placeholder is an error, not a hang") {
    // Found by fuzz_config: boost's message substitution looped on "%invalid_line%".
    gale::Config config;
    CHECK_THROWS_WITH_AS(
        gale::cli::apply_config_text("a = 1\nno equals %invalid_line% here\n", "test.conf", config),
        "test.conf: a line is neither 'key = value' nor a [section]", gale::ConfigError);
  }

  TEST_CASE("load_config: ./gale.conf only when asked for and no --config is given") {
    ConfigDir dir;
    dir.write("gale.conf", "nimbus.address = 10.0.0.5:7000\n");
    const std::string other = dir.write("other.conf", "nimbus.address = 10.0.0.6:7000\n");
    dir.enter();
    gale::cli::ConfigSources sources;
    CHECK_FALSE(gale::cli::load_config(sources).contains("nimbus.address"));
    sources.default_file = true;
    CHECK(gale::cli::load_config(sources).get_string("nimbus.address", "") == "10.0.0.5:7000");
    sources.file = other;
    CHECK(gale::cli::load_config(sources).get_string("nimbus.address", "") == "10.0.0.6:7000");
  }

  TEST_CASE("closest_known: the known key a misspelling most likely meant") {
    CHECK(keys::closest_known("topology.max.spout.pendng") == "topology.max.spout.pending");
    CHECK(keys::closest_known("topology.max_spout_pending") == "topology.max.spout.pending");
    CHECK(keys::closest_known("topology.wokrers") == "topology.workers");  // a swap is one edit
    CHECK(keys::closest_known("topology.worker") == "topology.workers");
    CHECK(keys::closest_known("topology.message.timeout.sec") == "topology.message.timeout.secs");
    CHECK(keys::closest_known("topology.ackers.executors") == "topology.acker.executors");
    CHECK(keys::closest_known("nimbus.adress") == "nimbus.address");
    CHECK(keys::closest_known("supervisor.worker.timeout.sec") == "supervisor.worker.timeout.secs");
    CHECK(keys::closest_known("worker.heartbeat.frequency.sec") ==
          "worker.heartbeat.frequency.secs");
    CHECK(keys::closest_known("topology.debug") == "topology.debug");  // known: itself
    // Nothing close: no guess.
    CHECK(keys::closest_known("topology.ratio") == "");
    CHECK(keys::closest_known("topology.my.plugin.setting") == "");
    CHECK(keys::closest_known("") == "");
  }

  TEST_CASE("unknown_key_warning: unknown keys in Gale's namespaces warn; others never do") {
    CHECK(keys::unknown_key_warning("topology.max.spout.pendng") ==
          "unknown config key 'topology.max.spout.pendng' (did you mean "
          "'topology.max.spout.pending'?)");
    CHECK(keys::unknown_key_warning("nimbus.adress") ==
          "unknown config key 'nimbus.adress' (did you mean 'nimbus.address'?)");
    CHECK(keys::unknown_key_warning("supervisor.slots") == "unknown config key 'supervisor.slots'");
    CHECK(keys::unknown_key_warning("worker.childopts") == "unknown config key 'worker.childopts'");
    CHECK(keys::unknown_key_warning("topology.my.plugin.setting") ==
          "unknown config key 'topology.my.plugin.setting'");
    // Known keys.
    CHECK(keys::unknown_key_warning(keys::topology_max_spout_pending) == std::nullopt);
    CHECK(keys::unknown_key_warning("nimbus.address") == std::nullopt);
    // The topology's own keys, outside Gale's namespaces, however close to a known key.
    CHECK(keys::unknown_key_warning("wordcount.window.secs") == std::nullopt);
    CHECK(keys::unknown_key_warning("topologies.workers") == std::nullopt);
    CHECK(keys::unknown_key_warning("Topology.workers") == std::nullopt);
    CHECK(keys::unknown_key_warning("ui.port") == std::nullopt);
    CHECK(keys::unknown_key_warning("topology") == std::nullopt);
    CHECK(keys::in_gale_namespace("topology.x"));
    CHECK_FALSE(keys::in_gale_namespace("topologyx"));
  }

  TEST_CASE("the known keys: every topology key and every key the daemons read") {
    for (const char* key : {keys::topology_workers,
                            keys::topology_acker_executors,
                            keys::topology_message_timeout_secs,
                            keys::topology_enable_message_timeouts,
                            keys::topology_max_spout_pending,
                            keys::topology_tick_tuple_freq_secs,
                            keys::topology_debug,
                            keys::topology_executor_receive_buffer_size,
                            keys::topology_producer_batch_size,
                            keys::topology_sleep_spout_wait_strategy_time_ms,
                            keys::topology_spout_wait_max_ms,
                            keys::topology_executor_spin_micros,
                            keys::topology_executor_spin_light_load,
                            keys::topology_executor_stuck_secs,
                            keys::topology_executor_stuck_policy,
                            keys::topology_name,
                            keys::topology_id,
                            gale::nimbus::keys::supervisor_timeout_secs,
                            gale::nimbus::keys::plugin_check_timeout_secs,
                            gale::supervisor::keys::heartbeat_frequency_secs,
                            gale::supervisor::keys::worker_timeout_secs,
                            gale::supervisor::keys::worker_start_timeout_secs,
                            gale::supervisor::keys::worker_shutdown_secs,
                            gale::worker::keys::heartbeat_frequency_secs,
                            "nimbus.address"}) {
      CAPTURE(key);
      CHECK(keys::is_known(key));
      CHECK(keys::in_gale_namespace(key));
      CHECK(keys::unknown_key_warning(key) == std::nullopt);
    }
    CHECK_FALSE(keys::is_known("topology.max.spout.pendng"));
    CHECK_FALSE(keys::is_known("my.key"));
  }

  TEST_CASE("load_config: -c topology.max.spout.pendng=5 warns once, naming the key it meant") {
    ConfigDir dir;
    gale::cli::ConfigSources sources;
    sources.file = dir.write("gale.conf",
                             "topology.max.spout.pendng = 1\n"
                             "nimbus.adress = 10.0.0.5:6627\n"
                             "wordcount.window.secs = 10\n");
    sources.overrides = {"topology.max.spout.pendng=5", "topology.workers=2", "my.flag=true"};
    Config base;  // the plugin's own config in `gale local`
    base.set("topology.max.spout.pendng", 3);
    base.set("topology.tick.tuple.freq.sec", 1);
    std::vector<std::string> warnings;
    const Config config =
        gale::cli::load_config(sources, base, [&](const std::string& w) { warnings.push_back(w); });
    // One warning per key, in key order, whichever sources set it; the value is kept.
    CHECK(warnings == std::vector<std::string>{
                          "unknown config key 'nimbus.adress' (did you mean 'nimbus.address'?)",
                          "unknown config key 'topology.max.spout.pendng' (did you mean "
                          "'topology.max.spout.pending'?)",
                          "unknown config key 'topology.tick.tuple.freq.sec' (did you mean "
                          "'topology.tick.tuple.freq.secs'?)",
                      });
    CHECK(config.get_int("topology.max.spout.pendng", 0) == 5);
    CHECK_NOTHROW(config.validate());  // a warning, never a refusal
  }
}
