#pragma once

#include <string>

#include <gale/config.hpp>
#include <gale/export.hpp>
#include <gale/topology.hpp>

namespace gale::plugin {

// A topology loaded from a plugin: the validated topology and the config its build function set.
// The topology (and each copy of it) keeps the plugin's library loaded; whoever creates spouts and
// bolts from its factories must destroy them before the last copy goes.
struct LoadedPlugin {
  std::string path;
  Topology topology;
  Config config;
};

// Loads a topology plugin with dlopen(RTLD_NOW | RTLD_LOCAL), checks gale_plugin_abi_version()
// before calling anything else, runs gale_plugin_build() and validates the topology.
// The build function's config starts as `given` (the user's config: `gale local`'s --config and
// -c, `gale submit`'s, or the config a worker was assigned), so that it can read settings its
// components take when they are made, such as a server's address. The entries of `given` win
// again over what the build function sets, as they always did over the plugin's own config.
// Throws PluginError naming the file for: a missing or unreadable file, a file that is not a shared
// library (with dlerror's reason), a library without the Gale entry points, an ABI version that
// differs from GALE_ABI_VERSION, and a build function that throws (with its message).
// Throws TopologyError / ConfigError (message prefixed with the plugin path) when the topology or
// its config is invalid. Thread: any.
[[nodiscard]] GALE_API LoadedPlugin load_plugin(const std::string& path, const Config& given = {});

}  // namespace gale::plugin
