#pragma once

// The file through which a supervisor tells a worker what to run:
// D/workers/<port>/assignment.msgpack (docs/cluster.md). Written by the supervisor, read by the
// worker at start.
//
// Encoding: wire::encode_values of one value, a map
//   {assignment: Assignment::to_map(), config: map of the topology config, status: "active" | ...}
// i.e. a msgpack array holding that one map.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <gale/config.hpp>

#include "cluster/protocol.hpp"

namespace gale::worker {
struct TaskRoute;
}

namespace gale::cluster {

struct AssignmentFile {
  Assignment assignment;
  Config config;       // the topology config as nimbus merged it (plugin's, then submit overrides)
  std::string status;  // a status_name()
};

// Writes the file atomically: a temporary file next to it, fsynced, renamed over `path`, and the
// directory fsynced, so a reader sees the old or the new file, never a torn one. Throws
// ProtocolError for an unknown status and gale::Error (with the OS reason) when writing fails.
void write_assignment_file(const std::filesystem::path& path, const Assignment& assignment,
                           const Config& config, std::string_view status);

// Throws gale::Error when the file cannot be read, ProtocolError (prefixed with the path) when it
// is malformed.
AssignmentFile read_assignment_file(const std::filesystem::path& path);

// The file's bytes, as write_assignment_file writes them. Throws ProtocolError for an unknown
// status.
std::string encode_assignment_file(const Assignment& assignment, const Config& config,
                                   std::string_view status);
// Decodes the file's bytes, as read_assignment_file does after reading them. Throws ProtocolError
// when they are malformed; never trusts them.
AssignmentFile decode_assignment_file(std::string_view bytes);

// Config <-> msgpack map, as the file and the control messages carry it.
Map config_to_map(const Config& config);
Config config_from_map(const Map& map);

}  // namespace gale::cluster
