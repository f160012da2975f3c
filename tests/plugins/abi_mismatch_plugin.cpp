// A plugin that claims to be built for another Gale ABI. The entry points are written by hand
// (GALE_TOPOLOGY always reports the current ABI). The loader must refuse it before calling build:
// if it did call it, the error would be this build function's, which the test tells apart.
#include <cstddef>
#include <gale/plugin.hpp>

extern "C" __attribute__((visibility("default"))) int gale_plugin_abi_version() { return 999; }

extern "C" __attribute__((visibility("default"))) int gale_plugin_build(
    gale::TopologyBuilder*, gale::Config*, char* error, std::size_t error_capacity) {
  gale::detail::copy_error("the build function of an ABI 999 plugin was called", error,
                           error_capacity);
  return 1;
}
