#include "plugin/loader.hpp"

#include <dlfcn.h>

#include <array>
#include <filesystem>
#include <gale/builder.hpp>
#include <gale/errors.hpp>
#include <gale/plugin.hpp>
#include <gale/version.hpp>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include "topology/src/topology_access.hpp"

namespace gale::plugin {

namespace {

std::string last_dl_error() {
  const char* error = dlerror();
  return error != nullptr ? error : "unknown error";
}

// Looks up one of the entry points GALE_TOPOLOGY defines. A library without them is most often a
// plugin whose author wrote the build function but forgot the macro, so the message says so.
void* entry_point(void* handle, const std::string& path, const char* symbol) {
  dlerror();  // clear a stale error so that a null result can be told from a missing symbol
  void* address = dlsym(handle, symbol);
  if (address == nullptr) {
    throw PluginError("plugin '" + path + "' has no Gale entry point " + symbol +
                      " (did it define its topology with GALE_TOPOLOGY(fn)?)");
  }
  return address;
}

}  // namespace

LoadedPlugin load_plugin(const std::string& path, const Config& given) {
  std::error_code ec;
  const std::filesystem::path file(path);
  const bool exists = std::filesystem::exists(file, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    // E.g. a directory on the way that we may not search: "no such file" would mislead.
    throw PluginError("plugin '" + path + "': cannot access the file: " + ec.message());
  }
  if (!exists) throw PluginError("plugin '" + path + "': no such file");
  if (std::filesystem::is_directory(file, ec)) {
    throw PluginError("plugin '" + path + "' is a directory, not a shared library");
  }

  // dlopen searches the library path for a name without a slash ("plugin.so" would not be looked
  // up in the current directory), so hand it an absolute path: the file checked above is the one
  // that gets loaded.
  const std::filesystem::path absolute = std::filesystem::absolute(file, ec);
  const std::string load_path = ec ? path : absolute.string();
  // RTLD_NOW: an unresolved symbol fails here with a clear message rather than later, mid-tuple.
  // RTLD_LOCAL: two plugins defining the same class names do not bind to each other's code.
  void* raw = dlopen(load_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (raw == nullptr) {
    throw PluginError("plugin '" + path + "' is not a loadable shared library: " + last_dl_error());
  }
  // Owned from here on, so that every failure below unloads the library again. Declared before
  // the builder and the topology: locals die in reverse order, so everything that holds the
  // plugin's code (factories, vtables) is destroyed before the library is closed.
  std::shared_ptr<const void> library(
      raw, [](const void* handle) { dlclose(const_cast<void*>(handle)); });

  // The ABI version comes first: with a different layout of the builder or the component classes,
  // calling the build function at all could corrupt memory.
  auto abi_version = reinterpret_cast<gale_plugin_abi_version_fn>(
      entry_point(raw, path, "gale_plugin_abi_version"));
  auto build = reinterpret_cast<gale_plugin_build_fn>(entry_point(raw, path, "gale_plugin_build"));
  const int abi = abi_version();
  if (abi != GALE_ABI_VERSION) {
    throw PluginError("plugin '" + path + "' was built for Gale ABI " + std::to_string(abi) +
                      ", this Gale has ABI " + std::to_string(GALE_ABI_VERSION) +
                      "; rebuild it against this Gale");
  }

  TopologyBuilder builder;
  Config config = given;
  // The entry point never throws (GALE_TOPOLOGY catches everything); it reports through `error`.
  std::array<char, 4096> error{};
  if (build(&builder, &config, error.data(), error.size()) != 0) {
    error.back() = '\0';  // do not trust a hand-written entry point to terminate the message
    throw PluginError("plugin '" + path + "': build function failed: " + error.data());
  }
  config.merge(given);

  // The topology holds the library from the start: it is unloaded only after every copy of the
  // topology, and so every factory whose code lives in it, is gone.
  std::optional<Topology> topology;
  try {
    topology.emplace(detail::TopologyAccess::build_with_library(builder, library));
    config.validate();
  } catch (const TopologyError& e) {
    throw TopologyError("plugin '" + path + "': " + e.what());
  } catch (const ConfigError& e) {
    throw ConfigError("plugin '" + path + "': " + e.what());
  }

  // Local mode and logs need a name; a plugin that does not choose one is named after its file.
  if (!config.contains(keys::topology_name)) {
    config.set(keys::topology_name, file.stem().string());
  }
  return LoadedPlugin{path, std::move(*topology), std::move(config)};
}

}  // namespace gale::plugin
