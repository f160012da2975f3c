#pragma once

// The one way every `gale` command reads its configuration: a base (the plugin's own config for
// `gale local`, else nothing), then a config file, then each `-c key=value`, later winning.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <gale/config.hpp>

namespace boost::program_options {
class variables_map;
}

namespace gale::cli {

// Where a command's configuration comes from.
struct ConfigSources {
  // --config FILE; empty when not given. It must exist when given.
  std::string file;
  // Without --config, read ./gale.conf when it exists (the client verbs and `gale supervisor`;
  // `gale local` and `gale nimbus` read only the file they are given).
  bool default_file = false;
  // Each -c key=value, in the order given.
  std::vector<std::string> overrides;
};

// The file read when `default_file` is set and no --config is given.
inline constexpr const char* k_default_config_file = "gale.conf";

// Receives one warning about a configuration (one line, no trailing newline).
using ConfigWarning = std::function<void(const std::string&)>;

// Logs a warning with spdlog's default logger (stderr in the `gale` command).
void log_config_warning(const std::string& warning);

// `base`, then the config file, then each override, later entries winning over earlier ones.
// A config file holds `key = value` lines (Boost.Program_options INI format, `#` comments,
// `[section]` headers prefix the keys below them with "section."); file and override values are
// parsed with Config::parse_value (integer, double, true/false, null, else a string).
// Throws ConfigError naming the file for an unreadable file or a malformed line, and quoting the
// text of a malformed override. Does not validate the result (Config::validate() does).
// Calls `warn` once for each key of the result (base included) that keys::unknown_key_warning()
// reports, e.g. a misspelt topology.* key: such keys are kept, never refused.
// Thread: any.
Config load_config(const ConfigSources& sources, Config base = {},
                   const ConfigWarning& warn = log_config_warning);

// Sets every entry of config-file text (the format load_config reads from a file) in `config`,
// later lines winning. `origin` names the text in error messages (load_config passes the file's
// path). Throws ConfigError for a malformed line; `config` may then hold the lines before it.
// Thread: any.
void apply_config_text(std::string_view text, std::string_view origin, Config& config);

// The sources named by a command's parsed `--config` and `-c`/`--set` options (either may be
// absent from `vm`). `default_file` as in ConfigSources.
ConfigSources config_sources(const boost::program_options::variables_map& vm, bool default_file);

}  // namespace gale::cli
