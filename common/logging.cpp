#include "common/logging.hpp"

#include <cstdlib>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace gale::common {

std::shared_ptr<spdlog::logger> make_logger(const std::string& name, const std::string& file) {
  // One stderr sink for the process: its mutex keeps lines of different loggers whole.
  static auto stderr_sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  std::vector<spdlog::sink_ptr> sinks{stderr_sink};
  if (!file.empty()) {
    sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(file));
  }
  auto logger = std::make_shared<spdlog::logger>(name, sinks.begin(), sinks.end());
  const char* level = std::getenv("GALE_LOG_LEVEL");
  logger->set_level(level != nullptr ? spdlog::level::from_str(level) : spdlog::level::info);
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ [%n] %v");
  // Every line reaches the file at once, so a SIGKILLed daemon loses none. Daemons log no
  // per-tuple lines, so this costs one write per event.
  logger->flush_on(spdlog::level::trace);
  return logger;
}

}  // namespace gale::common
