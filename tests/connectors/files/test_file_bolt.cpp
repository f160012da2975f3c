#include <doctest/doctest.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gale/bolts/file_bolt.hpp>
#include <gale/gale.hpp>
#include <gale/spouts/fixed_tuple_spout.hpp>
#include <gale/testing.hpp>

#include "bolts/files/line_format.hpp"
#include "tests/connectors/files/files_test_support.hpp"

// FileBolt on the runtime with simulated time: ticks come only when the test moves time.

using namespace gale;
using namespace gale::test::files;

namespace {

std::vector<Values> word_counts() {
  return {{"cow", 1}, {"moon", 2}, {"apple", 3}, {"day", 4}, {"snow", 5}};
}

Topology sink_topology(const Config& bolt_config) {
  TopologyBuilder b;
  b.set_spout("words", make<spouts::FixedTupleSpout>(Fields{"word", "count"}, word_counts()), 1);
  b.set_bolt("sink", make<bolts::FileBolt>(bolt_config), 1).shuffle_grouping("words");
  return b.build();
}

// Emits word_counts() once each, reliably, and never replays: a failed tuple stays failed.
class OnceSpout : public Spout {
 public:
  void declare_outputs(OutputDeclarer& d) override { d.declare({"word", "count"}); }
  void open(const Context&, SpoutCollector& out) override { out_ = &out; }
  void next_tuple() override {
    if (next_ < word_counts().size()) {
      out_->emit(word_counts()[next_], MessageId(static_cast<std::int64_t>(next_)));
      ++next_;
    }
  }

 private:
  SpoutCollector* out_ = nullptr;
  std::size_t next_ = 0;
};

// Formats each input with `format` as FileBolt does, keeping what it throws (during the run: a
// tuple's content lives as long as the run).
struct Formatted {
  std::mutex mutex;
  std::vector<std::string> errors;
  std::string lines;
};
class FormattingBolt : public Bolt {
 public:
  FormattingBolt(std::string format, std::shared_ptr<Formatted> formatted)
      : format_(std::move(format)), formatted_(std::move(formatted)) {}
  void declare_outputs(OutputDeclarer&) override {}
  void execute(const Tuple& input, BoltCollector& out) override {
    std::lock_guard lock(formatted_->mutex);
    try {
      bolts::files::LineFormat::from_template(format_).append(input, formatted_->lines);
    } catch (const std::invalid_argument& e) {
      formatted_->errors.emplace_back(e.what());
    }
    out.ack(input);
  }

 private:
  std::string format_;
  std::shared_ptr<Formatted> formatted_;
};

}  // namespace

TEST_SUITE("connector_files") {
  TEST_CASE("FileBolt writes lines as formatted and acks them only after the flush on a tick") {
    TempDir dir;
    Config config;
    config.set("files.path", dir / "out.txt");
    config.set("files.format", "{word}={count} {{ok}}");
    config.set("files.batch.size", 100);
    testing::TrackedTopology run(sink_topology(config));
    run.wait_idle();
    CHECK(read_lines(dir / "out.txt").empty());
    CHECK(run.result().counts("words").acked == 0);  // buffered, not yet durable
    CHECK(run.result().counts("sink").executed == 5);

    run.advance_time(std::chrono::seconds(1));  // the tick flushes
    CHECK(read_lines(dir / "out.txt") ==
          std::vector<std::string>{"cow=1 {ok}", "moon=2 {ok}", "apple=3 {ok}", "day=4 {ok}",
                                   "snow=5 {ok}"});
    CHECK(run.result().counts("words").acked == 5);
  }

  TEST_CASE("FileBolt writes a full batch at once, fields joined by the delimiter") {
    TempDir dir;
    Config config;
    config.set("files.path", dir / "out-{task}.txt");
    config.set("files.fields", "count,word");
    config.set("files.delimiter", ",");
    config.set("files.batch.size", 5);
    testing::TrackedTopology run(sink_topology(config));
    run.wait_idle();
    CHECK(run.result().counts("words").acked == 5);
    CHECK(read_lines(dir / "out-0.txt") ==
          std::vector<std::string>{"1,cow", "2,moon", "3,apple", "4,day", "5,snow"});
  }

  TEST_CASE("FileBolt fails the inputs and reports when the file cannot be written, then recovers") {
    TempDir dir;
    Config config;
    config.set("files.path", dir / "missing-dir/out.txt");
    config.set("files.batch.size", 100);
    testing::TrackedTopology run(sink_topology(config));
    run.wait_idle();
    run.advance_time(std::chrono::seconds(1));
    auto counts = run.result().counts("sink");
    CHECK(counts.failed == 5);
    CHECK(counts.errors >= 1);
    CHECK(run.result().counts("words").acked == 0);
    CHECK(run.result().counts("words").failed == 5);

    // The spout replays the failed tuples; once the directory exists they land.
    std::filesystem::create_directory(dir / "missing-dir");
    run.advance_time(std::chrono::seconds(1));
    CHECK(run.result().counts("words").acked == 5);
    CHECK(read_lines(dir / "missing-dir/out.txt").size() == 5);
  }

  TEST_CASE("FileBolt fails a tuple that lacks a field of the format, naming the field and tuple") {
    TempDir dir;
    Config config;
    config.set("files.path", dir / "out.txt");
    config.set("files.format", "{word} {colour}");
    TopologyBuilder once;
    once.set_spout("words", make<OnceSpout>(), 1);
    once.set_bolt("sink", make<bolts::FileBolt>(config), 1).shuffle_grouping("words");
    testing::TrackedTopology run(once.build());
    run.wait_idle();
    const auto counts = run.result().counts("sink");
    CHECK(counts.failed == 5);
    CHECK(counts.errors == 5);
    CHECK(run.result().counts("words").failed == 5);
    run.advance_time(std::chrono::seconds(1));
    CHECK(read_lines(dir / "out.txt").empty());

    // The message the bolt reports, from the format it uses.
    auto formatted = std::make_shared<Formatted>();
    TopologyBuilder b;
    b.set_spout("words", make<OnceSpout>(), 1);
    b.set_bolt("format", make<FormattingBolt>("{word} {colour}", formatted), 1)
        .shuffle_grouping("words");
    (void)testing::complete_topology(b.build());
    std::lock_guard lock(formatted->mutex);
    REQUIRE(formatted->errors.size() == 5);
    CHECK(formatted->errors[0] ==
          "tuple words:default:2 [\"cow\", 1] has no field 'colour' (fields [word, count])");
    CHECK(formatted->lines.empty());  // nothing half written
  }

  TEST_CASE("FileBolt: invalid config fails the topology build naming the key") {
    Config config;
    CHECK_THROWS_WITH_AS((void)sink_topology(config), doctest::Contains("'files.path'"),
                         TopologyError);
    config.set("files.path", "/tmp/out.txt");
    config.set("files.format", "{word");
    CHECK_THROWS_WITH_AS((void)sink_topology(config), doctest::Contains("'files.format'"),
                         TopologyError);
    config.set("files.format", "{word}");
    config.set("files.batch.size", 0);
    CHECK_THROWS_WITH_AS((void)sink_topology(config), doctest::Contains("'files.batch.size'"),
                         TopologyError);
    config.set("files.batch.size", 10);
    config.set("files.fsycn", true);
    CHECK_THROWS_WITH_AS((void)sink_topology(config), doctest::Contains("'files.fsync'"),
                         TopologyError);
  }
}
