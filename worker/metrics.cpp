#include "worker/metrics.hpp"

#include <bit>

namespace gale::worker {

int LatencyHistogram::bucket_of(std::uint64_t nanos) noexcept {
  if (nanos < (1u << sub_bits)) return static_cast<int>(nanos);
  int exponent = 63 - std::countl_zero(nanos);  // >= sub_bits
  int shift = exponent - sub_bits;
  auto mantissa = static_cast<int>((nanos >> shift) & ((1u << sub_bits) - 1));
  return ((shift + 1) << sub_bits) + mantissa;
}

std::uint64_t LatencyHistogram::bucket_upper(int bucket) noexcept {
  int group = bucket >> sub_bits;
  std::uint64_t mantissa = bucket & ((1 << sub_bits) - 1);
  if (group == 0) return mantissa;
  int shift = group - 1;
  return (((1ull << sub_bits) + mantissa + 1) << shift) - 1;
}

void LatencyHistogram::record(std::int64_t nanos) noexcept {
  auto n = static_cast<std::uint64_t>(nanos < 0 ? 0 : nanos);
  int b = bucket_of(n);
  if (b >= buckets) b = buckets - 1;
  counts_[b].add();
  sum_ns_.add(n);
  if (n > max_ns_.get()) max_ns_.set(n);
}

void LatencyHistogram::merge_into(std::array<std::uint64_t, buckets>& counts, std::uint64_t& sum_ns,
                                  std::uint64_t& max_ns) const noexcept {
  for (int i = 0; i < buckets; ++i) counts[i] += counts_[i].get();
  sum_ns += sum_ns_.get();
  if (max_ns_.get() > max_ns) max_ns = max_ns_.get();
}

LatencySummary LatencyHistogram::summarize(const std::array<std::uint64_t, buckets>& counts,
                                           std::uint64_t sum_ns, std::uint64_t max_ns) noexcept {
  LatencySummary s;
  for (auto c : counts) s.count += c;
  if (s.count == 0) return s;
  auto percentile = [&](double p) {
    auto rank = static_cast<std::uint64_t>(p * static_cast<double>(s.count - 1)) + 1;
    std::uint64_t seen = 0;
    for (int i = 0; i < buckets; ++i) {
      seen += counts[i];
      if (seen >= rank) {
        std::uint64_t upper = bucket_upper(i);
        return static_cast<double>(upper < max_ns ? upper : max_ns) / 1e6;
      }
    }
    return static_cast<double>(max_ns) / 1e6;
  };
  s.mean_ms = static_cast<double>(sum_ns) / static_cast<double>(s.count) / 1e6;
  s.p50_ms = percentile(0.50);
  s.p99_ms = percentile(0.99);
  s.p999_ms = percentile(0.999);
  s.max_ms = static_cast<double>(max_ns) / 1e6;
  return s;
}

void TaskMetrics::set_last_error(std::string message) {
  std::lock_guard lock(error_mutex_);
  last_error_ = std::move(message);
}

std::string TaskMetrics::last_error() const {
  std::lock_guard lock(error_mutex_);
  return last_error_;
}

}  // namespace gale::worker
