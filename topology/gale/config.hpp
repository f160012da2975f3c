#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <gale/export.hpp>
#include <gale/value.hpp>

namespace gale {

// topology.max.spout.pending when acking is on and the key is not set. Storm leaves it unbounded,
// and then a spout fills every queue to its slowest bolt: trees wait there longer than their
// timeout and memory grows with the queues. Set the key to null for that behaviour.
inline constexpr std::int64_t default_max_spout_pending = 1000;

// Configuration keys. Names follow Storm's where the concept is the same.
namespace keys {
// Number of worker processes for a topology in cluster mode. Default 1.
inline constexpr const char* topology_workers = "topology.workers";
// Number of acker tasks. 0 turns acking off: spout tuples are acked as soon as they are emitted.
// Default 1.
inline constexpr const char* topology_acker_executors = "topology.acker.executors";
// The processing guarantee: "at_least_once" (acking trees: every spout tuple is acked once its
// whole tree was processed, and replayed when it fails or times out) or "at_most_once" (no
// acking: spout tuples are acked as soon as they are emitted and never replayed, as with
// topology.acker.executors = 0). Unset: at_least_once with topology.acker.executors ackers (0
// turns acking off). Set, it must agree with topology.acker.executors when that is set too.
inline constexpr const char* topology_processing_guarantee = "topology.processing.guarantee";
// Seconds a spout tuple tree may take before the spout's fail() runs. Default 30.
inline constexpr const char* topology_message_timeout_secs = "topology.message.timeout.secs";
// Whether message timeouts are enforced at all. Default true.
inline constexpr const char* topology_enable_message_timeouts = "topology.enable.message.timeouts";
// Maximum pending (emitted, not yet acked or failed) tuple trees per spout task. Unset: 1000
// (default_max_spout_pending) with acking on; null: unbounded (Storm's default).
inline constexpr const char* topology_max_spout_pending = "topology.max.spout.pending";
// Seconds between tick tuples sent to each task of a bolt. Unset: no ticks. Per component too.
// Gale also takes a fraction of a second (at least 0.001, e.g. 0.1), so that a sink bolt that
// flushes on ticks acks its last inputs soon at low load; Storm takes whole seconds only.
inline constexpr const char* topology_tick_tuple_freq_secs = "topology.tick.tuple.freq.secs";
// Log every emitted tuple (slow; for debugging only). Default false.
inline constexpr const char* topology_debug = "topology.debug";
// Capacity of each executor's input queue, in tuples. Default 16384.
inline constexpr const char* topology_executor_receive_buffer_size =
    "topology.executor.receive.buffer.size";
// Tuples per batch handed from one executor to another. Default 64.
inline constexpr const char* topology_producer_batch_size = "topology.producer.batch.size";
// Milliseconds a spout sleeps when next_tuple emitted nothing or max pending is reached. Default 1.
inline constexpr const char* topology_sleep_spout_wait_strategy_time_ms =
    "topology.sleep.spout.wait.strategy.time.ms";
// Gale: an idle spout's sleep doubles from topology.sleep.spout.wait.strategy.time.ms up to this
// many milliseconds while next_tuple keeps emitting nothing (an idle worker then costs no CPU);
// any emit resets it. Default 100.
inline constexpr const char* topology_spout_wait_max_ms = "topology.spout.wait.max.ms";
// Gale: microseconds an executor whose queue ran empty right after a full batch polls it before
// sleeping (a sleep and wake-up cost far more under load). Light traffic never polls. Default 50.
inline constexpr const char* topology_executor_spin_micros = "topology.executor.spin.micros";
// Gale: true: an executor also polls after rounds that took less than a full batch, whenever it
// had any work. Tuples then rarely wait for a thread to wake up (complete latency falls several
// fold at moderate load) but the executors keep every core busy while any tuples flow. An idle
// worker still sleeps. Default false.
inline constexpr const char* topology_executor_spin_light_load =
    "topology.executor.spin.light.load";
// Gale: seconds an executor may go without progress while it is inside a user call (execute(),
// next_tuple(), ack(), fail()) or has input queued before it counts as stuck: reported (a
// warning, Worker stats, `gale status`) and handled by topology.executor.stuck.policy. Measured
// on the worker's housekeeping (about once a second). 0 or null: not watched. Default 60: twice
// the default message timeout, so a stuck executor has failed every tree through it by then,
// while a slow external call of tens of seconds is not mistaken for a hang.
inline constexpr const char* topology_executor_stuck_secs = "topology.executor.stuck.secs";
// Gale: what a worker does about a stuck executor. "restart" (default): the worker process exits
// with status 5 and its supervisor restarts it like a crash (`gale local` stops with exit status
// 5); "report": only report it. A thread inside user code cannot be stopped, so a restart of the
// process is the only way to get the executor's tasks going again.
inline constexpr const char* topology_executor_stuck_policy = "topology.executor.stuck.policy";
// Cluster mode: megabytes of memory each worker process of the topology may use (Storm's
// topology.worker.max.heap.size.mb); a worker that needs more ends with "out of memory" and its
// supervisor restarts it, before the node's OOM killer picks a victim. Unset: no limit.
inline constexpr const char* topology_worker_memory_limit_mb = "topology.worker.memory.limit.mb";
// The topology's name (set by `gale submit --name`, or the plugin file name in local mode).
inline constexpr const char* topology_name = "topology.name";
// Set by Gale, not by the user: the deployment's id, unique per submission (Storm's topology id).
// Nimbus sets "<name>-<n>-<unix secs>" when the topology is submitted and keeps it with the
// topology, so restarted workers and a restarted nimbus keep it; a topology submitted again gets a
// new one. `gale local` and the test kit set one per run. A value given by the user is replaced.
// Connectors tell one deployment from the next by it (KafkaSpout's commit metadata).
inline constexpr const char* topology_id = "topology.id";

// Unknown keys. topology.*, nimbus.*, supervisor.* and worker.* are Gale's namespaces: besides the
// keys above, Gale reads the cluster keys of nimbus, the supervisor and the worker process (README,
// "Cluster configuration keys"). A key in those namespaces that Gale does not read is most likely
// misspelt; it is still accepted (a topology may keep settings of its own there, as Storm allows),
// but the `gale` command warns about it. Keys in any other namespace are the topology's own and
// never warned about. Thread: any.

// True for a key Gale reads (one of the keys above or a cluster key).
[[nodiscard]] GALE_API bool is_known(std::string_view key) noexcept;
// True for a key in one of Gale's namespaces: "topology.", "nimbus.", "supervisor.", "worker.".
[[nodiscard]] GALE_API bool in_gale_namespace(std::string_view key) noexcept;
// The known key nearest to `key` by edit distance (insertions, deletions, substitutions and
// swaps of adjacent characters), or "" when none is close enough to be a likely misspelling
// (at most 2 edits, or a fifth of the key's length for longer keys). Ties go to the first known key
// in alphabetical order.
[[nodiscard]] GALE_API std::string closest_known(std::string_view key);
// The warning about `key`, or nullopt when `key` is known or outside Gale's namespaces:
//   unknown config key 'topology.max.spout.pendng' (did you mean 'topology.max.spout.pending'?)
// without the parenthesis when no known key is close.
[[nodiscard]] GALE_API std::optional<std::string> unknown_key_warning(std::string_view key);
}  // namespace keys

// A set of configuration entries: string keys to Values.
// Getters return the fallback when a key is absent and throw ConfigError when it holds a value of
// the wrong type. Thread-safety: not synchronised; share only as const.
class GALE_API Config {
 public:
  void set(std::string key, Value value);
  void erase(std::string_view key);
  bool contains(std::string_view key) const;
  // The raw value, or nullptr when absent.
  [[nodiscard]] const Value* find(std::string_view key) const;

  std::int64_t get_int(std::string_view key, std::int64_t fallback) const;
  double get_double(std::string_view key, double fallback) const;
  bool get_bool(std::string_view key, bool fallback) const;
  std::string get_string(std::string_view key, std::string_view fallback) const;

  // Copies every entry of `other` into this config, replacing entries with the same key.
  void merge(const Config& other);

  // Applies "key=value". The value is parsed as an integer, a double, true/false, null, or else
  // kept as a string. Throws ConfigError on text without '=' or with an empty key.
  void set_from_string(std::string_view assignment);
  // Parses one value the way set_from_string does.
  [[nodiscard]] static Value parse_value(std::string_view text);

  // Checks the types and ranges of the known topology.* keys (e.g. topology.workers must be an
  // integer >= 1). Throws ConfigError naming the key, the expectation and the value found.
  void validate() const;

  const std::map<std::string, Value, std::less<>>& entries() const noexcept { return entries_; }

 private:
  std::map<std::string, Value, std::less<>> entries_;
};

}  // namespace gale
