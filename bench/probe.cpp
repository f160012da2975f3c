#include "bench/probe.hpp"

#include <time.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace gale::bench {

std::int64_t now_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// ---------------------------------------------------------------------------------------------
// Histogram

int Histogram::bucket_of(std::uint64_t value) noexcept {
  if (value < static_cast<std::uint64_t>(k_sub)) return static_cast<int>(value);
  const int exponent = 63 - std::countl_zero(value);  // >= k_sub_bits
  const int sub = static_cast<int>((value >> (exponent - k_sub_bits)) & (k_sub - 1));
  return (exponent - k_sub_bits + 1) * k_sub + sub;
}

std::uint64_t Histogram::bucket_lower(int bucket) noexcept {
  if (bucket < k_sub) return static_cast<std::uint64_t>(bucket);
  const int exponent = bucket / k_sub + k_sub_bits - 1;
  const auto sub = static_cast<std::uint64_t>(bucket % k_sub);
  return (static_cast<std::uint64_t>(k_sub) + sub) << (exponent - k_sub_bits);
}

std::uint64_t Histogram::bucket_upper(int bucket) noexcept {
  if (bucket < k_sub) return static_cast<std::uint64_t>(bucket);
  const int exponent = bucket / k_sub + k_sub_bits - 1;
  return bucket_lower(bucket) + (std::uint64_t{1} << (exponent - k_sub_bits)) - 1;
}

std::vector<std::uint64_t> Histogram::counts() const {
  std::vector<std::uint64_t> out(k_buckets);
  for (int b = 0; b < k_buckets; ++b) out[b] = counts_[b].get();
  return out;
}

Percentiles percentiles(const std::vector<std::uint64_t>& counts) {
  Percentiles p;
  for (std::uint64_t c : counts) p.count += c;
  if (p.count == 0) return p;
  auto midpoint = [](int b) {
    return (static_cast<double>(Histogram::bucket_lower(b)) +
            static_cast<double>(Histogram::bucket_upper(b))) /
           2;
  };
  // The value below which a fraction q of the samples lie: the bucket of the ceil(q*n)-th sample.
  auto at = [&](double q) {
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(p.count));
    if (static_cast<double>(rank) < q * static_cast<double>(p.count)) ++rank;
    rank = std::clamp<std::uint64_t>(rank, 1, p.count);
    std::uint64_t seen = 0;
    for (std::size_t b = 0; b < counts.size(); ++b) {
      seen += counts[b];
      if (seen >= rank) return midpoint(static_cast<int>(b));
    }
    return midpoint(static_cast<int>(counts.size()) - 1);
  };
  p.p50 = at(0.50);
  p.p99 = at(0.99);
  p.p999 = at(0.999);
  for (std::size_t b = counts.size(); b-- > 0;) {
    if (counts[b] > 0) {
      p.max = midpoint(static_cast<int>(b));
      break;
    }
  }
  return p;
}

// ---------------------------------------------------------------------------------------------
// Snapshots as text

std::string format_snapshot(const ProbeSnapshot& s) {
  std::ostringstream out;
  out << "component " << s.component << "\ntask " << s.task << "\ntime_ns " << s.time_ns
      << "\ncount " << s.count << "\nacked " << s.acked << "\nfailed " << s.failed << "\nlatency";
  for (std::size_t b = 0; b < s.latency_ns.size(); ++b) {
    if (s.latency_ns[b] > 0) out << ' ' << b << ':' << s.latency_ns[b];
  }
  out << "\nend\n";
  return out.str();
}

ProbeSnapshot parse_snapshot(std::string_view text) {
  ProbeSnapshot s;
  std::istringstream in{std::string(text)};
  std::string line;
  bool ended = false;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key;
    fields >> key;
    if (key == "component") {
      fields >> s.component;
    } else if (key == "task") {
      fields >> s.task;
    } else if (key == "time_ns") {
      fields >> s.time_ns;
    } else if (key == "count") {
      fields >> s.count;
    } else if (key == "acked") {
      fields >> s.acked;
    } else if (key == "failed") {
      fields >> s.failed;
    } else if (key == "latency") {
      s.latency_ns.assign(Histogram::k_buckets, 0);
      std::string pair;
      while (fields >> pair) {
        auto colon = pair.find(':');
        if (colon == std::string::npos) throw std::runtime_error("bad latency bucket: " + pair);
        auto bucket = std::stoul(pair.substr(0, colon));
        if (bucket >= s.latency_ns.size()) throw std::runtime_error("bad latency bucket: " + pair);
        s.latency_ns[bucket] = std::stoull(pair.substr(colon + 1));
      }
    } else if (key == "end") {
      ended = true;
    } else if (!key.empty()) {
      throw std::runtime_error("unknown snapshot key: " + key);
    }
    if (fields.fail() && !fields.eof()) throw std::runtime_error("bad snapshot line: " + line);
  }
  if (!ended || s.component.empty()) throw std::runtime_error("incomplete snapshot");
  return s;
}

// ---------------------------------------------------------------------------------------------
// Probe

Probe::Probe(std::string component, std::int32_t task, std::string publish_dir)
    : component_(std::move(component)), task_(task), publish_dir_(std::move(publish_dir)) {}

ProbeSnapshot Probe::snapshot(std::int64_t now) const {
  ProbeSnapshot s;
  s.component = component_;
  s.task = task_;
  s.time_ns = now;
  s.count = count_.get();
  s.acked = acked_.get();
  s.failed = failed_.get();
  if (s.acked > 0) s.latency_ns = latency_.counts();
  return s;
}

void Probe::publish(std::int64_t now) {
  last_publish_ns_ = now;
  const std::string path = publish_dir_ + "/" + component_ + "-" + std::to_string(task_) + ".stats";
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << format_snapshot(snapshot(now));
    if (!out) return;
  }
  std::rename(tmp.c_str(), path.c_str());
}

namespace {

std::mutex g_registry_mutex;
std::vector<std::shared_ptr<const Probe>> g_registry;  // protected by g_registry_mutex

}  // namespace

void register_probe(std::shared_ptr<const Probe> probe) {
  std::lock_guard lock(g_registry_mutex);
  g_registry.push_back(std::move(probe));
}

std::vector<ProbeSnapshot> registered_snapshots() {
  std::lock_guard lock(g_registry_mutex);
  std::vector<ProbeSnapshot> out;
  const std::int64_t now = now_ns();
  for (const auto& probe : g_registry) out.push_back(probe->snapshot(now));
  return out;
}

std::vector<ProbeSnapshot> read_published(const std::string& dir) {
  std::vector<ProbeSnapshot> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".stats") continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    try {
      out.push_back(parse_snapshot(text.str()));
    } catch (const std::exception&) {
      // Renamed into place whole, so this is not ours; leave it out.
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Windows

WindowFigures window(const std::vector<ProbeSnapshot>& before,
                     const std::vector<ProbeSnapshot>& after, std::string_view component) {
  WindowFigures w;
  for (const ProbeSnapshot& b : after) {
    if (b.component != component) continue;
    auto a = std::find_if(before.begin(), before.end(), [&](const ProbeSnapshot& s) {
      return s.component == b.component && s.task == b.task;
    });
    if (a == before.end() || b.time_ns <= a->time_ns) continue;
    const double seconds = static_cast<double>(b.time_ns - a->time_ns) / 1e9;
    ++w.tasks;
    w.seconds = std::max(w.seconds, seconds);
    w.count += b.count - a->count;
    w.acked += b.acked - a->acked;
    w.failed += b.failed - a->failed;
    w.rate += static_cast<double>(b.count - a->count) / seconds;
    if (!b.latency_ns.empty()) {
      w.latency_ns.resize(b.latency_ns.size(), 0);
      for (std::size_t i = 0; i < b.latency_ns.size(); ++i) {
        const std::uint64_t earlier = i < a->latency_ns.size() ? a->latency_ns[i] : 0;
        w.latency_ns[i] += b.latency_ns[i] - earlier;
      }
    }
  }
  return w;
}

}  // namespace gale::bench
