#pragma once

// The runs of each scenario, their medians, and plain-text tables.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bench/proc.hpp"

namespace gale::bench {

// Every run of one scenario. A run that failed leaves an error instead of figures.
struct Series {
  std::vector<Figures> runs;
  std::vector<std::string> errors;

  // The figure's values over the runs that reported it.
  std::vector<double> values(const std::string& key) const;
  // Median (the mean of the middle two for an even count), minimum and maximum; nullopt when no
  // run reported the figure.
  std::optional<double> median(const std::string& key) const;
  std::optional<double> min(const std::string& key) const;
  std::optional<double> max(const std::string& key) const;
};

// A text table: the first row is the header; columns are left-aligned except those in
// `right_aligned`; cells may hold any text.
std::string render_table(const std::vector<std::vector<std::string>>& rows,
                         const std::vector<bool>& right_aligned);

// 1234567 -> "1.23M", 45600 -> "45.6k", 12 -> "12"; "-" for nullopt.
std::string si(std::optional<double> value);
// Fixed notation with `digits` decimals; "-" for nullopt.
std::string fixed(std::optional<double> value, int digits);
// 0.2345 -> "23.5%"; "-" for nullopt.
std::string percent(std::optional<double> fraction);

}  // namespace gale::bench
