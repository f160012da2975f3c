// Barrier alignment: what is held back, what is released and in which order, and how a
// checkpoint ends (aligned, subsumed, cancelled, over the bound, a channel gone).

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "worker/barrier_aligner.hpp"

using gale::worker::AlignmentEvent;
using Aligner = gale::worker::BarrierAligner<std::string>;
using Kind = AlignmentEvent::Kind;

namespace {

// Feeds `text` from `channel`: processed now (appended to `out`) or kept.
void data(Aligner& a, std::int32_t channel, const std::string& text, std::vector<std::string>& out,
          std::vector<AlignmentEvent>* events = nullptr) {
  std::string m = text;
  std::vector<AlignmentEvent> local;
  if (a.admit(channel, m, 1, events != nullptr ? *events : local)) out.push_back(m);
}

void release(Aligner& a, std::vector<std::string>& out) {
  for (std::string& m : a.take_released()) out.push_back(std::move(m));
}

}  // namespace

TEST_SUITE("state") {
  TEST_CASE("a channel's messages after its barrier wait until every channel sent the barrier") {
    Aligner a({1, 2, 3}, 100);
    std::vector<std::string> out;
    data(a, 1, "1a", out);
    CHECK(a.on_barrier(1, 1).empty());
    CHECK(a.aligning() == 1);
    data(a, 1, "1b", out);  // after 1's barrier: kept
    data(a, 2, "2a", out);  // before 2's barrier: processed
    CHECK(a.on_barrier(2, 1).empty());
    data(a, 2, "2b", out);
    data(a, 1, "1c", out);
    data(a, 3, "3a", out);
    CHECK(out == std::vector<std::string>{"1a", "2a", "3a"});
    CHECK(a.kept() == 3);

    const std::vector<AlignmentEvent> e = a.on_barrier(3, 1);
    REQUIRE(e.size() == 1);
    CHECK(e[0].kind == Kind::aligned);
    CHECK(e[0].checkpoint == 1);
    // The snapshot happens here: it saw 1a, 2a and 3a and nothing after the barriers.
    release(a, out);
    CHECK(out == std::vector<std::string>{"1a", "2a", "3a", "1b", "2b", "1c"});
    CHECK_FALSE(a.aligning().has_value());
    CHECK(a.kept() == 0);
    data(a, 1, "1d", out);  // nothing held any more
    CHECK(out.back() == "1d");
  }

  TEST_CASE(
      "a task with one input is aligned at its barrier; old and repeated barriers are ignored") {
    Aligner a({7}, 100);
    std::vector<AlignmentEvent> e = a.on_barrier(7, 1);
    REQUIRE(e.size() == 1);
    CHECK(e[0].kind == Kind::aligned);
    CHECK(a.on_barrier(7, 1).empty());  // again: that checkpoint ended here
    CHECK(a.on_barrier(9, 2).empty());  // not one of its channels
    CHECK_FALSE(a.aligning().has_value());
    e = a.on_barrier(7, 2);
    REQUIRE(e.size() == 1);
    CHECK(e[0].checkpoint == 2);
  }

  TEST_CASE("a newer barrier before the alignment finished aborts the older checkpoint") {
    Aligner a({1, 2}, 100);
    std::vector<std::string> out;
    CHECK(a.on_barrier(1, 4).empty());
    data(a, 1, "1a", out);  // after barrier 4 of channel 1
    // Channel 2's barrier 4 never comes (its checkpoint was aborted upstream); 5 does.
    data(a, 2, "2a", out);
    std::vector<AlignmentEvent> e = a.on_barrier(1, 5);
    REQUIRE(e.size() == 1);
    CHECK(e[0].kind == Kind::aborted);
    CHECK(e[0].checkpoint == 4);
    CHECK(e[0].reason == "checkpoint 5 arrived before it aligned");
    release(a, out);
    CHECK(out == std::vector<std::string>{"2a", "1a"});
    CHECK(a.aligning() == 5);
    data(a, 1, "1b", out);  // after barrier 5 of channel 1: kept again
    CHECK(a.kept() == 1);
    CHECK(a.on_barrier(2, 4).empty());  // 4 ended: ignored
    e = a.on_barrier(2, 5);
    REQUIRE(e.size() == 1);
    CHECK(e[0].kind == Kind::aligned);
    CHECK(e[0].checkpoint == 5);
    release(a, out);
    CHECK(out.back() == "1b");
  }

  TEST_CASE(
      "a cancel marker aborts the alignment, and the cancelled checkpoint's barriers are ignored") {
    Aligner a({1, 2}, 100);
    std::vector<std::string> out;
    CHECK(a.on_barrier(1, 3).empty());
    data(a, 1, "1a", out);
    std::vector<AlignmentEvent> e = a.on_cancel(3, "task 4 declined it: snapshot failed");
    REQUIRE(e.size() == 1);
    CHECK(e[0].kind == Kind::aborted);
    CHECK(e[0].reason == "task 4 declined it: snapshot failed");
    release(a, out);
    CHECK(out == std::vector<std::string>{"1a"});
    CHECK(a.on_barrier(2, 3).empty());
    CHECK_FALSE(a.aligning().has_value());
    // A cancel marker of a checkpoint not started here yet: its barriers are ignored when they
    // come.
    CHECK(a.on_cancel(4, "aborted").empty());
    CHECK(a.on_barrier(1, 4).empty());
    CHECK_FALSE(a.aligning().has_value());
  }

  TEST_CASE("keeping more than the bound aborts the checkpoint and releases everything kept") {
    Aligner a({1, 2}, 2);
    std::vector<std::string> out;
    CHECK(a.on_barrier(1, 1).empty());
    std::vector<AlignmentEvent> e;
    data(a, 1, "1a", out, &e);
    data(a, 1, "1b", out, &e);
    CHECK(e.empty());
    data(a, 1, "1c", out, &e);
    REQUIRE(e.size() == 1);
    CHECK(e[0].kind == Kind::aborted);
    CHECK(e[0].reason.find("more than 2 tuples") != std::string::npos);
    release(a, out);
    CHECK(out == std::vector<std::string>{"1a", "1b", "1c"});
    CHECK(a.on_barrier(2, 1).empty());  // the aborted checkpoint's last barrier: ignored
  }

  TEST_CASE("a channel that ends no longer holds the alignment back") {
    Aligner a({1, 2, 3}, 100);
    std::vector<std::string> out;
    CHECK(a.on_barrier(1, 1).empty());
    CHECK(a.on_barrier(2, 1).empty());
    data(a, 2, "2a", out);
    std::vector<AlignmentEvent> e = a.remove_channel(3);
    REQUIRE(e.size() == 1);
    CHECK(e[0].kind == Kind::aligned);
    release(a, out);
    CHECK(out == std::vector<std::string>{"2a"});
    e = a.on_barrier(1, 2);
    CHECK(e.empty());
    e = a.on_barrier(2, 2);
    REQUIRE(e.size() == 1);  // two channels now
  }
}
