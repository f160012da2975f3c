#include "cli/config_file.hpp"

#include <fstream>

#include <boost/program_options/errors.hpp>
#include <boost/program_options/options_description.hpp>
#include <boost/program_options/parsers.hpp>

#include <gale/errors.hpp>

namespace gale::cli {

namespace po = boost::program_options;

void load_config_file(const std::string& path, Config& config) {
  std::ifstream in(path);
  if (!in) throw ConfigError("cannot read config file " + path);
  // No option is declared: every key is "unregistered", which keeps the file open to any key a
  // topology or a later Gale version understands. Config::validate() checks the known ones.
  const po::options_description none;
  po::parsed_options parsed(&none);
  try {
    parsed = po::parse_config_file(in, none, /*allow_unregistered=*/true);
  } catch (const po::error& e) {
    throw ConfigError(path + ": " + e.what());
  }
  for (const po::option& option : parsed.options) {
    if (option.value.empty() || option.string_key.empty()) {
      throw ConfigError(path + ": malformed entry '" + option.string_key + "'");
    }
    config.set(option.string_key, Config::parse_value(option.value.back()));
  }
}

}  // namespace gale::cli
