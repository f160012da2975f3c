#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "spouts/files/durable_io.hpp"
#include "spouts/files/offset_file.hpp"
#include "tests/connectors/files/files_test_support.hpp"

// The offset file: what a file spout task resumes from after a restart.

using namespace gale::spouts::files;
using gale::test::files::TempDir;

namespace {

CommittedOffsets two_files() {
  CommittedOffsets offsets;
  offsets["/data/a.log"] = {{2049, 77}, 1200, 1000};
  offsets["/data/with space.log"] = {{2049, 78}, 0, 1000};
  return offsets;
}

}  // namespace

TEST_SUITE("connector_files") {
  TEST_CASE("offset file: what is stored is loaded back, paths with spaces included") {
    TempDir dir;
    OffsetFile file(dir.path(), "reader", 0);
    file.store(two_files());
    std::vector<std::string> problems;
    CHECK(file.load(problems) == two_files());
    CHECK(problems.empty());
    CHECK(file.path() == dir / "reader.0.offsets");
  }

  TEST_CASE("offset file: a store replaces the file whole and leaves no temporary file") {
    TempDir dir;
    OffsetFile file(dir.path(), "reader", 0);
    file.store(two_files());
    CommittedOffsets later = two_files();
    later["/data/a.log"].offset = 5000;
    later.erase("/data/with space.log");
    file.store(later);
    std::vector<std::string> problems;
    CHECK(file.load(problems) == later);
    CHECK_FALSE(std::filesystem::exists(file.path() + ".tmp"));
    CHECK(parse_offsets(read_file(file.path())) == later);
  }

  TEST_CASE("offset file: a store into a directory that cannot be written throws naming the file") {
    TempDir dir;
    OffsetFile file(dir / "missing", "reader", 0);  // load() would create it; store() does not
    try {
      file.store(two_files());
      FAIL("store succeeded");
    } catch (const std::runtime_error& e) {
      CHECK(std::string(e.what()).find(dir / "missing/reader.0.offsets.tmp") != std::string::npos);
    }
  }

  TEST_CASE("offset file: text cut short, garbled or with a wrong count is rejected") {
    const std::string good = format_offsets(two_files());
    CHECK(parse_offsets(good) == two_files());
    CHECK_THROWS_WITH_AS(parse_offsets(good.substr(0, good.size() - 1)),
                         doctest::Contains("cut short"), std::runtime_error);
    CHECK_THROWS_WITH_AS(parse_offsets(good.substr(0, good.find("end"))),
                         doctest::Contains("no end line"), std::runtime_error);
    CHECK_THROWS_WITH_AS(parse_offsets("gale-file-offsets 1\n1 2 3 x4 /a\nend 1\n"),
                         doctest::Contains("line 2: bad offset 'x4'"), std::runtime_error);
    CHECK_THROWS_WITH_AS(parse_offsets("gale-file-offsets 1\n1 2 3 4 /a\nend 2\n"),
                         doctest::Contains("says 2 entries, found 1"), std::runtime_error);
    CHECK_THROWS_WITH_AS(parse_offsets("{\"a\": 1}\n"), doctest::Contains("not an offset file"),
                         std::runtime_error);
    CHECK_THROWS_AS(parse_offsets(""), std::runtime_error);
  }

  TEST_CASE("offset file: a damaged file is named, moved aside, and its entries dropped") {
    TempDir dir;
    OffsetFile file(dir.path(), "reader", 0);
    OffsetFile other(dir.path(), "reader", 1);
    other.store(two_files());
    gale::test::files::append_text(file.path(), "gale-file-offsets 1\n12 34 garbage");
    std::vector<std::string> problems;
    const CommittedOffsets loaded = file.load(problems);
    CHECK(loaded == two_files());  // the sound file still counts
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].find("'" + file.path() + "' is damaged") != std::string::npos);
    CHECK(problems[0].find("moved to '" + file.path() + ".damaged'") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(file.path()));
    CHECK(std::filesystem::exists(file.path() + ".damaged"));
    problems.clear();
    (void)file.load(problems);
    CHECK(problems.empty());  // reported once, not at every load
  }

  TEST_CASE("offset file: of several tasks' files naming one path, the newest entry wins") {
    TempDir dir;
    CommittedOffsets old_owner;
    old_owner["/data/a.log"] = {{1, 2}, 100, 1000};
    CommittedOffsets new_owner;
    new_owner["/data/a.log"] = {{1, 2}, 900, 2000};
    OffsetFile(dir.path(), "reader", 3).store(new_owner);
    OffsetFile(dir.path(), "reader", 0).store(old_owner);
    OffsetFile(dir.path(), "other", 0).store(two_files());  // another component: not read
    std::vector<std::string> problems;
    const CommittedOffsets loaded = OffsetFile(dir.path(), "reader", 0).load(problems);
    REQUIRE(loaded.size() == 1);
    CHECK(loaded.at("/data/a.log").offset == 900);
  }
}
