#pragma once

// The sender stamp in front of every batch a worker sends (docs/wire-format.md, "Sender stamp"):
// the assignment version the sender runs and since which version it runs its tasks, which lets a
// receiver refuse the batches of a superseded worker (docs/cluster.md, "Fencing"). A fixed
// 21-byte binary header, written and read once per ZeroMQ message, never per tuple.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace gale::wire {

struct SenderStamp {
  std::int64_t version = 0;  // the assignment version the sender runs now
  std::int64_t since = 0;    // the version since which it runs its tasks (its tenure); 0: unknown
  std::int32_t task = 0;     // its lowest task: names the sender in the receiver's assignment
  friend bool operator==(const SenderStamp&, const SenderStamp&) = default;
};

// The first byte of a stamp; a message starting with another byte has no stamp of this layout.
inline constexpr std::uint8_t stamp_format = 0xA1;
// format (1 byte), version (int64), since (int64), task (int32), little-endian.
inline constexpr std::size_t stamp_size = 21;

namespace detail_stamp {
template <class T>
void put(char* out, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    out[i] = static_cast<char>(static_cast<std::uint64_t>(v) >> (8 * i));
  }
}
template <class T>
T get(const char* in) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  }
  return static_cast<T>(v);
}
}  // namespace detail_stamp

// Writes `stamp` into the stamp_size bytes at `out`.
inline void write_stamp(const SenderStamp& stamp, char* out) noexcept {
  out[0] = static_cast<char>(stamp_format);
  detail_stamp::put<std::int64_t>(out + 1, stamp.version);
  detail_stamp::put<std::int64_t>(out + 9, stamp.since);
  detail_stamp::put<std::int32_t>(out + 17, stamp.task);
}

// The stamp at the front of `message` (the batch follows it), or nullopt when the message is
// shorter than a stamp or does not start with stamp_format.
inline std::optional<SenderStamp> read_stamp(std::string_view message) noexcept {
  if (message.size() < stamp_size ||
      static_cast<std::uint8_t>(message[0]) != stamp_format) {
    return std::nullopt;
  }
  SenderStamp s;
  s.version = detail_stamp::get<std::int64_t>(message.data() + 1);
  s.since = detail_stamp::get<std::int64_t>(message.data() + 9);
  s.task = detail_stamp::get<std::int32_t>(message.data() + 17);
  return s;
}

}  // namespace gale::wire
