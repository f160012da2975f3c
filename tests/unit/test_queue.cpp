#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "tests/support/support.hpp"
#include "worker/batch_queue.hpp"
#include "worker/rotating_map.hpp"

using namespace std::chrono_literals;
using gale::wire::Batch;
using gale::wire::Message;
using gale::worker::BatchQueue;
using gale::worker::RotatingMap;

namespace {

Batch batch_of(int n, int first_task = 0) {
  Batch b;
  for (int i = 0; i < n; ++i) {
    Message m;
    m.task = first_task + i;
    b.push_back(m);
  }
  return b;
}

}  // namespace

TEST_SUITE("queue") {
  TEST_CASE("batches come out whole and in order") {
    BatchQueue q(100);
    CHECK(q.push(batch_of(3, 0)));
    CHECK(q.push(batch_of(2, 10)));
    std::vector<Batch> out;
    CHECK(q.pop_all(out, 0ms) == 5);
    REQUIRE(out.size() == 2);
    CHECK(out[0].size() == 3);
    CHECK(out[0][2].task == 2);
    CHECK(out[1][0].task == 10);
    CHECK(q.size() == 0);
    out.clear();
    CHECK(q.pop_all(out, 0ms) == 0);
  }

  TEST_CASE("emptied batches come back to producers as spare capacity") {
    BatchQueue q(1000);
    Batch batch = batch_of(64);
    CHECK(q.push(batch));
    CHECK(batch.empty());
    CHECK(batch.capacity() == 0);  // no spare yet
    std::vector<Batch> out;
    std::vector<Batch> spent;
    CHECK(q.pop_all(out, 0ms, spent) == 64);
    const Message* storage = out.front().data();
    out.front().clear();
    spent.push_back(std::move(out.front()));
    out.clear();
    CHECK(q.pop_all(out, 0ms, spent) == 0);
    CHECK(spent.empty());
    // The next push takes the new messages and hands back the emptied vector.
    batch.push_back(Message{});
    CHECK(q.push(batch));
    CHECK(batch.empty());
    CHECK(batch.capacity() >= 64);
    CHECK(batch.data() == storage);
    CHECK(q.pop_all(out, 0ms) == 1);
  }

  TEST_CASE("a full queue blocks the data producer until the consumer takes") {
    BatchQueue q(4);
    CHECK(q.push(batch_of(4)));
    std::atomic<bool> pushed{false};
    std::thread producer([&] {
      pushed = q.push(batch_of(1));
    });
    // The producer is seen blocked inside push(), not merely not finished yet.
    CHECK(gale::test::wait_until([&] { return q.blocked_producers() == 1; }));
    CHECK_FALSE(pushed.load());
    CHECK(q.size() == 4);
    std::vector<Batch> out;
    CHECK(q.pop_all(out, 0ms) == 4);
    producer.join();
    CHECK(pushed.load());
    CHECK(q.size() == 1);
  }

  TEST_CASE("control pushes never block, even over capacity") {
    BatchQueue q(2);
    CHECK(q.push(batch_of(2)));
    CHECK(q.push_control(batch_of(5)));
    CHECK(q.size() == 7);
  }

  TEST_CASE("close releases a blocked producer and refuses pushes, queued batches stay") {
    BatchQueue q(1);
    CHECK(q.push(batch_of(1)));
    std::atomic<int> result{-1};
    std::thread producer([&] { result = q.push(batch_of(1)) ? 1 : 0; });
    CHECK(gale::test::wait_until([&] { return q.blocked_producers() == 1; }));  // blocked before the close
    q.close();
    producer.join();
    CHECK(result.load() == 0);
    CHECK(q.blocked_producers() == 0);
    CHECK_FALSE(q.push(batch_of(1)));
    CHECK_FALSE(q.push_control(batch_of(1)));
    std::vector<Batch> out;
    CHECK(q.pop_all(out, 0ms) == 1);
  }

  TEST_CASE("wake ends a wait without data; a push ends it with data") {
    BatchQueue q(10);
    std::vector<Batch> out;
    // Each helper acts only once the consumer is asleep in pop_all(), so the wait is really ended
    // early: without the wake-up it would last the full 10 s.
    std::atomic<bool> saw_wait{false};
    std::thread waker([&] {
      saw_wait = gale::test::wait_until([&] { return q.consumer_waiting(); });
      q.wake();
    });
    auto start = std::chrono::steady_clock::now();
    CHECK(q.pop_all(out, 10s) == 0);
    CHECK(std::chrono::steady_clock::now() - start < 5s);
    waker.join();
    CHECK(saw_wait.load());

    std::atomic<bool> pushed{false};
    std::thread pusher([&] {
      saw_wait = gale::test::wait_until([&] { return q.consumer_waiting(); });
      pushed = q.push(batch_of(2));
    });
    start = std::chrono::steady_clock::now();
    CHECK(q.pop_all(out, 10s) == 2);
    CHECK(std::chrono::steady_clock::now() - start < 5s);
    pusher.join();
    CHECK(saw_wait.load());
    CHECK(pushed.load());
  }

  TEST_CASE("rotating map: entries expire after every bucket rotated, takes remove them") {
    RotatingMap<int, int> m(3);
    m.insert(1, 10);
    m.insert(2, 20);
    std::vector<int> expired;
    m.rotate([&](int k, int) { expired.push_back(k); });
    m.insert(3, 30);
    m.rotate([&](int k, int) { expired.push_back(k); });
    CHECK(expired.empty());
    int v = 0;
    CHECK(m.take(2, v));
    CHECK(v == 20);
    CHECK_FALSE(m.take(2, v));
    REQUIRE(m.find(1) != nullptr);
    CHECK(*m.find(1) == 10);
    m.rotate([&](int k, int) { expired.push_back(k); });
    CHECK(expired == std::vector<int>{1});
    CHECK(m.size() == 1);
    m.rotate([&](int k, int) { expired.push_back(k); });
    CHECK(expired == std::vector<int>{1, 3});
    CHECK(m.size() == 0);
  }

  TEST_CASE(
      "rotating map: random operations agree with a plain map, through growth and shrinking") {
    // Keys from a small range collide and form long probe runs, so removals in the middle of a
    // run (which shift the entries after it back) are exercised on every kind of position.
    std::mt19937_64 rng(4242);
    constexpr std::uint64_t k_generations = 3;
    RotatingMap<std::uint64_t, std::uint64_t> m(k_generations);
    struct Entry {
      std::uint64_t value;
      std::uint64_t generation;
    };
    std::map<std::uint64_t, Entry> model;
    std::uint64_t generation = 0;
    for (int step = 0; step < 200000; ++step) {
      const std::uint64_t key = rng() % (step < 100000 ? 300 : 3000);
      const auto op = rng() % 100;
      if (op < 40) {
        m.insert(key, step);
        model[key] = {static_cast<std::uint64_t>(step), generation};
      } else if (op < 55) {
        std::uint64_t& v = m.find_or_insert(key);
        auto [it, added] = model.try_emplace(key, Entry{0, generation});
        REQUIRE(v == it->second.value);
        v += 7;
        it->second.value += 7;
      } else if (op < 75) {
        std::uint64_t v = 0;
        const bool had = model.count(key) > 0;
        REQUIRE(m.take(key, v) == had);
        if (had) {
          REQUIRE(v == model[key].value);
          model.erase(key);
        }
      } else if (op < 85) {
        REQUIRE(m.erase(key) == (model.erase(key) > 0));
      } else if (op < 99) {
        std::uint64_t* v = m.find(key);
        auto it = model.find(key);
        REQUIRE((v != nullptr) == (it != model.end()));
        if (v != nullptr) REQUIRE(*v == it->second.value);
      } else if (rng() % 20 == 0) {
        ++generation;
        std::set<std::uint64_t> expected;
        for (auto it = model.begin(); it != model.end();) {
          if (generation - it->second.generation >= k_generations) {
            expected.insert(it->first);
            it = model.erase(it);
          } else {
            ++it;
          }
        }
        std::set<std::uint64_t> expired;
        m.rotate([&](std::uint64_t k, std::uint64_t) {
          expired.insert(k);
          m.insert(k + 1'000'000, 1);  // an expiry callback may insert (a spout's fail re-emits)
          model[k + 1'000'000] = {1, generation};
        });
        REQUIRE(expired == expected);
      }
      REQUIRE(m.size() == model.size());
    }
    // Every remaining entry is still found.
    for (const auto& [key, entry] : model) {
      REQUIRE(m.find(key) != nullptr);
      CHECK(*m.find(key) == entry.value);
    }
  }
}
