#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <gale/gale.hpp>
#include <gale/spouts/file_spout.hpp>
#include <gale/testing.hpp>

#include "tests/connectors/files/files_test_support.hpp"
#include "tests/connectors/files/spout_harness.hpp"
#include "tests/support/support.hpp"

// FileSpout: driven directly (every emit and reported error visible), and through the real
// runtime in local mode with failures downstream.

using namespace gale;
using namespace gale::test::files;
using gale::test::wait_until;

namespace {

Config spout_config(const TempDir& dir, const std::string& source) {
  Config config;
  config.set("files.path", source);
  config.set("files.offsets.dir", dir / "offsets");
  config.set("files.poll.interval.ms", 1);
  config.set("files.commit.interval.ms", 1);
  config.set("files.retry.initial.ms", 1);
  config.set("files.retry.max.ms", 5);
  return config;
}

std::vector<std::string> lines_of(const std::vector<Emitted>& emitted, const std::string& stream) {
  std::vector<std::string> out;
  for (const Emitted& e : emitted) {
    if (e.stream == stream) out.push_back(e.values[0].as_string());
  }
  return out;
}

// What the recording bolt of a local-mode run saw; shared by its tasks.
struct Seen {
  std::mutex mutex;
  std::map<std::int64_t, int> lines;  // line number -> times delivered
  std::vector<std::string> errors;    // reasons of error-stream tuples
};

// Fails a line the first time it sees it when a hash of the line picks it (about 5%), records and
// acks everything else. Fields grouping on the line sends a replay back to the same task.
class FailOnceBolt : public Bolt {
 public:
  explicit FailOnceBolt(std::shared_ptr<Seen> seen) : seen_(std::move(seen)) {}
  void declare_outputs(OutputDeclarer&) override {}
  void execute(const Tuple& input, BoltCollector& out) override {
    const std::string& line = input.get_string(0);
    if (Value(line).hash() % 20 == 0 && failed_.insert(line).second) {
      out.fail(input);
      return;
    }
    {
      std::lock_guard lock(seen_->mutex);
      ++seen_->lines[line_number(line)];
    }
    out.ack(input);
  }

 private:
  std::shared_ptr<Seen> seen_;
  std::set<std::string> failed_;
};

}  // namespace

TEST_SUITE("connector_files") {
  TEST_CASE("FileSpout emits complete lines only, follows appends and picks up new files") {
    TempDir dir;
    std::filesystem::create_directory(dir / "in");
    append_text(dir / "in/a.log", "first\nsecond\nthi");
    SpoutHarness harness(spout_config(dir, dir / "in"));
    REQUIRE(harness.pump_emitted(2));
    for (int i = 0; i < 50; ++i) harness.spout().next_tuple();
    CHECK(lines_of(harness.out.emitted, "") == std::vector<std::string>{"first", "second"});
    // The message id is (file, offset of the line, generation).
    CHECK(harness.out.emitted[1].id == MessageId(List{Value(dir / "in/a.log"), Value(6), Value(0)}));

    append_text(dir / "in/a.log", "rd\n");
    append_numbered_lines(dir / "in/b.log", 0, 2);
    REQUIRE(harness.pump_emitted(5));
    const auto lines = lines_of(harness.out.emitted, "");
    CHECK(std::multiset<std::string>(lines.begin(), lines.end()) ==
          std::multiset<std::string>{"first", "second", "third", "line-0000000", "line-0000001"});
    CHECK(harness.out.errors.empty());
  }

  TEST_CASE("FileSpout re-emits a failed line after its delay, then routes it to the error stream") {
    TempDir dir;
    append_text(dir / "a.log", "flaky\nfine\n");
    Config config = spout_config(dir, dir / "a.log");
    config.set("files.retry.max", 2);
    SpoutHarness harness(config);
    REQUIRE(harness.pump_emitted(2));
    const MessageId flaky = harness.out.emitted[0].id;
    harness.spout().ack(harness.out.emitted[1].id);
    for (int attempt = 1; attempt <= 2; ++attempt) {
      harness.spout().fail(flaky);
      REQUIRE(harness.pump_emitted(2 + attempt));
      CHECK(harness.out.emitted.back().id == flaky);
      CHECK(harness.out.emitted.back().stream.empty());
    }
    harness.spout().fail(flaky);  // retries used up
    REQUIRE(harness.pump_emitted(5));
    const Emitted& error = harness.out.emitted.back();
    CHECK(error.stream == "errors");
    CHECK(error.id == flaky);  // same position: acking it commits past the line
    CHECK(error.values[0] == Value(dir / "a.log:0"));
    CHECK(error.values[1] == Value("flaky"));
    CHECK(error.values[2].as_string().find("failed 3 times") != std::string::npos);

    // Nothing is committed past the line until its error tuple is acked.
    for (int i = 0; i < 20; ++i) harness.spout().next_tuple();
    CHECK(committed_offset(dir / "offsets", "reader", dir / "a.log") == 0);
    harness.spout().ack(flaky);
    CHECK(harness.pump_until(
        [&] { return committed_offset(dir / "offsets", "reader", dir / "a.log") == 11; }));
  }

  TEST_CASE("FileSpout sends a line over files.max.line.bytes to the error stream with a reason") {
    TempDir dir;
    append_text(dir / "a.log", "short\n" + std::string(100, 'x') + "\nafter\n");
    Config config = spout_config(dir, dir / "a.log");
    config.set("files.max.line.bytes", 10);
    SpoutHarness harness(config);
    REQUIRE(harness.pump_emitted(3));
    CHECK(lines_of(harness.out.emitted, "") == std::vector<std::string>{"short", "after"});
    const auto errors = lines_of(harness.out.emitted, "errors");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0] == dir / "a.log:6");
    for (const Emitted& e : harness.out.emitted) {
      if (e.stream != "errors") continue;
      CHECK(e.values[1] == Value(std::string(10, 'x')));
      CHECK(e.values[2].as_string().find("line of 100 bytes is longer than files.max.line.bytes") !=
            std::string::npos);
    }
  }

  TEST_CASE("FileSpout reads a truncated or replaced file again from its beginning") {
    TempDir dir;
    append_text(dir / "a.log", "one\ntwo\n");
    SpoutHarness harness(spout_config(dir, dir / "a.log"));
    REQUIRE(harness.pump_emitted(2));
    const MessageId old_two = harness.out.emitted[1].id;

    std::filesystem::resize_file(dir / "a.log", 0);
    append_text(dir / "a.log", "new\n");
    REQUIRE(harness.pump_emitted(3));
    CHECK(harness.out.emitted[2].values[0] == Value("new"));
    CHECK(harness.out.reported("'" + dir / "a.log" + "' was truncated"));
    // The new line has a new generation, so the old line's ack does not count for it.
    CHECK(harness.out.emitted[2].id == MessageId(List{Value(dir / "a.log"), Value(0), Value(1)}));
    harness.spout().ack(old_two);

    std::filesystem::rename(dir / "a.log", dir / "a.log.1");
    append_text(dir / "a.log", "rotated\n");
    REQUIRE(harness.pump_emitted(4));
    CHECK(harness.out.emitted[3].values[0] == Value("rotated"));
    CHECK(harness.out.reported("'" + dir / "a.log" + "' was replaced by another file"));
  }

  TEST_CASE("FileSpout waits for a missing path, reporting it once, and reads it once it exists") {
    TempDir dir;
    SpoutHarness harness(spout_config(dir, dir / "later"));
    for (int i = 0; i < 20; ++i) harness.spout().next_tuple();
    CHECK(harness.out.reported("cannot read '" + dir / "later" + "': No such file or directory"));
    CHECK(harness.out.errors.size() == 1);
    std::filesystem::create_directory(dir / "later");
    append_numbered_lines(dir / "later/x.log", 0, 3);
    CHECK(harness.pump_emitted(3));
  }

  TEST_CASE("FileSpout reports a damaged offset file and reads its files from the beginning") {
    TempDir dir;
    append_numbered_lines(dir / "a.log", 0, 3);
    std::filesystem::create_directory(dir / "offsets");
    append_text(dir / "offsets/reader.0.offsets", "not an offset file\n");
    SpoutHarness harness(spout_config(dir, dir / "a.log"));
    CHECK(harness.out.reported("offset file '" + dir / "offsets/reader.0.offsets" +
                               "' is damaged"));
    REQUIRE(harness.pump_emitted(3));
    CHECK(harness.out.emitted[0].values[0] == Value("line-0000000"));
    CHECK(std::filesystem::exists(dir / "offsets/reader.0.offsets.damaged"));
  }

  TEST_CASE("FileSpout holds no more lines in flight than topology.max.spout.pending") {
    TempDir dir;
    append_numbered_lines(dir / "a.log", 0, 100);
    Config config = spout_config(dir, dir / "a.log");
    config.set(keys::topology_max_spout_pending, 10);
    SpoutHarness harness(config);
    REQUIRE(harness.pump_emitted(10));
    for (int i = 0; i < 50; ++i) harness.spout().next_tuple();
    CHECK(harness.out.emitted.size() == 10);
    harness.spout().ack(harness.out.emitted[0].id);
    REQUIRE(harness.pump_emitted(11));
    CHECK(harness.out.emitted.size() == 11);
  }

  TEST_CASE("FileSpout: a bad key fails the topology build naming the key") {
    Config config;
    config.set("files.path", "/tmp/x");
    CHECK_THROWS_WITH_AS(spouts::FileSpout{config}, doctest::Contains("'files.offsets.dir'"),
                         ConfigError);
    config.set("files.offsets.dir", "/tmp/o");
    config.set("files.max.line.bytes", 0);
    TopologyBuilder b;
    b.set_spout("reader", make<spouts::FileSpout>(config), 1);
    CHECK_THROWS_WITH_AS(b.build(), doctest::Contains("'files.max.line.bytes'"), TopologyError);
    config.set("files.max.line.bytes", 100);
    config.set("files.pattren", "*.log");
    CHECK_THROWS_WITH_AS(spouts::FileSpout{config}, doctest::Contains("'files.pattern'"),
                         ConfigError);
  }

  TEST_CASE("100,000 lines through FileSpout with 5% failed downstream: all delivered, all committed") {
    constexpr std::int64_t k_lines = 100'000;
    constexpr int k_files = 4;
    TempDir dir;
    std::filesystem::create_directory(dir / "in");
    for (int f = 0; f < k_files; ++f) {
      append_numbered_lines(dir / ("in/part-" + std::to_string(f) + ".log"), f * k_lines / k_files,
                            (f + 1) * k_lines / k_files);
    }
    auto seen = std::make_shared<Seen>();
    Config config = spout_config(dir, dir / "in");
    config.set("files.commit.interval.ms", 20);
    TopologyBuilder b;
    b.set_spout("reader", make<spouts::FileSpout>(config), 2);
    b.set_bolt("flaky", make<FailOnceBolt>(seen), 2).fields_grouping("reader", {"line"});
    testing::RunOptions options;
    options.simulated_time = false;
    options.config.set(keys::topology_max_spout_pending, 2000);
    options.wall_limit = std::chrono::seconds(240);
    testing::TrackedTopology run(b.build(), options);

    const auto all_committed = [&] {
      for (int f = 0; f < k_files; ++f) {
        const std::string file = dir / ("in/part-" + std::to_string(f) + ".log");
        if (committed_offset(dir / "offsets", "reader", file) != file_size(file)) return false;
      }
      return true;
    };
    const auto all_seen = [&] {
      std::lock_guard lock(seen->mutex);
      return static_cast<std::int64_t>(seen->lines.size()) == k_lines;
    };
    CHECK(wait_until([&] { return all_seen() && all_committed(); }, std::chrono::seconds(180)));
    const auto result = run.result();
    run.stop();

    std::lock_guard lock(seen->mutex);
    for (std::int64_t i = 0; i < k_lines; ++i) REQUIRE(seen->lines.count(i) == 1);
    const auto counts = result.counts("reader");
    CHECK(counts.failed > k_lines / 40);  // about 5% were failed and replayed
    CHECK(counts.failed < k_lines / 10);
    CHECK(counts.errors == 0);
    CHECK(result.emitted("reader", "errors").empty());
  }
}
