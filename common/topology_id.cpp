#include "common/topology_id.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>

namespace gale::common {

std::string local_topology_id(std::string_view name) {
  static std::atomic<std::int64_t> runs{0};
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  return std::string(name) + "-local-" + std::to_string(::getpid()) + "-" + std::to_string(++runs) +
         "-" + std::to_string(secs);
}

}  // namespace gale::common
