#include <dlfcn.h>
#include <doctest/doctest.h>

#include <filesystem>
#include <gale/gale.hpp>
#include <optional>
#include <string>
#include <vector>

#include "plugin/loader.hpp"
#include "topology/src/topology_access.hpp"
#include "tests/support/checks.hpp"
#include "tests/support/support.hpp"

// Loads the plugins built from tests/plugins/ and checks each failure mode's message, the loaded
// topology, and that the library stays loaded exactly as long as something built from it lives.

namespace {

using gale::plugin::load_plugin;
using gale::test::error_of;
using gale::test::has;
using gale::test::ids_of;

std::string plugin_path(const std::string& name) {
  return std::string(GALE_TEST_PLUGIN_DIR) + "/" + name + ".so";
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

// Whether the dynamic linker still has `path` loaded. RTLD_NOLOAD never loads it, but a successful
// lookup takes a reference, which is given back at once.
bool is_loaded(const std::string& path) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (handle == nullptr) return false;
  dlclose(handle);
  return true;
}

}  // namespace

TEST_SUITE("plugin_loader") {
  TEST_CASE("a missing file is reported as such") {
    const std::string path = plugin_path("does_not_exist");
    CHECK_THROWS_WITH_AS(load_plugin(path), ("plugin '" + path + "': no such file").c_str(),
                         gale::PluginError);
  }

  TEST_CASE("a file that is not a shared library is reported with dlerror's reason") {
    const std::string path = plugin_path("not_a_library");
    REQUIRE(std::filesystem::exists(path));
    auto msg = error_of<gale::PluginError>([&] { (void)load_plugin(path); });
    const std::string prefix = "plugin '" + path + "' is not a loadable shared library: ";
    CHECK(starts_with(msg, prefix));
    CHECK(msg.size() > prefix.size());  // dlerror's reason follows
  }

  TEST_CASE("a directory is not a plugin") {
    auto msg = error_of<gale::PluginError>([&] { (void)load_plugin(GALE_TEST_PLUGIN_DIR); });
    CHECK(has(msg, GALE_TEST_PLUGIN_DIR));
  }

  TEST_CASE("a library without the entry points points at GALE_TOPOLOGY") {
    const std::string path = plugin_path("no_entry_plugin");
    auto msg = error_of<gale::PluginError>([&] { (void)load_plugin(path); });
    CHECK(starts_with(msg, "plugin '" + path + "'"));
    CHECK(has(msg, "gale_plugin_abi_version"));
    CHECK(has(msg, "GALE_TOPOLOGY(fn)"));
    CHECK_FALSE(is_loaded(path));
  }

  TEST_CASE("an ABI mismatch is refused before the build function runs") {
    const std::string path = plugin_path("abi_mismatch_plugin");
    auto msg = error_of<gale::PluginError>([&] { (void)load_plugin(path); });
    CHECK(starts_with(msg, "plugin '" + path + "' was built for Gale ABI 999, this Gale has ABI " +
                               std::to_string(GALE_ABI_VERSION)));
    // The plugin's build function reports that it was called; it must not have been.
    CHECK_FALSE(has(msg, "was called"));
    CHECK_FALSE(is_loaded(path));
  }

  TEST_CASE("a throwing build function is reported with its message") {
    const std::string path = plugin_path("throwing_plugin");
    CHECK_THROWS_WITH_AS(load_plugin(path),
                         ("plugin '" + path + "': build function failed: boom from build").c_str(),
                         gale::PluginError);
    // The failed load does not leak the library.
    CHECK_FALSE(is_loaded(path));
  }

  TEST_CASE("an invalid topology is a TopologyError prefixed with the plugin") {
    const std::string path = plugin_path("invalid_topology_plugin");
    CHECK_THROWS_WITH_AS(
        load_plugin(path),
        ("plugin '" + path + "': bolt 'count' subscribes to unknown component 'splitt'").c_str(),
        gale::TopologyError);
    CHECK_FALSE(is_loaded(path));
  }

  TEST_CASE("an invalid config is a ConfigError prefixed with the plugin") {
    const std::string path = plugin_path("invalid_config_plugin");
    auto msg = error_of<gale::ConfigError>([&] { (void)load_plugin(path); });
    CHECK(starts_with(msg, "plugin '" + path + "': "));
    CHECK(has(msg, gale::keys::topology_workers));
    CHECK_FALSE(is_loaded(path));
  }

  TEST_CASE("the good plugin loads with its components and config") {
    const std::string path = plugin_path("good_plugin");
    auto plugin = load_plugin(path);
    CHECK(plugin.path == path);
    CHECK(gale::detail::TopologyAccess::library(plugin.topology) != nullptr);
    CHECK(ids_of(plugin.topology) == std::vector<std::string>{"numbers", "square"});

    const auto& numbers = plugin.topology.component("numbers");
    CHECK(numbers.kind == gale::ComponentKind::spout);
    REQUIRE(numbers.find_stream("default") != nullptr);
    CHECK(numbers.find_stream("default")->fields == gale::Fields{"number"});

    const auto& square = plugin.topology.component("square");
    CHECK(square.kind == gale::ComponentKind::bolt);
    CHECK(square.parallelism == 2);
    CHECK(square.num_tasks == 2);
    REQUIRE(square.find_stream("default") != nullptr);
    CHECK(square.find_stream("default")->fields == gale::Fields{"number", "square"});
    REQUIRE(square.inputs.size() == 1);
    CHECK(square.inputs[0].component == "numbers");
    CHECK(square.inputs[0].stream == "default");
    CHECK(square.inputs[0].grouping.type == gale::GroupingType::fields);
    CHECK(square.inputs[0].grouping.fields == gale::Fields{"number"});

    CHECK(plugin.config.get_int(gale::keys::topology_workers, 0) == 2);
    // No name chosen by the plugin: the file's stem.
    CHECK(plugin.config.get_string(gale::keys::topology_name, "") == "good_plugin");
  }

  TEST_CASE("a plugin's own topology name is kept and its BasicBolt is adapted") {
    auto plugin = load_plugin(plugin_path("named_plugin"));
    CHECK(plugin.config.get_string(gale::keys::topology_name, "") == "chosen-name");
    const auto& upper = plugin.topology.component("upper");
    CHECK(upper.parallelism == 3);
    CHECK(upper.num_tasks == 6);
    CHECK(upper.find_stream("upper") != nullptr);
    auto bolt = upper.bolt();
    // The adapter is created inside the plugin but its type lives in libgale, so this holds.
    CHECK(dynamic_cast<gale::BasicBoltAdapter*>(bolt.get()) != nullptr);
  }

  TEST_CASE("the build function reads the given config, whose entries win over its own") {
    gale::Config given;
    given.set("test.parallelism", 4);
    given.set(gale::keys::topology_workers, 2);
    auto plugin = load_plugin(plugin_path("config_reading_plugin"), given);
    CHECK(plugin.topology.component("drop").parallelism == 4);
    CHECK(plugin.config.get_int(gale::keys::topology_workers, 0) == 2);
    CHECK(plugin.config.get_int("test.parallelism", 0) == 4);

    auto alone = load_plugin(plugin_path("config_reading_plugin"));
    CHECK(alone.topology.component("drop").parallelism == 1);
    CHECK(alone.config.get_int(gale::keys::topology_workers, 0) == 3);
  }

  TEST_CASE("a relative path without a slash is loaded from the current directory") {
    const auto saved = std::filesystem::current_path();
    std::filesystem::current_path(GALE_TEST_PLUGIN_DIR);
    std::optional<gale::plugin::LoadedPlugin> plugin;
    try {
      plugin.emplace(load_plugin("good_plugin.so"));
    } catch (...) {
      std::filesystem::current_path(saved);
      throw;
    }
    std::filesystem::current_path(saved);
    CHECK(ids_of(plugin->topology) == std::vector<std::string>{"numbers", "square"});
  }

  TEST_CASE("the library stays loaded while a Topology copy lives") {
    const std::string path = plugin_path("good_plugin");
    REQUIRE_FALSE(is_loaded(path));
    std::optional<gale::Topology> copy;
    {
      auto plugin = load_plugin(path);
      CHECK(is_loaded(path));
      copy.emplace(plugin.topology);
    }
    // The LoadedPlugin is gone; the copy still holds the library and its factories still work.
    CHECK(is_loaded(path));
    auto spout = copy->component("numbers").spout();
    REQUIRE(spout != nullptr);
    gale::OutputDeclarer declarer;
    spout->declare_outputs(declarer);
    CHECK(declarer.streams().at("default").fields == gale::Fields{"number"});
    spout.reset();

    // Assigning over the last copy releases the library (after its components).
    *copy = gale::detail::TopologyAccess::make({});
    CHECK_FALSE(is_loaded(path));
  }
}
