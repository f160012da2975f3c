#include "worker/process/zmq_slot.hpp"

#include <chrono>
#include <optional>
#include <utility>

#include <zmq.hpp>

#include "plugin/loader.hpp"
#include "topology/src/plan.hpp"
#include "transport/zmq_transport.hpp"
#include "worker/process/routes.hpp"

namespace gale::worker {

namespace {

Config merged_config(const plugin::LoadedPlugin& plugin, const Config& file_config) {
  // Nimbus's config already merged the plugin's; merging again keeps keys the file may lack.
  Config config = plugin.config;
  config.merge(file_config);
  return config;
}

transport::ZmqTransportOptions transport_options(const SlotSpec& spec) {
  transport::ZmqTransportOptions options;
  options.host = spec.host;
  options.port = spec.port;
  options.logger = spec.logger;
  // Who this slot is on the wire (docs/cluster.md, "Fencing"): tasks ascending, never empty.
  options.tenure = spec.tenure;
  options.first_task = spec.tasks.empty() ? 0 : spec.tasks.front();
  return options;
}

WorkerOptions worker_options(const SlotSpec& spec, transport::RemoteTransport* remote) {
  WorkerOptions options;
  options.tasks = spec.tasks;
  options.remote = remote;
  options.name = spec.name;
  options.log_file = spec.log_file;
  options.stall_after = std::chrono::milliseconds(1000);
  return options;
}

// Thread: the worker process's owner thread.
class ZmqSlot final : public SlotRuntime {
 public:
  explicit ZmqSlot(const SlotSpec& spec)
      : plugin_(plugin::load_plugin(spec.plugin_path, spec.config)),
        config_(merged_config(plugin_, spec.config)),
        context_(1),
        transport_(context_, transport_options(spec)),
        worker_(plugin_.topology, config_, worker_options(spec, &transport_)) {
    transport_.set_routes(routes_of(spec.assignment), spec.assignment.version);
  }
  ~ZmqSlot() override = default;  // the worker stops before the transport, as it requires

  const Config& config() const override { return config_; }
  std::string endpoint() const override { return transport_.endpoint(); }

  void start() override {
    const detail::Plan& plan = worker_.plan();
    transport_.start([&plan](std::int32_t c, std::int32_t s) { return plan.resolve(c, s); },
                     [this](std::vector<wire::Message>&& m) { worker_.receive(std::move(m)); });
    worker_.start();
  }
  void activate() override { worker_.activate(); }
  void deactivate() override { worker_.deactivate(); }
  void set_routes(const cluster::Assignment& assignment) override {
    transport_.set_routes(routes_of(assignment), assignment.version);
  }
  void fence_spouts() override { worker_.fence_spouts(); }
  std::int64_t newest_peer_version() const override { return transport_.newest_peer_version(); }
  void heartbeat_started() override { heartbeat_started_ = std::chrono::steady_clock::now(); }
  void heartbeat_confirmed() override {
    transport_.heartbeat_done(heartbeat_started_);
    worker_.heartbeat_done(heartbeat_started_);
  }
  WorkerStats stats() const override { return worker_.stats(); }
  std::vector<StuckExecutor> check_progress() override { return worker_.check_progress(); }

  void stop(std::chrono::milliseconds drain, std::chrono::milliseconds flush) override {
    // The transport still carries acks while the worker drains. A peer that died with our batches
    // queued for it must not keep executors blocked in send() past the drain.
    transport_.limit_blocking(std::chrono::steady_clock::now() + drain);
    worker_.stop(drain);
    transport_.stop(flush);
  }

 private:
  // Declaration order is destruction order in reverse: the library outlives every object it
  // created, the context outlives the transport, the transport outlives the worker.
  const plugin::LoadedPlugin plugin_;
  const Config config_;
  zmq::context_t context_;
  transport::ZmqTransport transport_;
  Worker worker_;
  std::chrono::steady_clock::time_point heartbeat_started_{};  // of the heartbeat under way
};

}  // namespace

std::unique_ptr<SlotRuntime> open_zmq_slot(const SlotSpec& spec) {
  return std::make_unique<ZmqSlot>(spec);
}

}  // namespace gale::worker
