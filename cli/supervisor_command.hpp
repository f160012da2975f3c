#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gale::cli {

// `gale supervisor [options]`: runs the supervisor daemon until SIGINT or SIGTERM, then stops its
// workers and returns 0. `args` are the words after "supervisor". Throws gale::Error subclasses
// and boost::program_options::error for the caller to report as one line.
// REQUIRES: SIGINT and SIGTERM are blocked in every thread (main() blocks them before anything
// starts a thread); they are taken with sigtimedwait as the request to stop.
int run_supervisor(const std::vector<std::string>& args);

// The text of `gale supervisor --help`.
std::string supervisor_help();

// "6700,6701" -> {6700, 6701}. Throws boost::program_options::error for anything but a
// comma-separated list of distinct ports 1..65535.
std::vector<std::int64_t> parse_ports(const std::string& text);

}  // namespace gale::cli
