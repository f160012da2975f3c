#pragma once

// The file through which a supervisor tells a worker what to run:
// D/workers/<port>/assignment.msgpack (docs/cluster.md). Written by the supervisor, read by the
// worker at start.
//
// Encoding: wire::encode_values of two values, a map and its checksum
//   [{assignment: Assignment::to_map(), config: map of the topology config, status: "active" |
//   ...},
//    checksum]
// i.e. a msgpack array holding the map and a string: cluster::checksum (FNV-1a 64, 16 hex digits)
// of wire::encode_values([map]), the bytes of the map behind a one-element array header. So a
// reader checks the map's own bytes without encoding anything again. A file holding the map alone
// (older writers) is read unchecked.

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
// is malformed or its checksum does not match (the message says which).
AssignmentFile read_assignment_file(const std::filesystem::path& path);

// The file's bytes, as write_assignment_file writes them. Throws ProtocolError for an unknown
// status.
std::string encode_assignment_file(const Assignment& assignment, const Config& config,
                                   std::string_view status);
// Decodes the file's bytes, as read_assignment_file does after reading them. Throws ProtocolError
// when they are malformed or do not match their checksum; never trusts them.
AssignmentFile decode_assignment_file(std::string_view bytes);

// Config <-> msgpack map, as the file and the control messages carry it.
Map config_to_map(const Config& config);
Config config_from_map(const Map& map);

}  // namespace gale::cluster
