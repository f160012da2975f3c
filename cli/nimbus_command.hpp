#pragma once

#include <string>
#include <vector>

namespace gale::cli {

// `gale nimbus [options]`: runs the nimbus daemon until SIGINT or SIGTERM. `args` are the words
// after "nimbus". Returns the exit status (0 after a stop by signal). Throws gale::Error
// subclasses and boost::program_options::error for the caller to report as one line.
// REQUIRES: SIGINT and SIGTERM are blocked in every thread (main() blocks them before anything
// starts a thread); they are taken with sigtimedwait as the request to stop.
int run_nimbus(const std::vector<std::string>& args);

// The text of `gale nimbus --help`.
std::string nimbus_help();

}  // namespace gale::cli
