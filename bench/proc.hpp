#pragma once

// What the benchmark reads about processes: CPU time and memory from /proc, and the figures a
// child run hands back to the suite on its stdout.

#include <sys/types.h>

#include <map>
#include <string>
#include <string_view>

namespace gale::bench {

// CPU seconds (user + system) this process has used, all threads.
double self_cpu_seconds();
// CPU seconds process `pid` has used: the sum over its threads of /proc/<pid>/task/*/schedstat
// (nanoseconds; falls back to utime + stime of /proc/<pid>/stat in clock ticks). -1 when gone.
double process_cpu_seconds(pid_t pid);
// CPU seconds the whole machine has been busy (all cores: /proc/stat less idle and iowait).
// Busy time minus one's own over a window is the load the rest of the machine put on it.
double machine_busy_seconds();
// A "kB" line of /proc/<pid>/status ("VmHWM", "VmRSS") in MB (10^6 bytes), or -1 when unreadable.
double status_mb(pid_t pid, std::string_view key);
// Heap bytes in use per glibc (mallinfo2: in-use arena bytes plus mmapped chunks), all arenas.
double heap_bytes();

// Named numbers a child run reports: one line "RESULT key=value ...".
using Figures = std::map<std::string, double>;
std::string format_result(const Figures& figures);
// The figures of the last RESULT line in `output`; throws std::runtime_error when there is none.
Figures parse_result(std::string_view output);

}  // namespace gale::bench
