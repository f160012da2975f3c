#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "worker/acker.hpp"

using gale::worker::AckerTable;
using Outcome = AckerTable::Outcome;

TEST_SUITE("acker") {
  TEST_CASE("a tree completes exactly when every edge was acked") {
    AckerTable table;
    const std::uint64_t root = 77, e1 = 0x1111, e2 = 0x2222, c1 = 0x4444;
    // The spout emitted two tuples (edges e1, e2).
    CHECK(table.init(root, e1 ^ e2, 5).outcome == Outcome::pending);
    // Tuple e1 was processed and emitted child c1 anchored to it.
    CHECK(table.ack(root, e1 ^ c1).outcome == Outcome::pending);
    CHECK(table.ack(root, e2).outcome == Outcome::pending);
    auto done = table.ack(root, c1);
    CHECK(done.outcome == Outcome::completed);
    CHECK(done.spout_task == 5);
    CHECK(table.pending() == 0);
  }

  TEST_CASE("acks that overtake the init are kept until the init arrives") {
    AckerTable table;
    CHECK(table.ack(9, 0xabc).outcome == Outcome::pending);
    CHECK(table.pending() == 1);
    auto r = table.init(9, 0xabc, 3);
    CHECK(r.outcome == Outcome::completed);
    CHECK(r.spout_task == 3);
    CHECK(table.pending() == 0);
  }

  TEST_CASE("a failure fails the tree at once, or as soon as its spout is known") {
    AckerTable table;
    table.init(1, 0x10, 2);
    auto r = table.fail(1);
    CHECK(r.outcome == Outcome::failed);
    CHECK(r.spout_task == 2);
    CHECK(table.pending() == 0);

    CHECK(table.fail(4).outcome == Outcome::pending);
    auto late = table.init(4, 0x20, 6);
    CHECK(late.outcome == Outcome::failed);
    CHECK(late.spout_task == 6);
  }

  TEST_CASE("a failed tree is not completed by the acks that follow") {
    AckerTable table;
    table.ack(8, 0x5);
    table.fail(8);
    auto r = table.init(8, 0x5, 1);  // XOR is zero now, but the tree failed
    CHECK(r.outcome == Outcome::failed);
  }

  TEST_CASE("rotation drops trees only after every bucket rotated") {
    AckerTable table(3);
    table.init(1, 0x1, 1);
    CHECK(table.rotate() == 0);
    CHECK(table.rotate() == 0);
    CHECK(table.pending() == 1);
    CHECK(table.rotate() == 1);
    CHECK(table.pending() == 0);
  }

  TEST_CASE("random trees with shuffled message order complete exactly on their last message") {
    std::mt19937_64 rng(12345);
    for (int trial = 0; trial < 500; ++trial) {
      AckerTable table;
      const std::uint64_t root = rng() | 1;
      // Build a random tree: each tuple has an edge id; acking it XORs its edge and its children's.
      struct Node {
        std::uint64_t edge;
        std::vector<std::size_t> children;
      };
      std::vector<Node> nodes;
      std::size_t first = 1 + rng() % 3;
      for (std::size_t i = 0; i < first; ++i) nodes.push_back({rng() | 1, {}});
      std::size_t total = first + rng() % 40;
      while (nodes.size() < total) {
        std::size_t parent = rng() % nodes.size();
        nodes[parent].children.push_back(nodes.size());
        nodes.push_back({rng() | 1, {}});
      }
      std::uint64_t init = 0;
      for (std::size_t i = 0; i < first; ++i) init ^= nodes[i].edge;
      std::vector<std::uint64_t> messages;  // 0 stands for the init
      messages.push_back(0);
      for (const Node& n : nodes) {
        std::uint64_t v = n.edge;
        for (std::size_t c : n.children) v ^= nodes[c].edge;
        messages.push_back(v);
      }
      std::shuffle(messages.begin(), messages.end(), rng);
      for (std::size_t i = 0; i < messages.size(); ++i) {
        auto r = messages[i] == 0 ? table.init(root, init, 7) : table.ack(root, messages[i]);
        if (i + 1 < messages.size()) {
          REQUIRE(r.outcome == Outcome::pending);
        } else {
          REQUIRE(r.outcome == Outcome::completed);
          REQUIRE(r.spout_task == 7);
        }
      }
      CHECK(table.pending() == 0);
    }
  }

  TEST_CASE("memory per pending tree is constant and small") {
    CHECK(AckerTable::entry_bytes() <= 32);
    AckerTable table;
    for (std::uint64_t r = 1; r <= 1000; ++r) table.init(r, r * 2654435761u, 1);
    CHECK(table.pending() == 1000);
  }
}
