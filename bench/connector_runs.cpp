#include "bench/connector_runs.hpp"

#include <unistd.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <thread>

#include <gale/config.hpp>

#include "bench/topologies.hpp"
#include "worker/worker.hpp"

namespace gale::bench {

std::vector<ConnectorBench> connector_benches() {
  std::vector<ConnectorBench> out;
  // meson defines these for the connectors it built (bench/meson.build).
#ifdef GALE_BENCH_KAFKA
  out.push_back(kafka_bench());
#endif
#ifdef GALE_BENCH_REDIS
  out.push_back(redis_bench());
#endif
  return out;
}

RecordWindow::RecordWindow(std::int64_t warmup_records, std::int64_t records, double timeout_s)
    : warmup_records_(warmup_records),
      records_(records),
      deadline_(std::chrono::steady_clock::now() +
                std::chrono::milliseconds(static_cast<std::int64_t>(timeout_s * 1000))) {
  if (warmup_records < 0 || records <= warmup_records) {
    throw std::invalid_argument("RecordWindow: need 0 <= warm-up records < records");
  }
}

RecordWindow::Mark RecordWindow::mark(std::int64_t done) {
  return {std::chrono::steady_clock::now(), done, self_cpu_seconds(), machine_busy_seconds()};
}

bool RecordWindow::observe(std::int64_t done) {
  if (!start_ && done >= warmup_records_) start_ = mark(done);
  if (start_ && !end_ && done >= records_) end_ = mark(done);
  if (end_) return true;
  if (std::chrono::steady_clock::now() > deadline_) {
    throw std::runtime_error("only " + std::to_string(done) + " of " + std::to_string(records_) +
                             " records done before the run's timeout");
  }
  return false;
}

Figures RecordWindow::figures() const {
  if (!start_ || !end_) {
    throw std::logic_error("RecordWindow::figures() before every record was done");
  }
  const double seconds = std::chrono::duration<double>(end_->at - start_->at).count();
  const double records = static_cast<double>(end_->done - start_->done);
  const double cpu = end_->cpu - start_->cpu;
  const double busy = end_->busy - start_->busy;
  Figures f;
  f["seconds"] = seconds;
  f["records"] = records;
  f["sink_rate"] = seconds > 0 ? records / seconds : 0;
  f["cpu_cores"] = seconds > 0 ? cpu / seconds : 0;
  f["per_cpu_s"] = cpu > 0 ? records / cpu : 0;
  // Not other_cores, which makes the suite measure a run again: the server this run reads from
  // is part of the scenario and keeps a core busy by itself.
  f["other_with_server_cores"] = seconds > 0 ? std::max(0.0, busy - cpu) / seconds : 0;
  return f;
}

Figures run_spout_to_noop(gale::SpoutFactory spout, const ConnectorRunOptions& options) {
  gale::TopologyBuilder builder;
  builder.set_spout(std::string(k_spout), std::move(spout), 1);
  add_noop_sink(builder, std::string(k_spout));
  gale::Config config;
  config.set(gale::keys::topology_name, "bench-connector-" + options.connector);
  // The deployment's id, as gale local gives it: KafkaSpout's earliest strategy needs one.
  config.set(gale::keys::topology_id,
             "bench-connector-" + options.connector + "-" + std::to_string(::getpid()));
  config.set(gale::keys::topology_acker_executors, 1);
  config.set(gale::keys::topology_max_spout_pending, options.max_pending);
  gale::worker::Worker worker(builder.build(), config);
  RecordWindow window(options.warmup_records, options.records, options.timeout_s);
  worker.start();
  auto spout_stats = [&] {
    for (const gale::worker::ComponentStats& c : worker.stats().components) {
      if (c.component == k_spout) return c;
    }
    throw std::runtime_error("the worker reports no stats for the spout");
  };
  // Polled every 5 ms: each end of the window is seen up to 5 ms late, on windows of 0.2 s or
  // more (the two errors mostly cancel). Polling every millisecond cost the run a tenth of its
  // samples in wake-ups, on cores the topology needs.
  while (!window.observe(static_cast<std::int64_t>(spout_stats().acked))) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const gale::worker::ComponentStats last = spout_stats();
  Figures f = window.figures();
  f["failed"] = static_cast<double>(last.failed);
  f["errors"] = static_cast<double>(last.errors);
  worker.stop(std::chrono::milliseconds(500));
  return f;
}

}  // namespace gale::bench
