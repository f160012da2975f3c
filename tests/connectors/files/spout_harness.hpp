#pragma once

// Drives one FileSpout task directly, without the runtime: the test plays the acker (acks and
// fails by hand) and sees every emit and every reported error.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <gale/builder.hpp>
#include <gale/collector.hpp>
#include <gale/context.hpp>
#include <gale/spouts/file_spout.hpp>
#include <gale/task_layout.hpp>
#include <gale/topology.hpp>

#include "tests/support/support.hpp"

namespace gale::test::files {

struct Emitted {
  std::string stream;  // "" for the default stream
  Values values;
  MessageId id;
};

// Thread: the test's.
class RecordingCollector : public SpoutCollector {
 public:
  void report_error(std::string_view message) override { errors.emplace_back(message); }
  std::size_t pending_count() const override { return 0; }

  std::vector<Emitted> emitted;
  std::vector<std::string> errors;

  // Whether an error containing `text` was reported.
  [[nodiscard]] bool reported(const std::string& text) const {
    for (const std::string& e : errors) {
      if (e.find(text) != std::string::npos) return true;
    }
    return false;
  }

 protected:
  void do_emit(std::string_view stream, Values&& values, const MessageId* id,
               std::int32_t) override {
    emitted.push_back({std::string(stream), std::move(values), id ? *id : MessageId()});
  }
};

// One FileSpout task (task index 0 of 1) opened on `config` ("reader" component).
// Thread: the test's (it plays the executor thread).
class SpoutHarness {
 public:
  explicit SpoutHarness(const Config& config)
      : topology_(build(config)),
        layout_(topology_, 0),
        context_(topology_, layout_, config, layout_.tasks_of("reader").front()),
        spout_(config) {
    spout_.open(context_, out);
  }
  ~SpoutHarness() { spout_.close(); }

  // Calls next_tuple() until `condition` holds; false after 10 s.
  template <class Condition>
  bool pump_until(Condition condition) {
    return wait_until([&] {
      spout_.next_tuple();
      return condition();
    });
  }
  // Calls next_tuple() until `count` tuples in all were emitted.
  bool pump_emitted(std::size_t count) {
    return pump_until([&] { return out.emitted.size() >= count; });
  }

  spouts::FileSpout& spout() { return spout_; }
  RecordingCollector out;

 private:
  static Topology build(const Config& config) {
    TopologyBuilder b;
    b.set_spout("reader", make<spouts::FileSpout>(config), 1);
    return b.build();
  }

  Topology topology_;
  TaskLayout layout_;
  Context context_;
  spouts::FileSpout spout_;
};

}  // namespace gale::test::files
