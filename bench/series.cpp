#include "bench/series.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace gale::bench {

std::vector<double> Series::values(const std::string& key) const {
  std::vector<double> out;
  for (const Figures& run : runs) {
    auto it = run.find(key);
    if (it != run.end() && std::isfinite(it->second)) out.push_back(it->second);
  }
  return out;
}

std::optional<double> Series::median(const std::string& key) const {
  std::vector<double> v = values(key);
  if (v.empty()) return std::nullopt;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::optional<double> Series::min(const std::string& key) const {
  std::vector<double> v = values(key);
  if (v.empty()) return std::nullopt;
  return *std::min_element(v.begin(), v.end());
}

std::optional<double> Series::max(const std::string& key) const {
  std::vector<double> v = values(key);
  if (v.empty()) return std::nullopt;
  return *std::max_element(v.begin(), v.end());
}

std::string render_table(const std::vector<std::vector<std::string>>& rows,
                         const std::vector<bool>& right_aligned) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  std::string out;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::string line;
    for (std::size_t c = 0; c < rows[r].size(); ++c) {
      const std::string& cell = rows[r][c];
      const std::string pad(widths[c] - cell.size(), ' ');
      const bool right = c < right_aligned.size() && right_aligned[c];
      if (c > 0) line += "  ";
      line += right ? pad + cell : cell + pad;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
    if (r == 0) {
      std::size_t total = 0;
      for (std::size_t w : widths) total += w;
      out += std::string(total + 2 * (widths.size() - 1), '-') + "\n";
    }
  }
  return out;
}

std::string si(std::optional<double> value) {
  if (!value) return "-";
  const double v = *value;
  const double a = std::fabs(v);
  char buffer[32];
  if (a >= 1e9) {
    std::snprintf(buffer, sizeof buffer, "%.3gG", v / 1e9);
  } else if (a >= 1e6) {
    std::snprintf(buffer, sizeof buffer, "%.3gM", v / 1e6);
  } else if (a >= 1e3) {
    std::snprintf(buffer, sizeof buffer, "%.3gk", v / 1e3);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.3g", v);
  }
  return buffer;
}

std::string fixed(std::optional<double> value, int digits) {
  if (!value) return "-";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, *value);
  return buffer;
}

std::string percent(std::optional<double> fraction) {
  if (!fraction) return "-";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f%%", *fraction * 100);
  return buffer;
}

}  // namespace gale::bench
