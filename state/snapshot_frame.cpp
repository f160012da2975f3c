#include "state/snapshot_frame.hpp"

#include <cstdint>

#include "common/checksum.hpp"
#include "state/checkpoint_store.hpp"

namespace gale::state {

namespace {

constexpr std::string_view k_magic = "GALESNAP";
constexpr std::uint64_t k_version = 1;
constexpr std::size_t k_header = k_magic.size() + 3 * sizeof(std::uint64_t);

void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint64_t get_u64(std::string_view in, std::size_t at) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v |=
        static_cast<std::uint64_t>(static_cast<unsigned char>(in[at + static_cast<std::size_t>(i)]))
        << (8 * i);
  }
  return v;
}

[[noreturn]] void damaged(std::string_view what, const std::string& why) {
  throw CheckpointError(std::string(what) + " is damaged: " + why);
}

}  // namespace

std::string frame_snapshot(std::string_view payload) {
  std::string out;
  out.reserve(k_header + payload.size());
  out.append(k_magic);
  put_u64(out, k_version);
  put_u64(out, payload.size());
  put_u64(out, common::fnv1a64(payload));
  out.append(payload);
  return out;
}

std::string unframe_snapshot(std::string_view frame, std::string_view what) {
  if (frame.size() < k_header || frame.substr(0, k_magic.size()) != k_magic) {
    damaged(what, "not a Gale snapshot (" + std::to_string(frame.size()) + " bytes)");
  }
  const std::uint64_t version = get_u64(frame, k_magic.size());
  if (version != k_version) {
    damaged(what, "snapshot format " + std::to_string(version) + ", this build reads " +
                      std::to_string(k_version));
  }
  const std::uint64_t length = get_u64(frame, k_magic.size() + 8);
  if (length != frame.size() - k_header) {
    damaged(what, "it holds " + std::to_string(frame.size() - k_header) +
                      " bytes of state, its header says " + std::to_string(length));
  }
  const std::string_view payload = frame.substr(k_header);
  if (common::fnv1a64(payload) != get_u64(frame, k_magic.size() + 16)) {
    damaged(what, "checksum mismatch");
  }
  return std::string(payload);
}

}  // namespace gale::state
