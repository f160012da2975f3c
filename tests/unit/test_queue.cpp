#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "worker/batch_queue.hpp"
#include "worker/rotating_map.hpp"

using namespace std::chrono_literals;
using gale::worker::Batch;
using gale::worker::BatchQueue;
using gale::worker::Message;
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
      q.push(batch_of(1));
      pushed = true;
    });
    std::this_thread::sleep_for(50ms);
    CHECK_FALSE(pushed.load());  // still blocked: the queue holds its capacity
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
    std::this_thread::sleep_for(20ms);
    q.close();
    producer.join();
    CHECK(result.load() == 0);
    CHECK_FALSE(q.push_control(batch_of(1)));
    std::vector<Batch> out;
    CHECK(q.pop_all(out, 0ms) == 1);
  }

  TEST_CASE("wake ends a wait without data; a push ends it with data") {
    BatchQueue q(10);
    std::vector<Batch> out;
    std::thread waker([&] {
      std::this_thread::sleep_for(20ms);
      q.wake();
    });
    auto start = std::chrono::steady_clock::now();
    CHECK(q.pop_all(out, 10s) == 0);
    CHECK(std::chrono::steady_clock::now() - start < 5s);
    waker.join();

    std::thread pusher([&] {
      std::this_thread::sleep_for(20ms);
      q.push(batch_of(2));
    });
    CHECK(q.pop_all(out, 10s) == 2);
    pusher.join();
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
}
