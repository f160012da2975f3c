#include "spouts/files/offset_file.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string_view>

#include "spouts/files/durable_io.hpp"

namespace gale::spouts::files {
namespace {

constexpr std::string_view k_header = "gale-file-offsets 1";
constexpr std::string_view k_suffix = ".offsets";

// The next space-separated integer of `line` from `pos`; throws naming the line on anything else.
template <class Int>
Int take_int(std::string_view line, std::size_t& pos, int line_no, const char* what) {
  const std::size_t end = line.find(' ', pos);
  if (end == std::string_view::npos) {
    throw std::runtime_error("line " + std::to_string(line_no) + ": missing " + what);
  }
  Int value{};
  const auto [ptr, ec] = std::from_chars(line.data() + pos, line.data() + end, value);
  if (ec != std::errc() || ptr != line.data() + end || end == pos) {
    throw std::runtime_error("line " + std::to_string(line_no) + ": bad " + what + " '" +
                             std::string(line.substr(pos, end - pos)) + "'");
  }
  pos = end + 1;
  return value;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

std::string format_offsets(const CommittedOffsets& offsets) {
  std::string text(k_header);
  text += '\n';
  for (const auto& [path, entry] : offsets) {
    text += std::to_string(entry.written_at_ms) + ' ' + std::to_string(entry.identity.device) +
            ' ' + std::to_string(entry.identity.inode) + ' ' + std::to_string(entry.offset) + ' ' +
            path + '\n';
  }
  text += "end " + std::to_string(offsets.size()) + '\n';
  return text;
}

CommittedOffsets parse_offsets(const std::string& text) {
  CommittedOffsets offsets;
  std::string_view rest(text);
  int line_no = 0;
  bool ended = false;
  while (!rest.empty()) {
    const std::size_t newline = rest.find('\n');
    if (newline == std::string_view::npos) {
      throw std::runtime_error("line " + std::to_string(line_no + 1) + ": no newline (cut short)");
    }
    const std::string_view line = rest.substr(0, newline);
    rest.remove_prefix(newline + 1);
    ++line_no;
    if (ended) throw std::runtime_error("line " + std::to_string(line_no) + ": text after the end");
    if (line_no == 1) {
      if (line != k_header) throw std::runtime_error("line 1: not an offset file header");
      continue;
    }
    if (line.substr(0, 4) == "end ") {
      // take_int reads up to a space: give it one.
      const std::string count_text = std::string(line.substr(4)) + ' ';
      std::size_t pos = 0;
      const auto count = take_int<std::size_t>(count_text, pos, line_no, "entry count");
      if (count != offsets.size()) {
        throw std::runtime_error("line " + std::to_string(line_no) + ": says " +
                                 std::to_string(count) + " entries, found " +
                                 std::to_string(offsets.size()));
      }
      ended = true;
      continue;
    }
    std::size_t pos = 0;
    CommittedOffset entry;
    entry.written_at_ms = take_int<std::int64_t>(line, pos, line_no, "time");
    entry.identity.device = take_int<std::uint64_t>(line, pos, line_no, "device");
    entry.identity.inode = take_int<std::uint64_t>(line, pos, line_no, "inode");
    entry.offset = take_int<std::int64_t>(line, pos, line_no, "offset");
    if (entry.offset < 0) throw std::runtime_error("line " + std::to_string(line_no) + ": negative offset");
    const std::string_view path = line.substr(pos);
    if (path.empty()) throw std::runtime_error("line " + std::to_string(line_no) + ": missing path");
    offsets[std::string(path)] = entry;
  }
  if (!ended) throw std::runtime_error("no end line (cut short)");
  return offsets;
}

OffsetFile::OffsetFile(std::string dir, std::string component, int task_index)
    : dir_(std::move(dir)), prefix_(std::move(component) + '.') {
  path_ = dir_ + '/' + prefix_ + std::to_string(task_index) + std::string(k_suffix);
}

CommittedOffsets OffsetFile::load(std::vector<std::string>& problems) const {
  if (::mkdir(dir_.c_str(), 0755) != 0 && errno != EEXIST) {
    throw std::runtime_error(errno_message("cannot create the offset directory", dir_));
  }
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(dir_.c_str()), &::closedir);
  if (!dir) throw std::runtime_error(errno_message("cannot read the offset directory", dir_));
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(dir.get())) {
    const std::string_view name(entry->d_name);
    if (name.substr(0, prefix_.size()) == prefix_ && ends_with(name, k_suffix)) {
      names.emplace_back(name);
    }
  }
  CommittedOffsets newest;
  for (const std::string& name : names) {
    const std::string path = dir_ + '/' + name;
    CommittedOffsets offsets;
    try {
      offsets = parse_offsets(read_file(path));
    } catch (const std::exception& e) {
      const std::string aside = path + ".damaged";
      std::string problem = "offset file '" + path + "' is damaged (" + e.what() + ")";
      if (::rename(path.c_str(), aside.c_str()) == 0) {
        problem += "; moved to '" + aside + "', its files are read again from the beginning";
      } else {
        problem += "; " + errno_message("could not move it to", aside);
      }
      problems.push_back(std::move(problem));
      continue;
    }
    for (auto& [file, entry] : offsets) {
      auto [it, inserted] = newest.emplace(file, entry);
      if (!inserted && entry.written_at_ms > it->second.written_at_ms) it->second = entry;
    }
  }
  return newest;
}

void OffsetFile::store(const CommittedOffsets& offsets) const {
  write_atomically(path_, format_offsets(offsets));
}

}  // namespace gale::spouts::files
