#include "spouts/files/line_splitter.hpp"

#include <algorithm>

namespace gale::spouts::files {

void LineSplitter::feed(std::string_view data, std::vector<Line>& out) {
  while (!data.empty()) {
    const std::size_t newline = data.find('\n');
    const std::string_view piece = data.substr(0, newline);
    // Keep one byte beyond the limit: a line of exactly max bytes plus a '\r' is still fine.
    const std::size_t room = max_line_bytes_ + 1 - std::min(partial_.size(), max_line_bytes_ + 1);
    partial_.append(piece.substr(0, std::min(room, piece.size())));
    partial_length_ += static_cast<std::int64_t>(piece.size());
    if (newline == std::string_view::npos) return;
    data.remove_prefix(newline + 1);

    Line line;
    line.offset = line_start_;
    line.next = line_start_ + partial_length_ + 1;
    line.length = partial_length_;
    if (line.length > 0 && partial_.size() == static_cast<std::size_t>(line.length) &&
        partial_.back() == '\r') {
      partial_.pop_back();
      --line.length;
    }
    line.too_long = line.length > static_cast<std::int64_t>(max_line_bytes_);
    if (partial_.size() > max_line_bytes_) partial_.resize(max_line_bytes_);
    line.text = std::move(partial_);
    out.push_back(std::move(line));
    partial_.clear();
    line_start_ = out.back().next;
    partial_length_ = 0;
  }
}

void LineSplitter::reset(std::int64_t start) noexcept {
  line_start_ = start;
  partial_.clear();
  partial_length_ = 0;
}

}  // namespace gale::spouts::files
