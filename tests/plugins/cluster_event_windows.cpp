// The event-time windows cluster test's topology: two spout tasks emit a fixed set of out-of-order
// events (cluster_event_windows.hpp), paced by the clock, with message ids; two windowed bolts of
// two tasks each, fields-grouped on the key, count each key's events in event-time windows (10 s
// tumbling, and 10 s every 5 s) and emit (key, start, end, count); a sink appends one line per
// window, "tumbling k3 10000 20000 37", and one per late tuple, "late tumbling k3 12345", to
// <test.output.dir>/windows-<task>.txt. Spout tasks append the ids acked and failed to
// <test.output.dir>/acked-<task index>.log and failed-<task index>.log; they do not replay (a
// replay would count an event twice). The same plugin runs in the test kit and on a cluster.
//
// Config: test.output.dir, test.events.per.second (per spout task; 200).

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include <gale/gale.hpp>

#include "cluster_event_windows.hpp"

namespace {

namespace ew = gale::test::event_windows;

// Appends whole lines to a file with O_APPEND, one write each: a reader never sees half a line.
// Thread: its owner's.
class LineFile {
 public:
  LineFile() = default;
  explicit LineFile(const std::string& path)
      : fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644)) {
    if (fd_ < 0) throw std::runtime_error("cannot open " + path);
  }
  ~LineFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  LineFile(const LineFile&) = delete;
  LineFile& operator=(const LineFile&) = delete;
  LineFile& operator=(LineFile&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }

  void append(const std::string& text) {
    const std::string line = text + "\n";
    if (::write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
      throw std::runtime_error("cannot append a line");
    }
  }

 private:
  int fd_ = -1;
};

std::string output_dir(const gale::Context& context) {
  return context.config().get_string("test.output.dir", "/tmp");
}

// Emits its task's events once each, when their time on the clock has come, then one end event per
// key, so that every bolt task that holds a key receives one from this task.
// Thread: all callbacks of one task run on that task's executor thread.
class EventSpout final : public gale::Spout {
 public:
  void declare_outputs(gale::OutputDeclarer& d) override { d.declare({"key", "ts"}); }
  void open(const gale::Context& context, gale::SpoutCollector& out) override {
    context_ = &context;
    out_ = &out;
    task_ = context.task_index();
    per_second_ = context.config().get_int("test.events.per.second", 200);
    opened_ms_ = context.now_ms();
    const std::string suffix = std::to_string(task_) + ".log";
    acked_ = LineFile(output_dir(context) + "/acked-" + suffix);
    failed_ = LineFile(output_dir(context) + "/failed-" + suffix);
  }
  void next_tuple() override {
    const std::int64_t due = (context_->now_ms() - opened_ms_) * per_second_ / 1000 + 1;
    for (int n = 0; n < 50 && next_ < due && next_ < ew::k_events_per_task; ++n, ++next_) {
      const ew::Event e = ew::event(task_, next_);
      out_->emit({e.key, e.ts}, gale::MessageId(next_));
    }
    if (next_ == ew::k_events_per_task && !ended_) {
      // Without a message id: their windows never fire, so their trees would only time out.
      for (const char* key : ew::k_keys) out_->emit({key, ew::k_end_ms});
      ended_ = true;
    }
  }
  void ack(const gale::MessageId& id) override { acked_.append(std::to_string(id.as_int())); }
  void fail(const gale::MessageId& id) override { failed_.append(std::to_string(id.as_int())); }

 private:
  const gale::Context* context_ = nullptr;
  gale::SpoutCollector* out_ = nullptr;
  int task_ = 0;
  std::int64_t per_second_ = 200;
  std::int64_t opened_ms_ = 0;
  std::int64_t next_ = 0;
  bool ended_ = false;
  LineFile acked_;
  LineFile failed_;
};

// Counts each key's events per window of event time. An input task never counts as idle (idle
// timeout 0): a spout task whose worker starts late holds the watermark back instead of finding
// its events late, so the windows do not depend on when the workers start.
// Thread: all callbacks of one task run on that task's executor thread.
class CountBolt final : public gale::WindowedBolt {
 public:
  explicit CountBolt(std::int64_t sliding_ms) {
    with_window(gale::Duration(ew::k_length_ms), gale::Duration(sliding_ms));
    with_timestamp_field("ts");
    with_lag(gale::Duration(ew::k_lag_ms));
    with_idle_timeout(gale::Duration(0));
    with_late_tuple_stream("late");
    with_aggregate(std::make_unique<gale::CountAggregate>(), gale::Fields{"key"});
  }
  void declare_outputs(gale::OutputDeclarer& d) override {
    d.declare({"key", "start", "end", "count"});
  }
  void execute(const gale::TupleWindow& window, gale::BoltCollector& out) override {
    out.emit({window.key()[0], window.start(), window.end(), window.result()});
  }
};

// One line per window or late tuple, named by the bolt it came from.
// Thread: all callbacks of one task run on that task's executor thread.
class WindowSink final : public gale::BasicBolt {
 public:
  void declare_outputs(gale::OutputDeclarer&) override {}
  void prepare(const gale::Context& context) override {
    lines_ =
        LineFile(output_dir(context) + "/windows-" + std::to_string(context.task_id()) + ".txt");
  }
  void execute(const gale::Tuple& input, gale::BasicCollector&) override {
    if (input.source_stream() == "late") {
      lines_.append("late " + input.source_component() + " " +
                    input.get_list("values").at(0).as_string() + " " +
                    std::to_string(input.get_int("timestamp")));
      return;
    }
    lines_.append(input.source_component() + " " + input.get_string("key") + " " +
                  std::to_string(input.get_int("start")) + " " +
                  std::to_string(input.get_int("end")) + " " +
                  std::to_string(input.get_int("count")));
  }

 private:
  LineFile lines_;
};

void build(gale::TopologyBuilder& b, gale::Config& conf) {
  b.set_spout("events", gale::make<EventSpout>(), ew::k_spout_tasks);
  b.set_bolt("tumbling", gale::make<CountBolt>(ew::k_length_ms), 2)
      .fields_grouping("events", {"key"});
  b.set_bolt("sliding", gale::make<CountBolt>(ew::k_sliding_ms), 2)
      .fields_grouping("events", {"key"});
  b.set_bolt("sink", gale::make<WindowSink>(), 2)
      .shuffle_grouping("tumbling")
      .shuffle_grouping("tumbling", "late")
      .shuffle_grouping("sliding")
      .shuffle_grouping("sliding", "late");
  conf.set(gale::keys::topology_workers, 2);
  conf.set(gale::keys::topology_acker_executors, 2);
  // A tree waits for the slowest spout task's watermark: keep a slow worker start from timing
  // it out (a timed-out event would be missing from its windows).
  conf.set(gale::keys::topology_message_timeout_secs, 60);
}

}  // namespace

GALE_TOPOLOGY(build)
