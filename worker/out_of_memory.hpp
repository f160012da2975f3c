#pragma once

// What a worker does when memory runs out. Under a memory limit (the supervisor's RLIMIT_AS for
// topology.worker.memory.limit.mb, docs/cluster.md) a leaking task makes an allocation throw
// std::bad_alloc; failing the tuple and going on would only fail every tuple after it. The
// process logs one line and exits with k_exit_out_of_memory, which the supervisor reports as
// "out of memory" and restarts it for.

#include <exception>
#include <string_view>

namespace spdlog {
class logger;
}

namespace gale::worker {

// The exit status of a process that ran out of memory.
inline constexpr int k_exit_out_of_memory = 6;

// Whether `error` holds a std::bad_alloc.
bool is_out_of_memory(std::exception_ptr error) noexcept;

// Logs "<where>: out of memory; exiting with status 6" as critical, flushes `log` and ends the
// process at once with k_exit_out_of_memory (no destructors: they would need memory too).
// Any thread.
[[noreturn]] void exit_out_of_memory(spdlog::logger& log, std::string_view where) noexcept;

}  // namespace gale::worker
