#pragma once

#include <memory>
#include <string>

#include <gale/export.hpp>

namespace spdlog {
class logger;
}

namespace gale::common {

// A logger for one daemon or worker, writing to stderr (and to `file` when not empty). Its level
// comes from GALE_LOG_LEVEL (trace, debug, info, warn, error, off; default info). Loggers are not
// registered globally, so several workers in one process (tests) never clash. Every line is
// flushed as it is logged (a crash loses none), in the one format of every Gale process:
// "2026-01-02 03:04:05.678 info [name] text". Thread: the logger may be used from any thread.
GALE_API std::shared_ptr<spdlog::logger> make_logger(const std::string& name,
                                                     const std::string& file = "");

}  // namespace gale::common
