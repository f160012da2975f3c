#include "worker/out_of_memory.hpp"

#include <cstdlib>
#include <new>

#include <spdlog/spdlog.h>

namespace gale::worker {

bool is_out_of_memory(std::exception_ptr error) noexcept {
  if (!error) return false;
  try {
    std::rethrow_exception(error);
  } catch (const std::bad_alloc&) {
    return true;
  } catch (...) {
    return false;
  }
}

void exit_out_of_memory(spdlog::logger& log, std::string_view where) noexcept {
  try {
    log.critical("{}: out of memory; exiting with status {}", where, k_exit_out_of_memory);
    log.flush();
  } catch (...) {
    // Nothing can be logged without memory: the exit status still says it.
  }
  std::_Exit(k_exit_out_of_memory);
}

}  // namespace gale::worker
