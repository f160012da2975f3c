// The checkpoint coordinator on a simulated clock against the directory store: when checkpoints
// start, complete and are aborted, and what survives a restart of the coordinator.

#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "state/checkpoint_coordinator.hpp"
#include "state/checkpoint_store.hpp"
#include "tests/support/support.hpp"

using gale::state::CheckpointCoordinator;
using gale::state::CheckpointError;
using gale::state::CoordinatorActions;
using gale::state::CoordinatorOptions;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t k_ms = 1'000'000;
constexpr std::int64_t k_start = 5'000 * k_ms;

CoordinatorOptions options(std::chrono::milliseconds interval = 1000ms,
                           std::chrono::milliseconds timeout = 3000ms,
                           std::chrono::milliseconds pause = 0ms) {
  CoordinatorOptions o;
  o.interval = interval;
  o.timeout = timeout;
  o.min_pause = pause;
  return o;
}

}  // namespace

TEST_SUITE("state") {
  TEST_CASE("checkpoint ids only grow, per deployment, across reopening the store") {
    gale::test::TempDir dir;
    {
      auto store = gale::state::open_directory_store(dir.path);
      CHECK(store->next_checkpoint_id("wc-1") == 1);
      CHECK(store->next_checkpoint_id("wc-1") == 2);
      CHECK(store->next_checkpoint_id("other-1") == 1);
    }
    CHECK(gale::state::open_directory_store(dir.path)->next_checkpoint_id("wc-1") == 3);
  }

  TEST_CASE("a checkpoint starts every interval and completes when every task acknowledged it") {
    gale::test::TempDir dir;
    auto store = gale::state::open_directory_store(dir.path);
    CheckpointCoordinator c("wc-1", {1, 2, 3}, *store, options(), k_start);
    CHECK(c.tick(k_start + 999 * k_ms).empty());  // not yet due
    CoordinatorActions a = c.tick(k_start + 1000 * k_ms);
    CHECK(a.triggered == 1);
    CHECK(c.pending() == 1);
    CHECK(c.tick(k_start + 2500 * k_ms).empty());  // one at a time: 1 is under way

    CHECK(c.acknowledge(1, 1, k_start + 2600 * k_ms).empty());
    CHECK(c.acknowledge(1, 1, k_start + 2600 * k_ms).empty());  // twice: counted once
    CHECK(c.acknowledge(3, 1, k_start + 2700 * k_ms).empty());
    CHECK_FALSE(store->last_complete("wc-1").has_value());
    a = c.acknowledge(2, 1, k_start + 2800 * k_ms);
    CHECK(a.completed == 1);
    CHECK_FALSE(a.triggered.has_value());
    CHECK(a.aborted.empty());
    CHECK(c.last_complete() == 1);
    CHECK(store->last_complete("wc-1") == 1);  // recorded before the owner tells anyone
    CHECK_FALSE(c.pending().has_value());
    CHECK(c.stray_acknowledgements() == 1);

    // Overdue (it started at 1 s and took 1.8 s): the next starts at once.
    a = c.tick(k_start + 2800 * k_ms);
    CHECK(a.triggered == 2);
  }

  TEST_CASE("acknowledgements of another checkpoint or from a stranger change nothing") {
    gale::test::TempDir dir;
    auto store = gale::state::open_directory_store(dir.path);
    CheckpointCoordinator c("wc-1", {1, 2}, *store, options(), k_start);
    CHECK(c.acknowledge(1, 1, k_start).empty());  // nothing under way
    REQUIRE(c.tick(k_start + 1000 * k_ms).triggered == 1);
    CHECK(c.acknowledge(1, 7, k_start + 1001 * k_ms).empty());
    CHECK(c.acknowledge(9, 1, k_start + 1001 * k_ms).empty());
    CHECK(c.acknowledge(1, 1, k_start + 1001 * k_ms).empty());
    CHECK(c.pending() == 1);  // still waiting for task 2
    CHECK(c.stray_acknowledgements() == 3);
    CHECK(c.acknowledge(2, 1, k_start + 1002 * k_ms).completed == 1);
  }

  TEST_CASE(
      "a checkpoint is aborted on its timeout, on a decline and on a failure; ids never repeat") {
    gale::test::TempDir dir;
    auto store = gale::state::open_directory_store(dir.path);
    CheckpointCoordinator c("wc-1", {1, 2}, *store, options(1000ms, 3000ms, 500ms), k_start);
    REQUIRE(c.tick(k_start + 1000 * k_ms).triggered == 1);
    CHECK(c.acknowledge(1, 1, k_start + 1100 * k_ms).empty());

    SUBCASE("timeout") {
      CHECK(c.tick(k_start + 3999 * k_ms).empty());
      CoordinatorActions a = c.tick(k_start + 4000 * k_ms);
      REQUIRE(a.aborted.size() == 1);
      CHECK(a.aborted[0].checkpoint == 1);
      CHECK(a.aborted[0].reason == "not complete within 3000 ms");
      // The pause after the abort: the next starts at 4.5 s, not at once.
      CHECK_FALSE(a.triggered.has_value());
      CHECK(c.tick(k_start + 4499 * k_ms).empty());
      CHECK(c.tick(k_start + 4500 * k_ms).triggered == 2);
    }
    SUBCASE("decline") {
      CHECK(c.decline(2, 5, "wrong id", k_start + 1200 * k_ms).empty());
      CoordinatorActions a = c.decline(2, 1, "alignment over 64 MB", k_start + 1200 * k_ms);
      REQUIRE(a.aborted.size() == 1);
      CHECK(a.aborted[0].reason == "task 2 declined it: alignment over 64 MB");
      // Started at 1 s: the next at 2 s (the interval), later than the pause would say.
      CHECK(c.tick(k_start + 1999 * k_ms).empty());
      CHECK(c.tick(k_start + 2000 * k_ms).triggered == 2);
    }
    SUBCASE("a failure") {
      CoordinatorActions a = c.abort_pending("worker 127.0.0.1:6700 died", k_start + 1500 * k_ms);
      REQUIRE(a.aborted.size() == 1);
      CHECK(a.aborted[0].reason == "worker 127.0.0.1:6700 died");
      CHECK(c.abort_pending("again", k_start + 1500 * k_ms).empty());
      CHECK(c.tick(k_start + 2000 * k_ms).triggered == 2);
    }
    // A late acknowledgement of the aborted checkpoint does not complete it.
    CHECK(c.acknowledge(2, 1, k_start + 5000 * k_ms).empty());
    CHECK_FALSE(c.last_complete().has_value());
    CHECK_FALSE(store->last_complete("wc-1").has_value());
  }

  TEST_CASE("a restarted coordinator restores from the last complete checkpoint and uses new ids") {
    gale::test::TempDir dir;
    auto store = gale::state::open_directory_store(dir.path);
    {
      CheckpointCoordinator c("wc-1", {1}, *store, options(), k_start);
      REQUIRE(c.tick(k_start + 1000 * k_ms).triggered == 1);
      REQUIRE(c.acknowledge(1, 1, k_start + 1100 * k_ms).completed == 1);
      REQUIRE(c.tick(k_start + 2000 * k_ms).triggered == 2);  // under way when it "crashes"
    }
    auto reopened = gale::state::open_directory_store(dir.path);
    CheckpointCoordinator c("wc-1", {1}, *reopened, options(), 0);
    CHECK(c.last_complete() == 1);
    CHECK_FALSE(c.pending().has_value());
    CHECK(c.tick(1000 * k_ms).triggered == 3);  // 2 was handed out before: never again
  }

  TEST_CASE("completing drops the snapshots of older checkpoints") {
    gale::test::TempDir dir;
    auto store = gale::state::open_directory_store(dir.path);
    CheckpointCoordinator c("wc-1", {1}, *store, options(), k_start);
    REQUIRE(c.tick(k_start + 1000 * k_ms).triggered == 1);
    store->put({"wc-1", 1, 1}, "one");
    REQUIRE(c.acknowledge(1, 1, k_start + 1100 * k_ms).completed == 1);
    REQUIRE(c.tick(k_start + 2000 * k_ms).triggered == 2);
    store->put({"wc-1", 2, 1}, "two");
    REQUIRE(c.acknowledge(1, 2, k_start + 2100 * k_ms).completed == 2);
    CHECK_FALSE(store->get({"wc-1", 1, 1}).has_value());
    CHECK(store->get({"wc-1", 2, 1}) == "two");
  }

  TEST_CASE("a coordinator without tasks or with a non-positive interval is refused") {
    gale::test::TempDir dir;
    auto store = gale::state::open_directory_store(dir.path);
    CHECK_THROWS_WITH_AS(CheckpointCoordinator("wc-1", {}, *store, options(), 0),
                         "checkpoints of wc-1: a deployment without tasks", CheckpointError);
    CHECK_THROWS_AS(CheckpointCoordinator("wc-1", {1}, *store, options(0ms), 0), CheckpointError);
    CHECK_THROWS_AS(CheckpointCoordinator("wc-1", {1}, *store, options(1000ms, 0ms), 0),
                    CheckpointError);
  }
}
