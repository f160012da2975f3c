#include "topology/src/block_pool.hpp"

#include <mutex>
#include <vector>

namespace gale::detail {

namespace {

// Blocks a thread hands to or takes from the shared stack at once.
constexpr std::size_t k_chunk = 256;
// Free chunks kept for reuse (256 x 288 B x 256 = 18 MiB at most); more go back to the system.
constexpr std::size_t k_max_chunks = 256;

struct FreeBlock {
  FreeBlock* next;
};

// A list of exactly k_chunk free blocks.
struct Chunk {
  FreeBlock* head = nullptr;
};

void* new_block() { return ::operator new(BlockPool::block_size); }
void delete_block(void* p) noexcept { ::operator delete(p); }

// AddressSanitizer finds use-after-free only in memory it manages: with it, no pooling.
#if !defined(__SANITIZE_ADDRESS__)

// Returns every block of a free list to the system allocator.
void delete_list(FreeBlock* head) noexcept {
  while (head != nullptr) {
    FreeBlock* next = head->next;
    delete_block(head);
    head = next;
  }
}

// The shared stack of free chunks. Thread-safe. Never destroyed: tuples may be freed during static
// destruction.
class SharedFreeList {
 public:
  // A chunk when one is free; an empty chunk otherwise.
  Chunk take() {
    std::lock_guard lock(mutex_);
    if (chunks_.empty()) return {};
    Chunk c = chunks_.back();
    chunks_.pop_back();
    return c;
  }
  void give(Chunk c) {
    {
      std::lock_guard lock(mutex_);
      if (chunks_.size() < k_max_chunks) {
        chunks_.push_back(c);
        return;
      }
    }
    delete_list(c.head);
  }

 private:
  std::mutex mutex_;
  std::vector<Chunk> chunks_;
};

SharedFreeList& shared_free_list() {
  static SharedFreeList* list = new SharedFreeList();  // intentionally leaked, see above
  return *list;
}

// This thread's free blocks: plain data, so that reaching it costs one TLS offset (no guard, no
// call) on the hot path.
struct ThreadCache {
  FreeBlock* head = nullptr;
  std::size_t count = 0;
  bool reaper_armed = false;
  bool dead = false;  // the thread is exiting: blocks go straight to the system allocator
};
thread_local ThreadCache cache __attribute__((tls_model("initial-exec")));

// Returns the thread's free blocks to the system when the thread ends. Constructed on the thread's
// first allocation or free from the pool, so only threads that use the pool pay for it.
struct CacheReaper {
  void arm() noexcept {}
  ~CacheReaper() {
    cache.dead = true;
    delete_list(cache.head);
    cache.head = nullptr;
    cache.count = 0;
  }
};
thread_local CacheReaper reaper;

void arm_reaper(ThreadCache& c) {
  reaper.arm();  // odr-use: constructs the reaper, which registers its destructor
  c.reaper_armed = true;
}

void refill(ThreadCache& c) {
  if (!c.reaper_armed) arm_reaper(c);
  Chunk chunk = shared_free_list().take();
  if (chunk.head == nullptr) {
    for (std::size_t i = 0; i < k_chunk; ++i) {
      auto* b = static_cast<FreeBlock*>(new_block());
      b->next = chunk.head;
      chunk.head = b;
    }
  }
  c.head = chunk.head;
  c.count = k_chunk;
}

// Keeps one chunk in the thread for its next allocations and hands another to the shared list.
void spill(ThreadCache& c) {
  Chunk chunk;
  chunk.head = c.head;
  FreeBlock* last = c.head;
  for (std::size_t i = 1; i < k_chunk; ++i) last = last->next;
  c.head = last->next;
  last->next = nullptr;
  c.count -= k_chunk;
  shared_free_list().give(chunk);
}

#endif  // !__SANITIZE_ADDRESS__

}  // namespace

#if defined(__SANITIZE_ADDRESS__)
void* BlockPool::allocate() { return new_block(); }
void BlockPool::deallocate(void* block) noexcept { delete_block(block); }
#else
void* BlockPool::allocate() {
  ThreadCache& c = cache;
  if (c.head == nullptr) {
    if (c.dead) return new_block();
    refill(c);
  }
  FreeBlock* b = c.head;
  c.head = b->next;
  --c.count;
  return b;
}

void BlockPool::deallocate(void* block) noexcept {
  ThreadCache& c = cache;
  if (c.dead) {
    delete_block(block);
    return;
  }
  if (!c.reaper_armed) arm_reaper(c);
  auto* b = static_cast<FreeBlock*>(block);
  b->next = c.head;
  c.head = b;
  if (++c.count >= 2 * k_chunk) spill(c);
}
#endif

}  // namespace gale::detail
