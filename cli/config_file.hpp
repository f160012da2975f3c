#pragma once

#include <string>

#include <gale/config.hpp>

namespace gale::cli {

// Reads a gale.conf file (Boost.Program_options INI format: `key = value` lines, `#` comments,
// `[section]` headers prefix the keys below them with "section.") and sets every entry in
// `config`, each value parsed with Config::parse_value. Later lines win over earlier ones.
// Throws ConfigError naming the file for an unreadable file or a malformed line.
void load_config_file(const std::string& path, Config& config);

}  // namespace gale::cli
