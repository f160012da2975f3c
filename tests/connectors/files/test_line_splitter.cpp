#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "spouts/files/line_splitter.hpp"

// Cutting a followed file into lines: a line is returned only once its newline was read.

using gale::spouts::files::Line;
using gale::spouts::files::LineSplitter;

namespace {

std::vector<std::string> texts(const std::vector<Line>& lines) {
  std::vector<std::string> out;
  for (const Line& l : lines) out.push_back(l.text);
  return out;
}

}  // namespace

TEST_SUITE("connector_files") {
  TEST_CASE("line splitter: complete lines with their offsets, the partial one held back") {
    LineSplitter splitter(100, 1024);
    std::vector<Line> lines;
    splitter.feed("ab\ncd\r\nef", lines);
    REQUIRE(lines.size() == 2);
    CHECK(texts(lines) == std::vector<std::string>{"ab", "cd"});
    CHECK(lines[0].offset == 100);
    CHECK(lines[0].next == 103);
    CHECK(lines[1].offset == 103);
    CHECK(lines[1].next == 107);  // the '\r' is not part of the text but of the line
    CHECK(splitter.partial_offset() == 107);
    CHECK(splitter.partial_length() == 2);

    lines.clear();
    splitter.feed("g", lines);
    CHECK(lines.empty());  // still no newline
    splitter.feed("h\n\n", lines);
    CHECK(texts(lines) == std::vector<std::string>{"efgh", ""});
    CHECK(lines[0].offset == 107);
    CHECK(lines[1].offset == 112);
    CHECK(lines[1].next == 113);
  }

  TEST_CASE("line splitter: a line split at every byte comes out whole") {
    const std::string text = "the cow\njumped over\nthe moon\n";
    LineSplitter splitter(0, 1024);
    std::vector<Line> lines;
    for (char c : text) splitter.feed(std::string(1, c), lines);
    CHECK(texts(lines) == std::vector<std::string>{"the cow", "jumped over", "the moon"});
    CHECK(lines[2].next == static_cast<std::int64_t>(text.size()));
  }

  TEST_CASE("line splitter: a line over the limit is marked too long and kept only in part") {
    LineSplitter splitter(0, 4);
    std::vector<Line> lines;
    splitter.feed("abcd\nabcdefghij", lines);
    splitter.feed("klmnop\nxy\n", lines);
    REQUIRE(lines.size() == 3);
    CHECK_FALSE(lines[0].too_long);  // exactly at the limit
    CHECK(lines[1].too_long);
    CHECK(lines[1].text == "abcd");
    CHECK(lines[1].length == 16);
    CHECK(lines[1].offset == 5);
    CHECK(lines[1].next == 22);
    CHECK_FALSE(lines[2].too_long);
    CHECK(lines[2].offset == 22);
  }

  TEST_CASE("line splitter: reset forgets the partial line") {
    LineSplitter splitter(0, 1024);
    std::vector<Line> lines;
    splitter.feed("half a li", lines);
    splitter.reset(0);
    splitter.feed("new\n", lines);
    CHECK(texts(lines) == std::vector<std::string>{"new"});
    CHECK(lines[0].next == 4);
  }
}
