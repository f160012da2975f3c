#include "cli/report.hpp"

#include <algorithm>
#include <cstdio>
#include <set>
#include <string>

namespace gale::cli {

namespace {

bool is_user_bolt(const worker::ComponentStats& c) { return !c.is_spout && !c.is_acker; }

std::string format(const char* fmt, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, fmt, value);
  return buffer;
}

std::string human_rate(double per_second) {
  if (per_second < 0) per_second = 0;
  return human_count(static_cast<std::uint64_t>(per_second + 0.5));
}

std::string latency_ms(double ms) {
  if (ms < 10) return format("%.2f ms", ms);
  if (ms < 100) return format("%.1f ms", ms);
  return format("%.0f ms", ms);
}

std::string pad(std::string text, std::size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

}  // namespace

std::vector<std::string> display_order(const Topology& topology) {
  std::vector<std::string> order;
  std::set<std::string, std::less<>> placed;
  for (const auto& c : topology.components()) {
    if (c.kind == ComponentKind::spout) {
      order.push_back(c.id);
      placed.insert(c.id);
    }
  }
  // Repeatedly place every bolt whose sources are all placed; components() is sorted by id.
  for (bool progress = true; progress;) {
    progress = false;
    for (const auto& c : topology.components()) {
      if (placed.count(c.id) > 0) continue;
      const bool ready = std::all_of(c.inputs.begin(), c.inputs.end(), [&](const auto& input) {
        return placed.count(input.component) > 0 || input.component == c.id;
      });
      if (ready) {
        order.push_back(c.id);
        placed.insert(c.id);
        progress = true;
      }
    }
  }
  for (const auto& c : topology.components()) {
    if (placed.count(c.id) == 0) order.push_back(c.id);  // on a cycle
  }
  return order;
}

void sort_for_display(worker::WorkerStats& stats, const std::vector<std::string>& order) {
  auto rank = [&](const worker::ComponentStats& c) {
    return static_cast<std::size_t>(std::find(order.begin(), order.end(), c.component) -
                                    order.begin());
  };
  std::stable_sort(stats.components.begin(), stats.components.end(),
                   [&](const auto& a, const auto& b) { return rank(a) < rank(b); });
}

std::string human_count(std::uint64_t n) {
  if (n < 1000) return std::to_string(n);
  static constexpr const char* suffixes[] = {"k", "M", "G", "T", "P", "E"};
  double value = static_cast<double>(n);
  int unit = -1;
  while (value >= 999.5 && unit < 5) {
    value /= 1000;
    ++unit;
  }
  // Three significant digits: 1.20M, 12.0M, 120M.
  const char* fmt = value < 9.995 ? "%.2f" : value < 99.95 ? "%.1f" : "%.0f";
  return format(fmt, value) + suffixes[unit];
}

std::uint64_t processed_tuples(const worker::WorkerStats& stats) {
  std::uint64_t executed = 0;
  std::uint64_t emitted = 0;
  bool has_bolt = false;
  for (const auto& c : stats.components) {
    if (c.is_spout) emitted += c.emitted;
    if (is_user_bolt(c)) {
      has_bolt = true;
      executed += c.executed;
    }
  }
  return has_bolt ? executed : emitted;
}

std::string progress_line(const worker::WorkerStats& now, const worker::WorkerStats& before,
                          double elapsed_s, double interval_s) {
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "[%3.0fs]", elapsed_s);
  std::string line = stamp;
  bool first = true;
  for (const auto& c : now.components) {
    if (c.is_acker) continue;
    line += first ? " " : " | ";
    first = false;
    line += c.component + ":";
    if (c.is_spout) {
      line += " emitted " + human_count(c.emitted) + " acked " + human_count(c.acked) +
              " failed " + human_count(c.failed) + " pending " + human_count(c.pending);
    } else {
      line += " exec " + human_count(c.executed);
      if (c.failed > 0) line += " failed " + human_count(c.failed);
    }
    if (c.errors > 0) line += " errors " + human_count(c.errors);
  }
  const std::uint64_t processed = processed_tuples(now);
  const std::uint64_t previous = processed_tuples(before);
  const double rate =
      interval_s > 0 && processed >= previous ? (processed - previous) / interval_s : 0;
  line += " | " + human_rate(rate) + " tuples/s";
  for (const auto& stuck : now.stuck) {
    line += " | STUCK " + stuck.kind + " '" + stuck.component + "' " +
            (stuck.tasks.size() == 1 ? "task" : "tasks");
    for (std::size_t i = 0; i < stuck.tasks.size(); ++i) {
      line += (i == 0 ? " " : ",") + std::to_string(stuck.tasks[i]);
    }
    line += " " + std::to_string(stuck.secs) + "s";
  }
  return line;
}

std::string summary(const worker::WorkerStats& stats, double elapsed_s, std::string_view why) {
  std::string out = format("summary: ran %.1fs", elapsed_s) + " (" + std::string(why) + ")\n";
  std::size_t name_width = 0;
  for (const auto& c : stats.components) {
    if (!c.is_acker) name_width = std::max(name_width, c.component.size());
  }
  const std::string indent(2 + name_width + 2, ' ');
  std::uint64_t failed_trees = 0;
  std::uint64_t timed_out = 0;
  for (const auto& c : stats.components) {
    if (c.is_acker) continue;
    const std::string tasks = std::to_string(c.tasks) + (c.tasks == 1 ? " task " : " tasks");
    out += "  " + pad(c.component, name_width) + "  " + (c.is_spout ? "spout " : "bolt  ") +
           pad(tasks, 9);
    if (c.is_spout) {
      failed_trees += c.failed;
      timed_out += c.timed_out;
      out += "  emitted " + std::to_string(c.emitted) + "  acked " + std::to_string(c.acked) +
             "  failed " + std::to_string(c.failed);
      if (c.timed_out > 0) out += " (" + std::to_string(c.timed_out) + " timed out)";
      if (c.pending > 0) out += "  still pending " + std::to_string(c.pending);
    } else {
      out += "  executed " + std::to_string(c.executed) + "  emitted " + std::to_string(c.emitted) +
             "  failed " + std::to_string(c.failed);
    }
    if (c.errors > 0) {
      out += "  errors " + std::to_string(c.errors);
      if (!c.last_error.empty()) out += " (last: " + c.last_error + ")";
    }
    out += "\n";
    const auto& latency = c.complete_latency;
    if (c.is_spout && latency.count > 0) {
      out += indent + "complete latency p50 " + latency_ms(latency.p50_ms) + ", p99 " +
             latency_ms(latency.p99_ms) + ", max " + latency_ms(latency.max_ms) + " (" +
             std::to_string(latency.count) + " trees)\n";
    }
  }
  const double rate = elapsed_s > 0 ? processed_tuples(stats) / elapsed_s : 0;
  out += "  average: " + human_rate(rate) + " tuples/s\n";
  out += "  failed trees: " + std::to_string(failed_trees);
  if (timed_out > 0) out += " (" + std::to_string(timed_out) + " timed out)";
  out += failed_trees > 0 ? ", each handed back to its spout's fail() for replay\n" : "\n";
  return out;
}

std::string stop_line(const worker::StopSummary& stopped, double drain_s) {
  if (!stopped.drain_ran_out) return "";
  return "  left pending at stop: " + std::to_string(stopped.pending_trees) + " trees (the " +
         format("%gs", drain_s) + " drain ran out; " + std::to_string(stopped.dropped_messages) +
         " queued messages dropped)\n";
}

}  // namespace gale::cli
