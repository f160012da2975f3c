#include "cli/config_file.hpp"

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include <boost/program_options/errors.hpp>
#include <boost/program_options/options_description.hpp>
#include <boost/program_options/parsers.hpp>
#include <boost/program_options/variables_map.hpp>
#include <spdlog/spdlog.h>

#include <gale/errors.hpp>

namespace gale::cli {

namespace po = boost::program_options;

namespace {

// Sets every entry of the config file read from `in` in `config`; `origin` names it in errors.
void read_config_stream(std::istream& in, std::string_view origin, Config& config) {
  // No option is declared: every key is "unregistered", which keeps the file open to any key a
  // topology or a later Gale version understands. Config::validate() checks the known ones;
  // load_config warns about unknown keys in Gale's namespaces.
  const po::options_description none;
  po::parsed_options parsed(&none);
  try {
    parsed = po::parse_config_file(in, none, /*allow_unregistered=*/true);
  } catch (const po::invalid_config_file_syntax& e) {
    // Not e.what(): boost (1.74) fills "%invalid_line%" in its message with the line itself in a
    // loop that never ends when the line contains that placeholder (found by fuzz_config).
    const char* what = e.kind() == po::invalid_syntax::unrecognized_line
                           ? "a line is neither 'key = value' nor a [section]"
                           : "a malformed line";
    throw ConfigError(std::string(origin) + ": " + what);
  } catch (const po::error& e) {
    throw ConfigError(std::string(origin) + ": " + e.what());
  }
  for (const po::option& option : parsed.options) {
    if (option.value.empty() || option.string_key.empty()) {
      throw ConfigError(std::string(origin) + ": malformed entry '" + option.string_key + "'");
    }
    config.set(option.string_key, Config::parse_value(option.value.back()));
  }
}

// Sets every entry of the file at `path` in `config`, later lines winning.
void read_config_file(const std::string& path, Config& config) {
  std::ifstream in(path);
  if (!in) throw ConfigError("cannot read config file " + path);
  read_config_stream(in, path, config);
}

}  // namespace

void apply_config_text(std::string_view text, std::string_view origin, Config& config) {
  std::istringstream in{std::string(text)};
  read_config_stream(in, origin, config);
}

Config load_config(const ConfigSources& sources, Config base, const ConfigWarning& warn) {
  if (!sources.file.empty()) {
    read_config_file(sources.file, base);
  } else if (sources.default_file) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(k_default_config_file, ec)) {
      read_config_file(k_default_config_file, base);
    }
  }
  for (const std::string& assignment : sources.overrides) base.set_from_string(assignment);
  // entries() is a map: each key once.
  for (const auto& [key, value] : base.entries()) {
    if (std::optional<std::string> warning = keys::unknown_key_warning(key)) warn(*warning);
  }
  return base;
}

void log_config_warning(const std::string& warning) { spdlog::warn("{}", warning); }

ConfigSources config_sources(const po::variables_map& vm, bool default_file) {
  ConfigSources sources;
  sources.default_file = default_file;
  if (vm.count("config")) sources.file = vm["config"].as<std::string>();
  if (vm.count("set")) sources.overrides = vm["set"].as<std::vector<std::string>>();
  return sources;
}

}  // namespace gale::cli
