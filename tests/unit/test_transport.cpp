// The ZeroMQ data path: two Workers in this process, each hosting part of a topology and talking
// over loopback TCP, plus the transport's routing, malformed input and backpressure on its own.

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include <gale/gale.hpp>
#include <gale/spouts/fixed_tuple_spout.hpp>
#include <gale/testing.hpp>

#include "cluster/assignment_file.hpp"
#include "tests/integration/topologies.hpp"
#include "tests/support/support.hpp"
#include "topology/src/plan.hpp"
#include "transport/zmq_transport.hpp"
#include "wire/codec.hpp"
#include "wire/stamp.hpp"
#include "worker/process/routes.hpp"
#include "worker/worker.hpp"

using namespace gale;
using gale::spouts::FixedTupleSpout;
using gale::transport::TaskRoute;
using gale::transport::ZmqTransport;
using gale::transport::ZmqTransportOptions;
using gale::wire::Message;
using gale::wire::MessageKind;
using gale::worker::Worker;
using gale::worker::WorkerOptions;
using Clock = std::chrono::steady_clock;
using gale::test::free_port;

namespace {

// ThreadSanitizer slows this path down a hundredfold; a smaller input keeps the bound far away.
#if defined(__SANITIZE_THREAD__)
constexpr int k_copies = 400;
#else
constexpr int k_copies = 4000;
#endif

std::string endpoint_of(int port) { return "tcp://127.0.0.1:" + std::to_string(port); }

// Polls `done` until it holds or `limit` passes; returns its last value.
bool eventually(const std::function<bool()>& done,
                std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  const auto deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() >= deadline) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// What the count bolts of both workers saw: per word, how often and on which tasks.
struct Tally {
  std::mutex mutex;
  std::map<std::string, std::int64_t> counts;
  std::map<std::string, std::set<std::int32_t>> tasks;
};

// Counts words into the shared tally (the sink of the test topology).
class TallyBolt : public Bolt {
 public:
  explicit TallyBolt(std::shared_ptr<Tally> tally) : tally_(std::move(tally)) {}
  void declare_outputs(OutputDeclarer&) override {}
  void prepare(const Context& context, BoltCollector&) override { task_ = context.task_id(); }
  void execute(const Tuple& input, BoltCollector& out) override {
    {
      std::lock_guard lock(tally_->mutex);
      const std::string& w = input.get_string("word");
      ++tally_->counts[w];
      tally_->tasks[w].insert(task_);
    }
    out.ack(input);
  }

 private:
  std::shared_ptr<Tally> tally_;
  std::int32_t task_ = 0;
};

// Word count split over two workers, each with a ZmqTransport on a loopback port. Executors are
// dealt round-robin like nimbus's even scheduler, so every kind of traffic (data, acker_init,
// acks, spout acks) crosses between the two.
struct TwoWorkers {
  zmq::context_t context{1};
  std::shared_ptr<Tally> tally = std::make_shared<Tally>();
  std::vector<Values> input;
  std::vector<int> ports;
  std::vector<std::unique_ptr<ZmqTransport>> transports;
  std::vector<std::unique_ptr<Worker>> workers;

  TwoWorkers(int copies, Config config, ZmqTransportOptions transport_options = {}) {
    input = test::sentences(copies);
    TopologyBuilder b;
    b.set_spout("sentences", make<FixedTupleSpout>(Fields{"sentence"}, input), 2);
    b.set_bolt("split", make<test::SplitBolt>(), 2).shuffle_grouping("sentences");
    b.set_bolt("count", make<TallyBolt>(tally), 2).fields_grouping("split", {"word"});
    Topology topology = b.build();

    detail::Plan plan(topology, config);
    std::vector<std::vector<std::int32_t>> tasks(2);
    int i = 0;
    for (const auto& executor : plan.executors()) {
      auto& mine = tasks[i++ % 2];
      mine.insert(mine.end(), executor.tasks.begin(), executor.tasks.end());
    }
    std::vector<TaskRoute> routes;
    for (int w = 0; w < 2; ++w) {
      ports.push_back(free_port());
      routes.push_back({endpoint_of(ports[w]), tasks[w]});
    }
    for (int w = 0; w < 2; ++w) {
      ZmqTransportOptions o = transport_options;
      o.port = ports[w];
      o.first_task = tasks[w].front();  // who it is on the wire, as a worker process sets it
      transports.push_back(std::make_unique<ZmqTransport>(context, o));
      transports[w]->set_routes(routes, 1);
      WorkerOptions wo;
      wo.tasks = tasks[w];
      wo.remote = transports[w].get();
      wo.name = "worker-" + std::to_string(w);
      workers.push_back(std::make_unique<Worker>(topology, config, wo));
    }
  }

  ~TwoWorkers() { stop(); }

  void start() {
    for (int w = 0; w < 2; ++w) {
      Worker& worker = *workers[w];
      transports[w]->start(
          [&worker](std::int32_t c, std::int32_t s) { return worker.plan().resolve(c, s); },
          [&worker](std::vector<Message>&& m) { worker.receive(std::move(m)); });
    }
    for (auto& w : workers) w->start();
  }

  // Stops the workers first (a receive() blocked on a full queue returns), then the transports.
  void stop() {
    for (auto& t : transports) t->limit_blocking(Clock::now() + std::chrono::milliseconds(500));
    for (auto& w : workers) w->stop(std::chrono::milliseconds(500));
    for (auto& t : transports) t->stop(std::chrono::milliseconds(500));
  }

  worker::ComponentStats stats(const std::string& component) const {
    worker::ComponentStats sum;
    for (const auto& w : workers) {
      for (const auto& c : w->stats().components) {
        if (c.component != component) continue;
        sum.tasks += c.tasks;
        sum.emitted += c.emitted;
        sum.acked += c.acked;
        sum.failed += c.failed;
        sum.executed += c.executed;
      }
    }
    return sum;
  }

  bool all_acked() const {
    return stats("sentences").acked >= input.size() &&
           workers[0]->pending_trees() + workers[1]->pending_trees() == 0;
  }

  void check_exact_counts() {
    auto spout = stats("sentences");
    CHECK(spout.tasks == 2);
    CHECK(spout.acked == input.size());
    CHECK(spout.failed == 0);
    const auto expected = test::expected_counts(input);
    std::lock_guard lock(tally->mutex);
    CHECK(tally->counts == expected);
    // Fields grouping holds across workers: each word reached exactly one count task.
    for (const auto& [word, tasks] : tally->tasks) {
      CAPTURE(word);
      CHECK(tasks.size() == 1);
    }
  }
};

// Acking messages carry no tuple, so a test can make batches of them without a topology.
wire::Batch ack_batch(std::int32_t task, std::uint64_t first, int n) {
  wire::Batch batch;
  for (int i = 0; i < n; ++i) {
    Message m;
    m.kind = MessageKind::acker_ack;
    m.task = task;
    m.root = 1;
    m.value = first + static_cast<std::uint64_t>(i);
    batch.push_back(std::move(m));
  }
  return batch;
}

const gale::wire::StreamResolver no_streams = [](std::int32_t, std::int32_t) {
  return static_cast<const detail::StreamMeta*>(nullptr);
};

// One data tuple [n] on a stream of the test's own, for batches that count as data.
const detail::StreamMeta numbers_stream{"numbers", "default", Fields{"n"}, 0, 0};
const gale::wire::StreamResolver numbers_only = [](std::int32_t c, std::int32_t s) {
  return c == 0 && s == 0 ? &numbers_stream : nullptr;
};

wire::Batch data_batch(std::int32_t task, std::int64_t n) {
  Message m;
  m.kind = MessageKind::tuple;
  m.task = task;
  m.meta = &numbers_stream;
  m.values = {Value(n)};
  m.source_task = 1;
  wire::Batch batch;
  batch.push_back(std::move(m));
  return batch;
}

// `batch` with a sender stamp in front, as a worker sends it. The default stamp names a sender
// on a newer assignment version than the test's receivers run (1), which every fence admits.
std::string stamped(const std::string& batch, gale::wire::SenderStamp stamp = {2, 0, 0}) {
  std::string message(gale::wire::stamp_size, '\0');
  gale::wire::write_stamp(stamp, message.data());
  return message + batch;
}

// Receives one batch on `socket` within the limit; empty when none came.
std::vector<Message> receive_batch(zmq::socket_t& socket,
                                   std::chrono::milliseconds limit = std::chrono::seconds(10),
                                   const gale::wire::StreamResolver& resolve = no_streams) {
  std::vector<Message> out;
  zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, limit);
  zmq::message_t message;
  if ((item.revents & ZMQ_POLLIN) && socket.recv(message, zmq::recv_flags::dontwait)) {
    REQUIRE(gale::wire::read_stamp(message.to_string_view()).has_value());
    gale::wire::decode_batch(message.to_string_view().substr(gale::wire::stamp_size), resolve,
                             out);
  }
  return out;
}

// What PayloadSpout saw: the ids acked and failed.
struct Outcomes {
  std::mutex mutex;
  std::set<std::int64_t> acked;
  std::set<std::int64_t> failed;
};

// Emits payloads[i] once with message id i (no replay), and records the outcome of each.
class PayloadSpout : public Spout {
 public:
  PayloadSpout(std::vector<Value> payloads, std::shared_ptr<Outcomes> outcomes)
      : payloads_(std::move(payloads)), outcomes_(std::move(outcomes)) {}
  void declare_outputs(OutputDeclarer& d) override { d.declare({"payload"}); }
  void open(const Context&, SpoutCollector& out) override { out_ = &out; }
  void next_tuple() override {
    if (next_ >= payloads_.size()) return;
    out_->emit({payloads_[next_]}, MessageId(static_cast<std::int64_t>(next_)));
    ++next_;
  }
  void ack(const MessageId& id) override {
    std::lock_guard lock(outcomes_->mutex);
    outcomes_->acked.insert(id.as_int());
  }
  void fail(const MessageId& id) override {
    std::lock_guard lock(outcomes_->mutex);
    outcomes_->failed.insert(id.as_int());
  }

 private:
  std::vector<Value> payloads_;
  std::shared_ptr<Outcomes> outcomes_;
  SpoutCollector* out_ = nullptr;
  std::size_t next_ = 0;
};

// Counts and acks what it gets.
class CountingBolt : public Bolt {
 public:
  explicit CountingBolt(std::shared_ptr<std::atomic<int>> count) : count_(std::move(count)) {}
  void declare_outputs(OutputDeclarer&) override {}
  void execute(const Tuple& input, BoltCollector& out) override {
    count_->fetch_add(1);
    out.ack(input);
  }

 private:
  std::shared_ptr<std::atomic<int>> count_;
};

// payloads -> sink over ZeroMQ: the spout runs in worker 0, the sink and the ackers in worker 1,
// so every tuple crosses, and so do its acker_init and the spout's ack or fail.
struct SpoutToSink {
  zmq::context_t context{1};
  std::shared_ptr<Outcomes> outcomes = std::make_shared<Outcomes>();
  std::shared_ptr<std::atomic<int>> received = std::make_shared<std::atomic<int>>(0);
  std::vector<std::unique_ptr<ZmqTransport>> transports;
  std::vector<std::unique_ptr<Worker>> workers;

  SpoutToSink(std::vector<Value> payloads, Config config, ZmqTransportOptions transport_options) {
    TopologyBuilder b;
    b.set_spout("big", make<PayloadSpout>(std::move(payloads), outcomes));
    b.set_bolt("sink", make<CountingBolt>(received)).shuffle_grouping("big");
    Topology topology = b.build();
    detail::Plan plan(topology, config);
    std::vector<std::vector<std::int32_t>> tasks(2);
    for (const auto& executor : plan.executors()) {
      const bool spout =
          executor.component_index >= 0 && plan.component(executor.component_index).is_spout;
      auto& mine = tasks[spout ? 0 : 1];
      mine.insert(mine.end(), executor.tasks.begin(), executor.tasks.end());
    }
    std::vector<TaskRoute> routes;
    std::vector<int> ports;
    for (int w = 0; w < 2; ++w) {
      ports.push_back(free_port());
      routes.push_back({endpoint_of(ports[w]), tasks[w]});
    }
    for (int w = 0; w < 2; ++w) {
      ZmqTransportOptions o = transport_options;
      o.port = ports[w];
      o.first_task = tasks[w].front();  // who it is on the wire, as a worker process sets it
      transports.push_back(std::make_unique<ZmqTransport>(context, o));
      transports[w]->set_routes(routes, 1);
      WorkerOptions wo;
      wo.tasks = tasks[w];
      wo.remote = transports[w].get();
      wo.name = "worker-" + std::to_string(w);
      workers.push_back(std::make_unique<Worker>(topology, config, wo));
    }
    for (int w = 0; w < 2; ++w) {
      Worker& worker = *workers[w];
      transports[w]->start(
          [&worker](std::int32_t c, std::int32_t s) { return worker.plan().resolve(c, s); },
          [&worker](std::vector<Message>&& m) { worker.receive(std::move(m)); });
    }
    for (auto& w : workers) w->start();
  }

  ~SpoutToSink() {
    for (auto& t : transports) t->limit_blocking(Clock::now() + std::chrono::milliseconds(500));
    for (auto& w : workers) w->stop(std::chrono::milliseconds(500));
    for (auto& t : transports) t->stop(std::chrono::milliseconds(500));
  }

  worker::ComponentStats spout_stats() const {
    for (const auto& c : workers[0]->stats().components) {
      if (c.component == "big") return c;
    }
    FAIL("no stats for the spout");
    return {};
  }
  std::size_t settled() {
    std::lock_guard lock(outcomes->mutex);
    return outcomes->acked.size() + outcomes->failed.size();
  }
};

// A transport that only receives, and records the value of every acking message delivered.
struct FencedReceiver {
  std::mutex mutex;
  std::vector<std::uint64_t> values;
  ZmqTransport transport;

  FencedReceiver(zmq::context_t& context, int port) : transport(context, options(port)) {
    transport.start(no_streams, [this](std::vector<Message>&& messages) {
      std::lock_guard lock(mutex);
      for (const Message& m : messages) values.push_back(m.value);
    });
  }
  ~FencedReceiver() { transport.stop(std::chrono::milliseconds(100)); }
  static ZmqTransportOptions options(int port) {
    ZmqTransportOptions o;
    o.port = port;
    return o;
  }
  std::size_t delivered_count() {
    std::lock_guard lock(mutex);
    return values.size();
  }
  std::vector<std::uint64_t> delivered_values() {
    std::lock_guard lock(mutex);
    return values;
  }
};

// A sender on `port` that runs its tasks, the lowest `first_task`, since version `tenure`.
ZmqTransportOptions stamped_sender(int port, std::int64_t tenure, std::int32_t first_task) {
  ZmqTransportOptions o;
  o.port = port;
  o.tenure = tenure;
  o.first_task = first_task;
  return o;
}

// The number after `prefix` in `text`, or -1.
long long number_after(const std::string& text, const std::string& prefix) {
  const auto at = text.find(prefix);
  if (at == std::string::npos) return -1;
  return std::atoll(text.c_str() + at + prefix.size());
}

Value nested_list(int depth) {
  Value v = 1;
  for (int i = 0; i < depth; ++i) v = Value(List{v});
  return v;
}

}  // namespace

TEST_SUITE("transport") {
  TEST_CASE("word count across two workers over ZeroMQ gives exact counts, every tuple acked") {
    Config config;
    config.set(keys::topology_acker_executors, 2);
    config.set(keys::topology_max_spout_pending, 2000);
    TwoWorkers run(k_copies, config);
    run.start();
    const auto started = Clock::now();
    REQUIRE(eventually([&] { return run.all_acked(); }, std::chrono::seconds(120)));
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    run.stop();
    run.check_exact_counts();
    const auto words = run.stats("count").executed;
    CHECK(run.transports[0]->stats().batches_sent > 0);
    CHECK(run.transports[1]->stats().batches_sent > 0);
    CHECK(run.transports[0]->stats().malformed_batches == 0);
    MESSAGE(run.input.size() << " sentences, " << words << " words through two workers in "
                             << seconds << " s (" << static_cast<double>(words) / seconds
                             << " words/s; " << run.transports[0]->stats().batches_sent << " + "
                             << run.transports[1]->stats().batches_sent << " batches sent)");
  }

  TEST_CASE("small queues and transport limits: backpressure slows the spouts, nothing is lost") {
    Config config;
    config.set(keys::topology_acker_executors, 1);
    config.set(keys::topology_executor_receive_buffer_size, 64);
    config.set(keys::topology_producer_batch_size, 8);
    ZmqTransportOptions limits;
    limits.max_queued_batches = 4;
    limits.max_queued_bytes = 4096;
    TwoWorkers run(400, config, limits);
    run.start();
    REQUIRE(eventually([&] { return run.all_acked(); }, std::chrono::seconds(120)));
    run.stop();
    run.check_exact_counts();
  }

  TEST_CASE("malformed batches are dropped and counted; the worker keeps working") {
    Config config;
    config.set(keys::topology_acker_executors, 2);
    TwoWorkers run(200, config);
    run.start();

    zmq::socket_t junk(run.context, zmq::socket_type::push);
    junk.set(zmq::sockopt::linger, 0);
    junk.connect(endpoint_of(run.ports[1]));
    std::vector<std::string> bad = {
        stamped(std::string("\x00\x01\x02 definitely not msgpack", 26)),
        stamped(std::string("\x93\x01\x02\x03")),                              // [1, 2, 3]
        stamped(std::string("\x92\x07\x90")),                                  // version 7
        stamped(std::string("\x92\x01\x91\x97\x00\x01\x09\x09\x01\x90\x90")),  // stream (9, 9)
        stamped(std::string("\x92\x01\x91\x95\x03\x01\x00\x01")),              // truncated ack
        stamped(std::string()),                                                // no batch
        std::string(),                                                         // empty
        gale::wire::encode_batch(ack_batch(9999, 1, 1)),                       // no stamp
        stamped(gale::wire::encode_batch(ack_batch(9999, 1, 1))).substr(0, 20),  // short stamp
    };
    for (const std::string& b : bad) {
      REQUIRE(junk.send(zmq::buffer(b), zmq::send_flags::none));
    }
    // A well-formed batch for a task that worker does not host: delivered, dropped and logged.
    std::string stray = stamped(gale::wire::encode_batch(ack_batch(9999, 1, 1)));
    REQUIRE(junk.send(zmq::buffer(stray), zmq::send_flags::none));
    CHECK(eventually([&] { return run.transports[1]->stats().malformed_batches == bad.size(); }));

    REQUIRE(eventually([&] { return run.all_acked(); }, std::chrono::seconds(120)));
    run.stop();
    run.check_exact_counts();
  }

  TEST_CASE("set_routes moves a task to a new endpoint; unknown tasks are refused") {
    zmq::context_t context(1);
    int own = free_port(), first = free_port(), second = free_port();
    zmq::socket_t peer1(context, zmq::socket_type::pull), peer2(context, zmq::socket_type::pull);
    peer1.set(zmq::sockopt::linger, 0);
    peer2.set(zmq::sockopt::linger, 0);
    peer1.bind(endpoint_of(first));
    peer2.bind(endpoint_of(second));

    ZmqTransportOptions o;
    o.port = own;
    ZmqTransport transport(context, o);
    transport.start(no_streams, [](std::vector<Message>&&) {});
    transport.set_routes({{endpoint_of(first), {5, 6}}}, 1);

    CHECK_FALSE(transport.send(7, ack_batch(7, 0, 1)));  // nobody hosts task 7
    REQUIRE(transport.send(5, ack_batch(5, 100, 3)));
    auto got = receive_batch(peer1);
    REQUIRE(got.size() == 3);
    CHECK(got[0].task == 5);
    CHECK(got[0].kind == MessageKind::acker_ack);
    CHECK(got[2].value == 102);

    transport.set_routes({{endpoint_of(second), {5}}, {endpoint_of(first), {6}}}, 1);
    REQUIRE(transport.send(5, ack_batch(5, 200, 2)));
    REQUIRE(transport.send(6, ack_batch(6, 300, 1)));
    got = receive_batch(peer2);
    REQUIRE(got.size() == 2);
    CHECK(got[1].value == 201);
    got = receive_batch(peer1);
    REQUIRE(got.size() == 1);
    CHECK(got[0].task == 6);

    // The first endpoint hosts nothing any more: its socket is closed, task 6 is refused.
    transport.set_routes({{endpoint_of(second), {5, 6}}}, 1);
    REQUIRE(transport.send(6, ack_batch(6, 400, 1)));
    got = receive_batch(peer2);
    REQUIRE(got.size() == 1);
    CHECK(got[0].value == 400);
    zmq::message_t none;
    CHECK_FALSE(peer1.recv(none, zmq::recv_flags::dontwait));

    transport.stop(std::chrono::milliseconds(100));
    CHECK_FALSE(transport.send(5, ack_batch(5, 0, 1)));  // stopping refuses, never blocks
    CHECK(transport.stats().dropped_batches == 2);
  }

  TEST_CASE("a peer that is not there yet: batches wait, in order, and none is lost") {
    zmq::context_t context(1);
    int own = free_port(), late = free_port();
    ZmqTransportOptions o;
    o.port = own;
    o.max_queued_batches = 16;
    ZmqTransport transport(context, o);
    transport.start(no_streams, [](std::vector<Message>&&) {});
    transport.set_routes({{endpoint_of(late), {3}}}, 1);

    // More batches than ZeroMQ's high-water mark (1000) holds for an absent peer: the rest wait
    // in the transport. Acking batches never block send(), so this thread gets through at once.
    constexpr int k_batches = 3000;
    for (int i = 0; i < k_batches; ++i) {
      REQUIRE(transport.send(3, ack_batch(3, static_cast<std::uint64_t>(i) * 2, 2)));
    }
    CHECK(eventually([&] { return transport.stats().queued_batches < k_batches; }));
    CHECK(transport.stats().queued_batches > 0);  // ZeroMQ took what it could, no more

    zmq::socket_t peer(context, zmq::socket_type::pull);
    peer.set(zmq::sockopt::linger, 0);
    peer.bind(endpoint_of(late));
    for (int i = 0; i < k_batches; ++i) {
      auto got = receive_batch(peer);
      REQUIRE(got.size() == 2);
      REQUIRE(got[0].value == static_cast<std::uint64_t>(i) * 2);
    }
    CHECK(eventually([&] { return transport.stats().queued_batches == 0; }));
    CHECK(transport.stats().batches_sent == k_batches);
    transport.stop(std::chrono::milliseconds(100));
  }

  TEST_CASE("a peer that does not take more blocks the senders of data, then gets everything") {
    zmq::context_t context(1);
    int own = free_port(), slow = free_port();
    ZmqTransportOptions o;
    o.port = own;
    o.max_queued_batches = 4;
    ZmqTransport transport(context, o);
    transport.start(numbers_only, [](std::vector<Message>&&) {});
    transport.set_routes({{endpoint_of(slow), {2}}}, 1);

    // Far more than ZeroMQ's high-water mark holds for a peer that is not there.
    constexpr int k_batches = 5000;
    std::atomic<int> handed{0};
    std::thread producer([&] {
      for (int i = 0; i < k_batches; ++i) {
        if (!transport.send(2, data_batch(2, i))) break;
        handed.fetch_add(1);
      }
    });
    // ZeroMQ's queue for the absent peer is full and so is the transport's: the producer waits.
    bool blocked = eventually([&] { return transport.stats().queued_batches >= 4; });
    CHECK(blocked);
    CHECK(transport.stats().queued_batches <= 4);
    CHECK(handed.load() < k_batches);

    zmq::socket_t peer(context, zmq::socket_type::pull);
    peer.set(zmq::sockopt::linger, 0);
    peer.bind(endpoint_of(slow));
    int received = 0;
    for (; received < k_batches; ++received) {
      auto got = receive_batch(peer, std::chrono::seconds(10), numbers_only);
      if (got.size() != 1) break;
      if (got[0].values.at(0).as_int() != received) break;
    }
    CHECK(received == k_batches);
    if (received != k_batches) transport.stop(std::chrono::milliseconds(0));  // frees the producer
    producer.join();
    CHECK(handed.load() == k_batches);
    transport.stop(std::chrono::milliseconds(100));
  }

  TEST_CASE("limit_blocking releases a sender stuck on a peer that never comes") {
    zmq::context_t context(1);
    int own = free_port(), absent = free_port();
    ZmqTransportOptions o;
    o.port = own;
    o.max_queued_batches = 2;
    ZmqTransport transport(context, o);
    transport.start(numbers_only, [](std::vector<Message>&&) {});
    transport.set_routes({{endpoint_of(absent), {2}}}, 1);
    std::atomic<int> refused{0};
    std::thread producer([&] {
      for (int i = 0; i < 5000 && refused.load() == 0; ++i) {
        if (!transport.send(2, data_batch(2, i))) refused.fetch_add(1);
      }
    });
    CHECK(eventually([&] { return transport.stats().queued_batches >= 2; }));
    transport.limit_blocking(Clock::now());
    producer.join();  // returns: the blocked send() gave up
    CHECK(refused.load() == 1);
    // Acking traffic is still taken (it never waits for room).
    CHECK(transport.send(2, ack_batch(2, 0, 1)));
    transport.stop(std::chrono::milliseconds(0));
  }

  TEST_CASE("assignment file: round trip, atomic replacement, clear errors") {
    namespace fs = std::filesystem;
    const fs::path dir =
        fs::temp_directory_path() / ("gale-assignment-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const fs::path path = dir / "assignment.msgpack";

    cluster::Assignment a;
    a.topology_id = "wc-1";
    a.version = 3;
    a.workers = {{"s1", "127.0.0.1", 6700, {1, 2, 5}}, {"s2", "10.0.0.2", 6701, {3, 4}}};
    Config config;
    config.set(keys::topology_workers, 2);
    config.set("topology.name", "wc");
    config.set("x.ratio", 0.5);
    cluster::write_assignment_file(path, a, config, "active");
    auto back = cluster::read_assignment_file(path);
    CHECK(back.assignment == a);
    CHECK(back.status == "active");
    CHECK(back.config.get_int(keys::topology_workers, 0) == 2);
    CHECK(back.config.get_string("topology.name", "") == "wc");
    CHECK(back.config.get_double("x.ratio", 0) == 0.5);

    a.version = 4;
    cluster::write_assignment_file(path, a, config, "inactive");
    back = cluster::read_assignment_file(path);
    CHECK(back.assignment.version == 4);
    CHECK(back.status == "inactive");
    int files = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir)) ++files;
    CHECK(files == 1);  // no temporary file left behind

    auto routes = worker::routes_of(a);
    REQUIRE(routes.size() == 2);
    CHECK(routes[1].endpoint == "tcp://10.0.0.2:6701");
    CHECK(routes[1].tasks == std::vector<std::int32_t>{3, 4});

    CHECK_THROWS_AS(cluster::write_assignment_file(path, a, config, "sleeping"),
                    cluster::ProtocolError);
    std::ofstream(path, std::ios::trunc) << "garbage";
    CHECK_THROWS_AS(cluster::read_assignment_file(path), cluster::ProtocolError);
    fs::remove_all(dir);
    CHECK_THROWS_AS(cluster::read_assignment_file(path), gale::Error);
  }

  TEST_CASE("a batch larger than max_message_bytes goes as several messages; one too large alone is refused") {
    zmq::context_t context(1);
    int own = free_port(), peer_port = free_port();
    // The receiving side as a worker sets it up: ZeroMQ drops anything larger than the limit.
    zmq::socket_t peer(context, zmq::socket_type::pull);
    peer.set(zmq::sockopt::linger, 0);
    peer.set(zmq::sockopt::maxmsgsize, std::int64_t{1024});
    peer.bind(endpoint_of(peer_port));
    ZmqTransportOptions o;
    o.port = own;
    o.max_message_bytes = 1024;
    ZmqTransport transport(context, o);
    transport.start(numbers_only, [](std::vector<Message>&&) {});
    transport.set_routes({{endpoint_of(peer_port), {2}}}, 1);

    // Three 400-byte tuples (1,200 bytes together), then one of 2,000 bytes, then a small one.
    wire::Batch batch;
    for (int i = 0; i < 5; ++i) {
      wire::Batch one = data_batch(2, i);
      one[0].values = {Value(std::string(i == 3 ? 2000 : i == 4 ? 10 : 400, 'a' + i))};
      one[0].anchors.push_back({100u + i, 200u + i});
      batch.push_back(std::move(one[0]));
    }
    std::vector<transport::RefusedMessage> refused;
    REQUIRE(transport.send(2, std::move(batch), refused));
    REQUIRE(refused.size() == 1);
    CHECK(refused[0].message.kind == MessageKind::tuple);
    CHECK(refused[0].message.anchors.size() == 1);
    CHECK(refused[0].message.anchors[0].root == 103);
    CHECK(refused[0].message.values.empty());  // released
    CHECK(refused[0].bytes > 2000);
    // The limit of a batch is the message's less the sender stamp in front of it.
    CHECK(refused[0].reason == "it takes " + std::to_string(refused[0].bytes) +
                                   " bytes encoded, over the limit of 1003 bytes per message");

    std::vector<std::string> got;
    for (int i = 0; i < 2; ++i) {
      auto messages = receive_batch(peer, std::chrono::seconds(10), numbers_only);
      for (const Message& m : messages) got.push_back(m.values.at(0).as_string());
      CHECK(!messages.empty());
    }
    REQUIRE(got.size() == 4);
    CHECK(got[0] == std::string(400, 'a'));
    CHECK(got[1] == std::string(400, 'b'));
    CHECK(got[2] == std::string(400, 'c'));
    CHECK(got[3] == std::string(10, 'e'));
    CHECK(transport.stats().batches_sent == 2);
    CHECK(transport.stats().split_batches == 1);
    CHECK(transport.stats().refused_messages == 1);
    transport.stop(std::chrono::milliseconds(100));
  }

  TEST_CASE("a tuple too large for the wire, or that cannot be encoded, fails its tree; the worker runs on") {
    // Tuple 7 takes ~2,000 bytes against a limit of 1,024; tuple 13 nests deeper than the wire
    // format allows (encoding it threw out of the executor thread: std::terminate). The others
    // are small and must all arrive and be acked.
    std::vector<Value> payloads;
    for (int i = 0; i < 30; ++i) payloads.push_back(Value("tuple " + std::to_string(i)));
    payloads[7] = Value(std::string(2000, 'x'));
    payloads[13] = nested_list(65);
    Config config;
    config.set(keys::topology_acker_executors, 1);
    config.set(keys::topology_message_timeout_secs, 300);  // a fail must not be a timeout
    ZmqTransportOptions limits;
    limits.max_message_bytes = 1024;
    SpoutToSink run(payloads, config, limits);

    REQUIRE(eventually([&] { return run.settled() == 30; }));
    {
      std::lock_guard lock(run.outcomes->mutex);
      CHECK(run.outcomes->failed == std::set<std::int64_t>{7, 13});
      CHECK(run.outcomes->acked.size() == 28);
    }
    CHECK(run.received->load() == 28);
    const auto spout = run.spout_stats();
    CHECK(spout.failed == 2);
    CHECK(spout.timed_out == 0);
    CHECK(spout.errors == 2);
    // The last error names the component, the stream and the size (or why it cannot be encoded).
    CHECK(spout.last_error.find("component 'big' emitted a tuple on stream 'default' that cannot "
                                "be sent to task ") == 0);
    CHECK(spout.last_error.find("value nests deeper than the limit of 64 levels; its tuple tree "
                                "fails") != std::string::npos);
    CHECK(run.transports[0]->stats().refused_messages == 2);
    CHECK(run.transports[1]->stats().malformed_batches == 0);
  }

  TEST_CASE("the error for a tuple too large for the wire names its size") {
    std::vector<Value> payloads{Value("small"), Value(std::string(3000, 'y')), Value("small")};
    Config config;
    config.set(keys::topology_acker_executors, 1);
    config.set(keys::topology_message_timeout_secs, 300);
    ZmqTransportOptions limits;
    limits.max_message_bytes = 1024;
    SpoutToSink run(payloads, config, limits);
    REQUIRE(eventually([&] { return run.settled() == 3; }));
    const auto spout = run.spout_stats();
    CHECK(spout.errors == 1);
    const long long size = number_after(spout.last_error, "in another worker: it takes ");
    CHECK(size > 3000);
    CHECK(size < 3100);
    CHECK(spout.last_error.find("component 'big' emitted a tuple on stream 'default'") == 0);
    // 1,024 less the sender stamp in front of every batch.
    CHECK(spout.last_error.find(" bytes encoded, over the limit of 1003 bytes per message; its "
                                "tuple tree fails") != std::string::npos);
    std::lock_guard lock(run.outcomes->mutex);
    CHECK(run.outcomes->failed == std::set<std::int64_t>{1});
  }

  TEST_CASE("batches over max_message_bytes are split, not lost: with acking off every tuple arrives") {
    // 200 tuples of ~300 bytes against a limit of 1,024: every full batch of the spout is far
    // over the limit, and the receiver's ZeroMQ would drop it without a trace.
    std::vector<Value> payloads;
    for (int i = 0; i < 200; ++i) payloads.push_back(Value(std::string(300, 'a' + i % 26)));
    Config config;
    config.set(keys::topology_acker_executors, 0);
    ZmqTransportOptions limits;
    limits.max_message_bytes = 1024;
    SpoutToSink run(payloads, config, limits);
    CHECK(eventually([&] { return run.received->load() == 200; }, std::chrono::seconds(20)));
    CHECK(run.received->load() == 200);
    CHECK(run.transports[0]->stats().refused_messages == 0);
    CHECK(run.spout_stats().errors == 0);
  }

  TEST_CASE("fencing: a superseded sender's batches are refused and counted, the new owner's and "
            "an unchanged peer's accepted") {
    // Task 5 ran on O since version 1; version 2 moved it to N. U runs task 7 since version 1,
    // unchanged, and has not adopted version 2 yet. The receiver R runs version 2.
    zmq::context_t context(1);
    const int r_port = free_port(), o_port = free_port(), n_port = free_port(),
              u_port = free_port();
    FencedReceiver r(context, r_port);
    r.transport.set_routes({{endpoint_of(n_port), {5}, 2},
                            {endpoint_of(u_port), {7}, 1},
                            {endpoint_of(r_port), {9}, 1}},
                           2);
    std::vector<TaskRoute> to_r = {{endpoint_of(r_port), {9}, 1}};
    ZmqTransport o(context, stamped_sender(o_port, 1, 5));
    ZmqTransport n(context, stamped_sender(n_port, 2, 5));
    ZmqTransport u(context, stamped_sender(u_port, 1, 7));
    o.set_routes(to_r, 1);
    n.set_routes(to_r, 2);
    u.set_routes(to_r, 1);
    for (ZmqTransport* t : {&o, &n, &u}) t->start(no_streams, [](std::vector<Message>&&) {});
    for (int i = 0; i < 10; ++i) {
      REQUIRE(o.send(9, ack_batch(9, 100 + 2 * i, 2)));  // acks, like the duplicated ones
      REQUIRE(n.send(9, ack_batch(9, 200 + 2 * i, 2)));
      REQUIRE(u.send(9, ack_batch(9, 300 + 2 * i, 2)));
    }
    REQUIRE(eventually([&] {
      return r.transport.stats().fenced_batches == 10 && r.delivered_count() == 40;
    }));
    const std::vector<std::uint64_t> got = r.delivered_values();
    CHECK(std::none_of(got.begin(), got.end(), [](std::uint64_t v) { return v < 200; }));
    CHECK(std::count_if(got.begin(), got.end(), [](std::uint64_t v) { return v >= 300; }) == 20);
    CHECK(r.transport.stats().batches_received == 20);
    CHECK(r.transport.stats().malformed_batches == 0);
    CHECK(r.transport.newest_peer_version() == 2);
    for (ZmqTransport* t : {&o, &n, &u}) t->stop(std::chrono::milliseconds(100));
  }

  TEST_CASE("fencing: a receiver behind the sender accepts it, learns its version, and fences "
            "the superseded sender once it adopts that version") {
    zmq::context_t context(1);
    const int r_port = free_port(), o_port = free_port(), n_port = free_port(),
              x_port = free_port();
    FencedReceiver r(context, r_port);
    // R still runs version 1, where O runs task 5; N already runs version 2, which gave it task 5.
    r.transport.set_routes({{endpoint_of(o_port), {5}, 1}, {endpoint_of(r_port), {9}, 1}}, 1);
    std::vector<TaskRoute> to_r = {{endpoint_of(r_port), {9}, 1}};
    ZmqTransport o(context, stamped_sender(o_port, 1, 5));
    ZmqTransport n(context, stamped_sender(n_port, 2, 5));
    ZmqTransport x(context, stamped_sender(x_port, 1, 8));  // task 8 runs nowhere for R
    o.set_routes(to_r, 1);
    n.set_routes(to_r, 2);
    x.set_routes(to_r, 1);
    for (ZmqTransport* t : {&o, &n, &x}) t->start(no_streams, [](std::vector<Message>&&) {});

    REQUIRE(n.send(9, ack_batch(9, 200, 1)));
    REQUIRE(o.send(9, ack_batch(9, 100, 1)));  // R cannot tell yet: accepted
    REQUIRE(eventually([&] { return r.delivered_count() == 2; }));
    CHECK(r.transport.newest_peer_version() == 2);
    CHECK(r.transport.stats().newest_peer_version == 2);
    CHECK(r.transport.stats().fenced_batches == 0);

    // A sender with a task no worker runs in R's assignment: refused unless it runs a newer one.
    REQUIRE(x.send(9, ack_batch(9, 400, 1)));
    REQUIRE(eventually([&] { return r.transport.stats().fenced_batches == 1; }));
    x.set_routes(to_r, 3);
    REQUIRE(x.send(9, ack_batch(9, 401, 1)));
    REQUIRE(eventually([&] { return r.delivered_count() == 3; }));
    CHECK(r.transport.newest_peer_version() == 3);

    // R adopts version 2: O is fenced from now on, N still accepted.
    r.transport.set_routes({{endpoint_of(n_port), {5}, 2}, {endpoint_of(r_port), {9}, 1}}, 2);
    REQUIRE(o.send(9, ack_batch(9, 101, 1)));
    REQUIRE(eventually([&] { return r.transport.stats().fenced_batches == 2; }));
    REQUIRE(n.send(9, ack_batch(9, 201, 1)));
    REQUIRE(eventually([&] { return r.delivered_count() == 4; }));
    const std::vector<std::uint64_t> got = r.delivered_values();
    CHECK(std::count(got.begin(), got.end(), 101) == 0);
    CHECK(std::count(got.begin(), got.end(), 201) == 1);
    for (ZmqTransport* t : {&o, &n, &x}) t->stop(std::chrono::milliseconds(100));
  }

  TEST_CASE("a sender stamps every message with its version, tenure and lowest task") {
    zmq::context_t context(1);
    const int own = free_port(), peer_port = free_port();
    zmq::socket_t peer(context, zmq::socket_type::pull);
    peer.set(zmq::sockopt::linger, 0);
    peer.bind(endpoint_of(peer_port));
    ZmqTransport transport(context, stamped_sender(own, 4, 3));
    transport.start(no_streams, [](std::vector<Message>&&) {});
    transport.set_routes({{endpoint_of(peer_port), {2}}}, 6);
    REQUIRE(transport.send(2, ack_batch(2, 1, 1)));
    zmq::pollitem_t item{peer.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::seconds(10));
    zmq::message_t message;
    REQUIRE(peer.recv(message, zmq::recv_flags::dontwait));
    const auto stamp = gale::wire::read_stamp(message.to_string_view());
    REQUIRE(stamp.has_value());
    CHECK(*stamp == gale::wire::SenderStamp{6, 4, 3});
    CHECK(message.size() ==
          gale::wire::stamp_size + gale::wire::encode_batch(ack_batch(2, 1, 1)).size());
    transport.stop(std::chrono::milliseconds(100));
  }
}
