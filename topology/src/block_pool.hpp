#pragma once

// Internal: a pool of equal-sized memory blocks for tuple data. The receiving executor builds each
// input tuple in a block and usually frees it right after execute(), so a thread's own LIFO free
// list hands it the same cache-hot block again. A bolt that keeps tuples may free them on another
// thread, which general-purpose allocators handle poorly (one thread's cache never refills, the
// other's overflows into locked bins), so threads exchange whole chunks of free blocks through a
// mutex-protected stack: one lock per chunk.

#include <cstddef>

#include <gale/export.hpp>

namespace gale::detail {

// Blocks of block_size bytes (max_align_t aligned). Thread-safe; the global free chunks are capped
// and blocks beyond the cap go back to the system allocator.
struct BlockPool {
  static constexpr std::size_t block_size = 288;
  GALE_API static void* allocate();
  GALE_API static void deallocate(void* block) noexcept;
};

}  // namespace gale::detail
