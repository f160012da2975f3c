#pragma once

#include <cstdint>

namespace gale::worker {

// splitmix64: a fast, well-mixed 64-bit generator for tuple and edge ids and shuffles.
// Not cryptographic; ids only need to be unlikely to collide. Thread: one owner.
class Random {
 public:
  explicit Random(std::uint64_t seed) noexcept : state_(seed) {}
  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // A non-zero id: zero is the XOR identity and would vanish from the acker's sum.
  std::uint64_t next_id() noexcept {
    std::uint64_t v;
    do {
      v = next();
    } while (v == 0);
    return v;
  }
  // Uniform in [0, n), n > 0.
  std::uint32_t below(std::uint32_t n) noexcept {
    return static_cast<std::uint32_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }

 private:
  std::uint64_t state_;
};

}  // namespace gale::worker
