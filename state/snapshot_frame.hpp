#pragma once

// How a snapshot is laid out in a file or a store value: "GALESNAP", a format version, the
// payload's length and FNV-1a 64 checksum (little-endian 64-bit each), then the payload. A frame
// that was cut short, grew, or changed reads as damaged instead of as another state.

#include <string>
#include <string_view>

#include <gale/export.hpp>

namespace gale::state {

[[nodiscard]] GALE_API std::string frame_snapshot(std::string_view payload);

// The payload of a frame; throws CheckpointError("<what> is damaged: <why>") when it is not one
// whole, unchanged frame.
[[nodiscard]] GALE_API std::string unframe_snapshot(std::string_view frame, std::string_view what);

}  // namespace gale::state
