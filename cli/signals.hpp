#pragma once

#include <signal.h>

#include <chrono>

namespace gale::cli {

// SIGINT and SIGTERM: the signals that stop a command. main() blocks them before any thread
// exists; each command waits for them with wait_for_signal().
sigset_t stop_signals();

// Waits until `deadline` or until one of `signals` (blocked by the caller) arrives. Returns the
// signal, or 0 on time. Looks for a pending signal even when the deadline has already passed, so a
// caller whose work took the whole period is never deaf to SIGTERM.
int wait_for_signal(const sigset_t& signals, std::chrono::steady_clock::time_point deadline);

}  // namespace gale::cli
