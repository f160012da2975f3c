#include "tests/connectors/files/files_test_support.hpp"

#include <fstream>
#include <stdexcept>
#include <system_error>

#include <unistd.h>

#include "spouts/files/durable_io.hpp"
#include "spouts/files/offset_file.hpp"

namespace gale::test::files {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "gale-files-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string numbered_line(std::int64_t i) {
  std::string digits = std::to_string(i);
  return "line-" + std::string(digits.size() < 7 ? 7 - digits.size() : 0, '0') + digits;
}

void append_numbered_lines(const std::string& path, std::int64_t from, std::int64_t to) {
  std::string text;
  for (std::int64_t i = from; i < to; ++i) text += numbered_line(i) + '\n';
  append_text(path, text);
}

void append_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::app | std::ios::binary);
  out << text;
  if (!out.flush()) throw std::runtime_error("cannot append to " + path);
}

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path, std::ios::binary);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::int64_t line_number(const std::string& line) {
  if (line.rfind("line-", 0) != 0 || line.size() < 6) return -1;
  try {
    return std::stoll(line.substr(5));
  } catch (const std::exception&) {
    return -1;
  }
}

std::int64_t file_size(const std::string& path) {
  return static_cast<std::int64_t>(std::filesystem::file_size(path));
}

std::int64_t committed_offset(const std::string& offsets_dir, const std::string& component,
                              const std::string& file) {
  std::int64_t offset = -1;
  std::int64_t newest = -1;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(offsets_dir, error)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(component + '.', 0) != 0 || !name.ends_with(".offsets")) continue;
    try {
      const auto offsets = spouts::files::parse_offsets(spouts::files::read_file(entry.path()));
      const auto it = offsets.find(file);
      if (it != offsets.end() && it->second.written_at_ms > newest) {
        newest = it->second.written_at_ms;
        offset = it->second.offset;
      }
    } catch (const std::exception&) {
      return -1;  // being replaced right now, or damaged: not a position to rely on
    }
  }
  return offset;
}

}  // namespace gale::test::files
