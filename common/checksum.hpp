#pragma once

// FNV-1a 64: the checksum of Gale's own files and plugins (state files, checkpoint snapshots,
// plugin integrity). Detects damage, not tampering.

#include <cstdint>
#include <string_view>

namespace gale::common {

[[nodiscard]] constexpr std::uint64_t fnv1a64(std::string_view bytes) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

}  // namespace gale::common
