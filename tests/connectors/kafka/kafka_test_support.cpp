#include "tests/connectors/kafka/kafka_test_support.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "cluster/child_process.hpp"

namespace gale::test::kafka {

namespace {

using Clock = std::chrono::steady_clock;

struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const noexcept { rd_kafka_destroy(rk); }
};
using HandlePtr = std::unique_ptr<rd_kafka_t, HandleDeleter>;

HandlePtr make_client(rd_kafka_type_t type, const std::string& bootstrap,
                      const std::vector<std::pair<std::string, std::string>>& properties) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char reason[512] = {};
  auto set = [&](const std::string& k, const std::string& v) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), reason, sizeof reason) != RD_KAFKA_CONF_OK) {
      throw std::runtime_error("test client property " + k + ": " + reason);
    }
  };
  set("bootstrap.servers", bootstrap);
  set("log_level", "3");
  for (const auto& [k, v] : properties) set(k, v);
  rd_kafka_t* rk = rd_kafka_new(type, conf, reason, sizeof reason);
  if (rk == nullptr) throw std::runtime_error(std::string("test client: ") + reason);
  return HandlePtr(rk);
}

void dr_count(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* failures = static_cast<std::vector<std::string>*>(opaque);
  if (m->err) failures->push_back(rd_kafka_err2str(m->err));
}

}  // namespace

MockCluster::MockCluster(int brokers, const std::vector<std::pair<std::string, int>>& topics) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  std::vector<std::string> args{KAFKA_MOCK_CLUSTER, "--brokers", std::to_string(brokers)};
  for (const auto& [name, partitions] : topics) {
    args.push_back("--topic");
    args.push_back(name + ":" + std::to_string(partitions));
  }
  cluster::ChildOptions options;
  options.stdin_fd = in[0];
  options.stdout_fd = out[1];
  try {
    pid_ = cluster::spawn_child(args, options);
  } catch (...) {
    for (int fd : {in[0], in[1], out[0], out[1]}) close(fd);
    throw;
  }
  close(in[0]);
  close(out[1]);
  to_child_ = in[1];
  from_child_ = out[0];
  bootstrap_ = read_line(std::chrono::seconds(10));
  if (bootstrap_.empty()) {
    stop();  // no destructor runs for a constructor that throws
    throw std::runtime_error("kafka_mock_cluster printed no bootstrap servers within 10 s");
  }
}

MockCluster::~MockCluster() { stop(); }

void MockCluster::stop() noexcept {
  cluster::kill_child(pid_);
  pid_ = -1;
  if (to_child_ >= 0) close(to_child_);
  if (from_child_ >= 0) close(from_child_);
  to_child_ = from_child_ = -1;
}

void MockCluster::command(const std::string& line) {
  const std::string text = line + "\n";
  if (write(to_child_, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    throw std::runtime_error("kafka_mock_cluster: cannot send '" + line + "'");
  }
  const std::string answer = read_line(std::chrono::seconds(10));
  if (answer != "ok") {
    throw std::runtime_error("kafka_mock_cluster: '" + line + "' answered '" + answer + "'");
  }
}

std::string MockCluster::read_line(std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  for (;;) {
    if (const auto nl = buffered_.find('\n'); nl != std::string::npos) {
      std::string line = buffered_.substr(0, nl);
      buffered_.erase(0, nl + 1);
      return line;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return "";
    pollfd p{from_child_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    char chunk[4096];
    const ssize_t n = read(from_child_, chunk, sizeof chunk);
    if (n <= 0) return "";  // the helper ended
    buffered_.append(chunk, static_cast<std::size_t>(n));
  }
}

void produce(const std::string& bootstrap, const std::string& topic,
             const std::vector<Record>& records) {
  std::vector<std::string> failures;
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set_dr_msg_cb(conf, dr_count);
  rd_kafka_conf_set_opaque(conf, &failures);
  char reason[512] = {};
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), reason, sizeof reason);
  rd_kafka_conf_set(conf, "linger.ms", "5", reason, sizeof reason);
  // Records without a key are spread at random, record by record: the default sticky partitioner
  // fills one partition per batch, which can leave one partition with several times its share
  // (the mock cluster drops the oldest records of a partition beyond 5 MB).
  rd_kafka_conf_set(conf, "sticky.partitioning.linger.ms", "0", reason, sizeof reason);
  rd_kafka_conf_set(conf, "log_level", "3", reason, sizeof reason);
  HandlePtr rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason, sizeof reason));
  if (!rk) throw std::runtime_error(std::string("test producer: ") + reason);
  for (const Record& r : records) {
    for (;;) {
      const rd_kafka_resp_err_t err = rd_kafka_producev(
          rk.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_KEY(r.key.empty() ? nullptr : const_cast<char*>(r.key.data()), r.key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(r.value.data()), r.value.size()), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        throw std::runtime_error(std::string("test producer: ") + rd_kafka_err2str(err));
      }
      rd_kafka_poll(rk.get(), 10);
    }
    rd_kafka_poll(rk.get(), 0);
  }
  if (rd_kafka_flush(rk.get(), 30'000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw std::runtime_error("test producer: records still undelivered after 30 s");
  }
  if (!failures.empty()) {
    throw std::runtime_error("test producer: " + std::to_string(failures.size()) +
                             " deliveries failed, first: " + failures.front());
  }
}

std::vector<Record> consume(const std::string& bootstrap, const std::string& topic, int partitions,
                            std::size_t count, std::chrono::milliseconds limit) {
  HandlePtr rk = make_client(RD_KAFKA_CONSUMER, bootstrap, {{"group.id", "gale-test-reader"}});
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(rk.get(), list);
  rd_kafka_topic_partition_list_destroy(list);
  std::vector<Record> out;
  const auto deadline = Clock::now() + limit;
  while (out.size() < count && Clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      out.push_back({m->key ? std::string(static_cast<const char*>(m->key), m->key_len) : "",
                     std::string(static_cast<const char*>(m->payload), m->len)});
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk.get());
  return out;
}

std::vector<std::int64_t> committed(const std::string& bootstrap, const std::string& group,
                                    const std::string& topic, int partitions) {
  HandlePtr rk = make_client(RD_KAFKA_CONSUMER, bootstrap, {{"group.id", group}});
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) rd_kafka_topic_partition_list_add(list, topic.c_str(), p);
  const rd_kafka_resp_err_t err = rd_kafka_committed(rk.get(), list, 5000);
  std::vector<std::int64_t> out(static_cast<std::size_t>(partitions), RD_KAFKA_OFFSET_INVALID);
  for (int i = 0; i < list->cnt; ++i) {
    out[static_cast<std::size_t>(list->elems[i].partition)] = list->elems[i].offset;
  }
  rd_kafka_topic_partition_list_destroy(list);
  if (err) throw std::runtime_error(std::string("rd_kafka_committed: ") + rd_kafka_err2str(err));
  return out;
}

std::vector<std::int64_t> end_offsets(const std::string& bootstrap, const std::string& topic,
                                      int partitions) {
  HandlePtr rk = make_client(RD_KAFKA_CONSUMER, bootstrap, {{"group.id", "gale-test-reader"}});
  std::vector<std::int64_t> out;
  for (int p = 0; p < partitions; ++p) {
    std::int64_t low = 0, high = 0;
    if (const rd_kafka_resp_err_t err =
            rd_kafka_query_watermark_offsets(rk.get(), topic.c_str(), p, &low, &high, 5000)) {
      throw std::runtime_error(std::string("watermarks: ") + rd_kafka_err2str(err));
    }
    out.push_back(high);
  }
  return out;
}

LocalRun::LocalRun(Topology topology, Config config)
    : worker_(std::make_unique<worker::Worker>(std::move(topology), std::move(config))) {
  worker_->start();
}

LocalRun::~LocalRun() { stop(); }

worker::ComponentStats LocalRun::stats(const std::string& component) const {
  for (const worker::ComponentStats& c : worker_->stats().components) {
    if (c.component == component) return c;
  }
  return {};
}

bool LocalRun::spouts_idle() const { return worker_->spouts_idle(); }

void LocalRun::stop() { worker_->stop(std::chrono::seconds(5)); }

}  // namespace gale::test::kafka
