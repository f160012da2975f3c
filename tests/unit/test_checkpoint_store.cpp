// The directory checkpoint store: snapshots round-trip, a damaged one is refused by name, the
// complete marker only moves forward, retention keeps the last complete checkpoint.

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "state/checkpoint_store.hpp"
#include "state/snapshot_frame.hpp"
#include "tests/support/support.hpp"

using gale::state::CheckpointError;
using gale::state::SnapshotKey;
namespace fs = std::filesystem;

namespace {

std::string binary_state() {
  std::string s;
  for (int i = 0; i < 4096; ++i) s.push_back(static_cast<char>(i * 31 % 256));  // NULs too
  return s;
}

void overwrite_byte(const fs::path& path, std::size_t at, char value) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(at));
  f.put(value);
}

}  // namespace

TEST_SUITE("state") {
  TEST_CASE("a snapshot frame round-trips and any change to it reads as damaged") {
    const std::string payload = binary_state();
    const std::string frame = gale::state::frame_snapshot(payload);
    CHECK(gale::state::unframe_snapshot(frame, "x") == payload);
    CHECK(gale::state::unframe_snapshot(gale::state::frame_snapshot(""), "x").empty());

    std::string flipped = frame;
    flipped[flipped.size() / 2] ^= 0x01;
    CHECK_THROWS_WITH_AS((void)gale::state::unframe_snapshot(flipped, "snap 7"),
                         "snap 7 is damaged: checksum mismatch", CheckpointError);
    CHECK_THROWS_WITH_AS(
        (void)gale::state::unframe_snapshot(frame.substr(0, frame.size() - 10), "snap 7"),
        doctest::Contains("its header says 4096"), CheckpointError);
    CHECK_THROWS_WITH_AS((void)gale::state::unframe_snapshot(frame + "z", "snap 7"),
                         doctest::Contains("it holds 4097 bytes"), CheckpointError);
    CHECK_THROWS_WITH_AS((void)gale::state::unframe_snapshot("hello", "snap 7"),
                         "snap 7 is damaged: not a Gale snapshot (5 bytes)", CheckpointError);
    std::string other_version = frame;
    other_version[8] = 9;
    CHECK_THROWS_WITH_AS((void)gale::state::unframe_snapshot(other_version, "snap 7"),
                         doctest::Contains("snapshot format 9, this build reads 1"),
                         CheckpointError);
  }

  TEST_CASE("the directory store keeps each task's snapshot of each checkpoint, across reopening") {
    gale::test::TempDir dir;
    const fs::path root = dir.path / "checkpoints";  // created by the store
    {
      auto store = gale::state::open_directory_store(root);
      CHECK_FALSE(store->get({"wc-1", 1, 3}).has_value());
      store->put({"wc-1", 1, 3}, binary_state());
      store->put({"wc-1", 1, 4}, "four");
      store->put({"wc-1", 2, 3}, "three at 2");
      store->put({"other-1", 1, 3}, "another deployment");
      store->put({"wc-1", 2, 3}, "three at 2, again");  // a task snapshotting again replaces
    }
    auto store = gale::state::open_directory_store(root);
    CHECK(store->get({"wc-1", 1, 3}) == binary_state());
    CHECK(store->get({"wc-1", 1, 4}) == "four");
    CHECK(store->get({"wc-1", 2, 3}) == "three at 2, again");
    CHECK(store->get({"other-1", 1, 3}) == "another deployment");
    CHECK_FALSE(store->get({"wc-1", 2, 4}).has_value());
    CHECK_FALSE(store->get({"wc-1", 3, 3}).has_value());
    // Nothing of the temporary files is left beside the snapshots.
    for (const auto& e : fs::recursive_directory_iterator(root)) {
      CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);
    }
  }

  TEST_CASE("a damaged snapshot file is refused with the store, task, checkpoint and file named") {
    gale::test::TempDir dir;
    auto store = gale::state::open_directory_store(dir.path);
    store->put({"wc-1", 5, 2}, binary_state());
    const fs::path file = dir.path / "wc-1" / "5" / "2.snapshot";
    REQUIRE(fs::exists(file));
    overwrite_byte(file, 100, 'X');
    CHECK_THROWS_WITH_AS((void)store->get({"wc-1", 5, 2}),
                         ("checkpoint store directory " + dir.path.string() +
                          ": the snapshot of task 2 in checkpoint 5 of wc-1 (" + file.string() +
                          ") is damaged: checksum mismatch")
                             .c_str(),
                         CheckpointError);
    fs::resize_file(file, 10);
    CHECK_THROWS_AS((void)store->get({"wc-1", 5, 2}), CheckpointError);
  }

  TEST_CASE("the complete checkpoint only moves forward, and says so after reopening") {
    gale::test::TempDir dir;
    auto store = gale::state::open_directory_store(dir.path);
    CHECK_FALSE(store->last_complete("wc-1").has_value());
    store->complete("wc-1", 3);
    CHECK(store->last_complete("wc-1") == 3);
    store->complete("wc-1", 2);  // a coordinator repeating an older completion: no change
    store->complete("wc-1", 3);
    CHECK(store->last_complete("wc-1") == 3);
    store->complete("wc-1", 7);
    CHECK(gale::state::open_directory_store(dir.path)->last_complete("wc-1") == 7);
    CHECK_FALSE(store->last_complete("other-1").has_value());

    overwrite_byte(dir.path / "wc-1" / "complete", 30, '9');
    CHECK_THROWS_WITH_AS((void)store->last_complete("wc-1"),
                         doctest::Contains("the complete checkpoint of wc-1"), CheckpointError);
  }

  TEST_CASE("dropping old checkpoints never drops the last complete one") {
    gale::test::TempDir dir;
    auto store = gale::state::open_directory_store(dir.path);
    for (int c = 1; c <= 5; ++c) store->put({"wc-1", c, 0}, "state " + std::to_string(c));
    store->put({"other-1", 1, 0}, "kept");
    store->complete("wc-1", 3);
    store->drop_before("wc-1", 5);  // asks for more than the last complete: stops at 3
    CHECK_FALSE(store->get({"wc-1", 1, 0}).has_value());
    CHECK_FALSE(store->get({"wc-1", 2, 0}).has_value());
    CHECK(store->get({"wc-1", 3, 0}) == "state 3");
    CHECK(store->get({"wc-1", 4, 0}) == "state 4");  // newer than the last complete: in progress
    CHECK(store->get({"wc-1", 5, 0}) == "state 5");
    CHECK(store->get({"other-1", 1, 0}) == "kept");
    CHECK(store->last_complete("wc-1") == 3);
    store->drop_before("nobody-1", 10);  // a deployment without checkpoints: nothing to do
  }

  TEST_CASE(
      "keys that would leave the store's directory, and a root that cannot be one, are refused") {
    gale::test::TempDir dir;
    auto store = gale::state::open_directory_store(dir.path);
    for (const char* bad : {"", ".", "..", "a/b", "../up"}) {
      CAPTURE(bad);
      CHECK_THROWS_WITH_AS(store->put({bad, 1, 0}, "x"),
                           doctest::Contains("cannot name a deployment's directory"),
                           CheckpointError);
    }
    CHECK_THROWS_WITH_AS(store->put({"wc-1", -1, 0}, "x"), "checkpoint ids are 0 or more, not -1",
                         CheckpointError);
    CHECK_THROWS_WITH_AS(store->put({"wc-1", 1, -2}, "x"), "task ids are 0 or more, not -2",
                         CheckpointError);
    { std::ofstream(dir.path / "a-file") << "x"; }
    CHECK_THROWS_WITH_AS((void)gale::state::open_directory_store(dir.path / "a-file"),
                         doctest::Contains("cannot create it"), CheckpointError);
  }
}
