#include "bench/proc.hpp"

#include <malloc.h>
#include <time.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace gale::bench {

double self_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double process_cpu_seconds(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  std::error_code ec;
  double ns = 0;
  bool any = false;
  for (const auto& task : std::filesystem::directory_iterator(dir + "/task", ec)) {
    std::ifstream in(task.path() / "schedstat");
    double on_cpu = 0;
    if (in >> on_cpu) {
      ns += on_cpu;
      any = true;
    }
  }
  if (any) return ns / 1e9;
  // No schedstat (kernel without CONFIG_SCHEDSTATS): utime and stime, fields 14 and 15.
  std::ifstream in(dir + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto paren = text.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(text.substr(paren + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  return (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double machine_busy_seconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  in >> cpu;  // "cpu": the sum over all cores
  double total = 0, idle = 0, value = 0;
  for (int field = 0; field < 8 && in >> value; ++field) {  // user nice system idle iowait ...
    total += value;
    if (field == 3 || field == 4) idle += value;
  }
  return (total - idle) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double status_mb(pid_t pid, std::string_view key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > key.size() && line.compare(0, key.size(), key) == 0 &&
        line[key.size()] == ':') {
      return std::stod(line.substr(key.size() + 1)) * 1024 / 1e6;  // "VmHWM:  1234 kB" (KiB)
    }
  }
  return -1;
}

double heap_bytes() {
  const struct mallinfo2 info = ::mallinfo2();
  return static_cast<double>(info.uordblks + info.hblkhd);
}

std::string format_result(const Figures& figures) {
  std::ostringstream out;
  out.precision(12);
  out << "RESULT";
  for (const auto& [key, value] : figures) out << ' ' << key << '=' << value;
  return out.str();
}

Figures parse_result(std::string_view output) {
  const auto at = output.rfind("RESULT");
  if (at == std::string_view::npos) throw std::runtime_error("the run reported no RESULT line");
  auto end = output.find('\n', at);
  std::istringstream line(std::string(output.substr(
      at + 6, end == std::string_view::npos ? std::string_view::npos : end - at - 6)));
  Figures figures;
  std::string pair;
  while (line >> pair) {
    const auto eq = pair.find('=');
    if (eq == std::string::npos) throw std::runtime_error("bad RESULT pair: " + pair);
    figures[pair.substr(0, eq)] = std::stod(pair.substr(eq + 1));
  }
  return figures;
}

}  // namespace gale::bench
