#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <gale/gale.hpp>
#include <gale/spouts/file_spout.hpp>
#include <gale/testing.hpp>

#include "tests/connectors/files/files_test_support.hpp"
#include "tests/support/support.hpp"

// FileSpout across runs of its topology: a clean restart and a killed process.

using namespace gale;
using namespace gale::test::files;
using gale::test::wait_until;

namespace {

constexpr std::int64_t k_line_bytes = 13;  // "line-0000042\n"

Config spout_config(const std::string& dir) {
  Config config;
  config.set("files.path", dir + "/in.log");
  config.set("files.offsets.dir", dir + "/offsets");
  config.set("files.poll.interval.ms", 5);
  config.set("files.commit.interval.ms", 10);
  return config;
}

// Line number -> times delivered, across the tasks of one run.
struct Delivered {
  std::mutex mutex;
  std::map<std::int64_t, int> lines;
  int count(std::int64_t from, std::int64_t to) {
    std::lock_guard lock(mutex);
    int n = 0;
    for (auto it = lines.lower_bound(from); it != lines.end() && it->first < to; ++it) ++n;
    return n;
  }
};

class RecordingBolt : public Bolt {
 public:
  explicit RecordingBolt(std::shared_ptr<Delivered> delivered) : delivered_(std::move(delivered)) {}
  void declare_outputs(OutputDeclarer&) override {}
  void execute(const Tuple& input, BoltCollector& out) override {
    {
      std::lock_guard lock(delivered_->mutex);
      ++delivered_->lines[line_number(input.get_string(0))];
    }
    out.ack(input);
  }

 private:
  std::shared_ptr<Delivered> delivered_;
};

// Appends each line to a file (one write, before the ack) and takes its time, so that the run is
// still going when the test kills it.
class SlowFileRecordingBolt : public Bolt {
 public:
  explicit SlowFileRecordingBolt(std::string path) : path_(std::move(path)) {}
  void declare_outputs(OutputDeclarer&) override {}
  void prepare(const Context&, BoltCollector&) override {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  }
  void execute(const Tuple& input, BoltCollector& out) override {
    const std::string line = input.get_string(0) + '\n';
    if (::write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
      out.fail(input);
      return;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
    out.ack(input);
  }

 private:
  std::string path_;
  int fd_ = -1;
};

testing::RunOptions real_time() {
  testing::RunOptions options;
  options.simulated_time = false;
  options.wall_limit = std::chrono::seconds(120);
  return options;
}

Topology recording_topology(const std::string& dir, std::shared_ptr<Delivered> delivered) {
  TopologyBuilder b;
  b.set_spout("reader", make<spouts::FileSpout>(spout_config(dir)), 1);
  b.set_bolt("record", make<RecordingBolt>(std::move(delivered)), 2).shuffle_grouping("reader");
  return b.build();
}

// A child process, SIGKILLed and reaped when the object goes, also when the test fails.
// Thread: the test's.
class Child {
 public:
  explicit Child(pid_t pid) : pid_(pid) {}
  ~Child() { kill(); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  [[nodiscard]] bool running() const { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }

 private:
  pid_t pid_;
};

Child start_killable_topology(const std::string& dir) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::execl("/proc/self/exe", "gale_connector_files_tests", "--killable-topology", dir.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return Child(pid);
}

}  // namespace

namespace gale::test::files {

int run_killable_topology(const std::string& dir) {
  TopologyBuilder b;
  b.set_spout("reader", make<spouts::FileSpout>(spout_config(dir)), 1);
  b.set_bolt("record", make<SlowFileRecordingBolt>(dir + "/seen"), 1).shuffle_grouping("reader");
  testing::RunOptions options = real_time();
  options.config.set(keys::topology_max_spout_pending, 200);
  testing::TrackedTopology run(b.build(), options);
  for (;;) ::pause();  // until the test kills this process
}

}  // namespace gale::test::files

TEST_SUITE("connector_files") {
  TEST_CASE("FileSpout restarted after more lines were appended emits only the new ones") {
    TempDir dir;
    const std::string file = dir / "in.log";
    append_numbered_lines(file, 0, 10'000);
    auto first = std::make_shared<Delivered>();
    {
      testing::TrackedTopology run(recording_topology(dir.path(), first), real_time());
      REQUIRE(wait_until([&] {
        return first->count(0, 10'000) == 10'000 &&
               committed_offset(dir / "offsets", "reader", file) == file_size(file);
      }));
    }
    append_numbered_lines(file, 10'000, 15'000);
    auto second = std::make_shared<Delivered>();
    testing::TrackedTopology run(recording_topology(dir.path(), second), real_time());
    CHECK(wait_until([&] {
      return second->count(10'000, 15'000) == 5'000 &&
             committed_offset(dir / "offsets", "reader", file) == file_size(file);
    }));
    run.stop();
    // Everything of the first run was acked and committed before it stopped: nothing old again.
    CHECK(second->count(0, 10'000) == 0);
  }

  TEST_CASE("FileSpout in a killed process loses nothing: the next run resumes at the commit") {
    constexpr std::int64_t k_lines = 50'000;
    TempDir dir;
    const std::string file = dir / "in.log";
    append_numbered_lines(file, 0, k_lines);
    std::int64_t committed_at_kill = 0;
    {
      Child child = start_killable_topology(dir.path());
      REQUIRE(wait_until(
          [&] { return committed_offset(dir / "offsets", "reader", file) >= k_lines / 10 * k_line_bytes; },
          std::chrono::seconds(60)));
      REQUIRE(child.running());
      child.kill();
      committed_at_kill = committed_offset(dir / "offsets", "reader", file);
    }
    // Killed mid-run: the run had not got through the file.
    REQUIRE(committed_at_kill < file_size(file));
    REQUIRE(committed_at_kill % k_line_bytes == 0);
    const std::int64_t first_uncommitted = committed_at_kill / k_line_bytes;

    auto second = std::make_shared<Delivered>();
    testing::TrackedTopology run(recording_topology(dir.path(), second), real_time());
    CHECK(wait_until([&] {
      return committed_offset(dir / "offsets", "reader", file) == file_size(file);
    }, std::chrono::seconds(60)));
    run.stop();

    // The second run started at the commit: no committed line again, every later one.
    CHECK(second->count(0, first_uncommitted) == 0);
    CHECK(second->count(first_uncommitted, k_lines) == k_lines - first_uncommitted);
    // And with what the killed run delivered, every line was delivered at least once.
    std::map<std::int64_t, int> all = second->lines;
    for (const std::string& line : read_lines(dir / "seen")) ++all[line_number(line)];
    for (std::int64_t i = 0; i < k_lines; ++i) REQUIRE(all.count(i) == 1);
  }
}
