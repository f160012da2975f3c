#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gale/config.hpp>
#include <gale/value.hpp>

namespace gale::cli {

// The verbs that talk to nimbus: submit, list, status, kill, activate, deactivate, rebalance.
bool is_client_verb(std::string_view verb);

// Runs one of them; `args` are the words after the verb. Returns the exit status (0 on success).
// Throws boost::program_options::error for bad arguments, ConfigError for a bad config, and
// gale::Error with one line for everything else: an error reply of nimbus (its message as is),
// no reply in time ("nimbus at H:P did not answer within 5 s"), an unreadable plugin file.
int run_client(std::string_view verb, const std::vector<std::string>& args);

// The text of `gale VERB --help`.
std::string client_help(std::string_view verb);

// The nimbus to talk to: `flag` when given, else the config key nimbus.address, else
// 127.0.0.1:6627. Throws gale::Error for an address that is not HOST:PORT.
std::string nimbus_address(const std::optional<std::string>& flag, const Config& config);

// The per-component table of `gale status`, from the `components` map of nimbus's status reply
// (docs/cluster.md): per component its tasks, the emitted, acked, failed and executed counters
// since the topology started (nimbus sums them across worker restarts), the rate of its running
// workers (tuples emitted per second for spouts, executed per second for bolts and ackers) and,
// for spouts with acking on, the complete latency p50/p99 of the worst running worker. Spouts
// first, ackers last. Empty when no worker has reported yet.
std::string component_table(const Map& components);

// "45s", "1m 05s", "2h 03m", "3d 04h".
std::string duration_text(std::int64_t seconds);
// Ascending task ids as ranges: [1, 2, 3, 7] -> "1-3,7".
std::string task_ranges(const std::vector<std::int64_t>& tasks);

}  // namespace gale::cli
