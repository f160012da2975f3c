#pragma once

#include <cstddef>
#include <cstring>
#include <exception>

#include <gale/builder.hpp>
#include <gale/config.hpp>
#include <gale/version.hpp>

// The entry points a topology plugin exports. GALE_TOPOLOGY(fn) defines both; a plugin never writes
// them by hand. No exception crosses them: a throwing build function becomes an error message.
extern "C" {
// Returns the GALE_ABI_VERSION the plugin was compiled with. Called before anything else.
typedef int (*gale_plugin_abi_version_fn)();
// Calls the plugin's build function. Returns 0 on success; otherwise writes a NUL-terminated message
// of at most `error_capacity` bytes into `error` and returns non-zero.
typedef int (*gale_plugin_build_fn)(gale::TopologyBuilder* builder, gale::Config* config, char* error,
                                    std::size_t error_capacity);
}

namespace gale::detail {

using BuildFunction = void (*)(TopologyBuilder&, Config&);

inline void copy_error(const char* message, char* error, std::size_t capacity) noexcept {
  if (capacity == 0) return;
  std::size_t n = std::strlen(message);
  if (n >= capacity) n = capacity - 1;
  std::memcpy(error, message, n);
  error[n] = '\0';
}

[[nodiscard]] inline int run_build(BuildFunction fn, TopologyBuilder* builder, Config* config, char* error,
                     std::size_t capacity) noexcept {
  try {
    fn(*builder, *config);
    return 0;
  } catch (const std::exception& e) {
    copy_error(e.what(), error, capacity);
  } catch (...) {
    copy_error("the build function threw a non-standard exception", error, capacity);
  }
  return 1;
}

}  // namespace gale::detail

// Exports `fn` (void fn(gale::TopologyBuilder&, gale::Config&)) as the plugin's topology. The
// Config `fn` receives holds the user's topology config (`gale local`'s --config and -c, `gale
// submit`'s -c), so `fn` can read settings its components need when they are made, such as a
// server's address; entries `fn` sets are overridden by the user's.
#define GALE_TOPOLOGY(fn)                                                                       \
  extern "C" __attribute__((visibility("default"))) int gale_plugin_abi_version() {            \
    return GALE_ABI_VERSION;                                                                    \
  }                                                                                             \
  extern "C" __attribute__((visibility("default"))) int gale_plugin_build(                     \
      ::gale::TopologyBuilder* builder, ::gale::Config* config, char* error,                   \
      std::size_t error_capacity) {                                                             \
    return ::gale::detail::run_build(&fn, builder, config, error, error_capacity);             \
  }
