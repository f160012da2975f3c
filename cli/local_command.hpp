#pragma once

#include <string>
#include <vector>

namespace gale::cli {

// `gale local PLUGIN.so [options]`: runs a plugin's topology in this process with live progress.
// `args` are the words after "local". Returns the exit status. Throws gale::Error subclasses
// (PluginError, TopologyError, ConfigError) and boost::program_options::error for the caller to
// report as one line.
// REQUIRES: SIGINT and SIGTERM are blocked in every thread (main() blocks them before anything
// starts a thread); they are taken with sigtimedwait as the request to stop.
int run_local(const std::vector<std::string>& args);

// The text of `gale local --help`.
std::string local_help();

}  // namespace gale::cli
