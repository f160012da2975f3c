// The cluster failure test's topology: spout tasks own the ids i with i % tasks == task index and
// keep a durable log of acked ids under <test.output.dir>, like a replayable source keeps offsets:
// a restarted spout task re-emits exactly the ids not yet acked. Bolts pass ids along and ack.

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <gale/gale.hpp>

namespace {

class DurableIdSpout : public gale::Spout {
 public:
  void declare_outputs(gale::OutputDeclarer& d) override { d.declare({"id"}); }
  void open(const gale::Context& context, gale::SpoutCollector& out) override {
    out_ = &out;
    const std::string dir = context.config().get_string("test.output.dir", "/tmp");
    const auto count = context.config().get_int("test.ids", 1000);
    const auto tasks =
        static_cast<std::int64_t>(context.component_tasks(context.component_id()).size());
    const std::string suffix = std::to_string(context.task_index()) + ".log";
    std::set<std::int64_t> acked;
    std::ifstream log(dir + "/acked-" + suffix);
    for (std::int64_t id; log >> id;) acked.insert(id);
    for (std::int64_t i = count - 1; i >= 0; --i) {
      if (i % tasks == context.task_index() && acked.count(i) == 0) todo_.push_back(i);
    }
    // O_APPEND writes of whole lines: a SIGKILL loses nothing the kernel accepted.
    acked_fd_ = ::open((dir + "/acked-" + suffix).c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    failed_fd_ = ::open((dir + "/failed-" + suffix).c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  }
  void next_tuple() override {
    if (todo_.empty()) return;
    auto id = todo_.back();
    todo_.pop_back();
    out_->emit({id}, gale::MessageId(id));
  }
  void ack(const gale::MessageId& id) override { append(acked_fd_, id.as_int()); }
  void fail(const gale::MessageId& id) override {
    append(failed_fd_, id.as_int());
    todo_.push_back(id.as_int());
  }
  void close() override {
    ::close(acked_fd_);
    ::close(failed_fd_);
  }

 private:
  static void append(int fd, std::int64_t id) {
    std::string line = std::to_string(id) + "\n";
    if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
      throw std::runtime_error("cannot append to the id log");
    }
  }
  gale::SpoutCollector* out_ = nullptr;
  std::vector<std::int64_t> todo_;
  int acked_fd_ = -1;
  int failed_fd_ = -1;
};

class PassBolt : public gale::BasicBolt {
 public:
  void declare_outputs(gale::OutputDeclarer& d) override { d.declare({"id"}); }
  void execute(const gale::Tuple& input, gale::BasicCollector& out) override {
    out.emit({input.get_int(0)});
  }
};

class SinkBolt : public gale::BasicBolt {
 public:
  void declare_outputs(gale::OutputDeclarer&) override {}
  void execute(const gale::Tuple&, gale::BasicCollector&) override {}
};

void build(gale::TopologyBuilder& b, gale::Config& conf) {
  b.set_spout("ids", gale::make<DurableIdSpout>(), 2);
  b.set_bolt("pass", gale::make<PassBolt>(), 4).shuffle_grouping("ids");
  b.set_bolt("sink", gale::make<SinkBolt>(), 2).fields_grouping("pass", {"id"});
  conf.set(gale::keys::topology_workers, 4);
  conf.set(gale::keys::topology_acker_executors, 2);
  conf.set(gale::keys::topology_max_spout_pending, 1000);
  conf.set(gale::keys::topology_message_timeout_secs, 5);
}

}  // namespace

GALE_TOPOLOGY(build)
