#pragma once

// What the Kafka connector tests share: the mock cluster process (started and killed by pid by
// each test), a plain producer and consumer to fill and read topics, and the group's commits.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gale/topology.hpp>

#include "worker/worker.hpp"

namespace gale::test::kafka {

// The kafka_mock_cluster helper, running. Killed (SIGKILL) and reaped by the destructor, also when
// the test fails, and with the test process however it ends (cluster::spawn_child). Thread: the test's.
class MockCluster {
 public:
  // Starts `brokers` brokers with `topics` (name, partitions) and waits, at most 10 s, for the
  // bootstrap servers line. Throws std::runtime_error when the helper fails to start.
  MockCluster(int brokers, const std::vector<std::pair<std::string, int>>& topics);
  ~MockCluster();
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  const std::string& bootstrap() const noexcept { return bootstrap_; }
  // Sends a command ("down 1", "up 1", "topic NAME P") and waits (10 s at most) for its "ok".
  // Throws std::runtime_error on any other answer.
  void command(const std::string& line);

 private:
  std::string read_line(std::chrono::milliseconds limit);
  void stop() noexcept;  // kills the helper and closes the pipes

  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
  std::string buffered_;
  std::string bootstrap_;
};

struct Record {
  std::string key;
  std::string value;
};

// Produces `records` to `topic` (partition chosen by the key's hash, or at random per record without keys)
// and waits until every one is delivered. Throws std::runtime_error on a delivery failure.
void produce(const std::string& bootstrap, const std::string& topic,
             const std::vector<Record>& records);

// Every record of `topic` (all `partitions`), read from the beginning until `count` arrived or
// `limit` passed.
std::vector<Record> consume(const std::string& bootstrap, const std::string& topic, int partitions,
                            std::size_t count, std::chrono::milliseconds limit);

// The offset committed by `group` per partition of `topic` (-1001 when none), queried from the
// group coordinator (rd_kafka_committed). Throws std::runtime_error when the query fails.
std::vector<std::int64_t> committed(const std::string& bootstrap, const std::string& group,
                                    const std::string& topic, int partitions);
// The end (high watermark) of each partition of `topic`.
std::vector<std::int64_t> end_offsets(const std::string& bootstrap, const std::string& topic,
                                      int partitions);

// Polls `condition` every `interval` until it holds or `limit` passes; returns its last value.
// For conditions that query a broker, which wait_until's 1 ms polling would flood.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds limit,
                std::chrono::milliseconds interval = std::chrono::milliseconds(100)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return condition();
    std::this_thread::sleep_for(interval);
  }
  return true;
}

// A topology running in this process on the real clock (local mode), stopped by the destructor.
class LocalRun {
 public:
  LocalRun(Topology topology, Config config);
  ~LocalRun();
  LocalRun(const LocalRun&) = delete;
  LocalRun& operator=(const LocalRun&) = delete;
  worker::ComponentStats stats(const std::string& component) const;
  // The spouts' recent next_tuple() calls emitted nothing.
  bool spouts_idle() const;
  void stop();

 private:
  std::unique_ptr<worker::Worker> worker_;
};

}  // namespace gale::test::kafka
