// A Kafka cluster for the tests: librdkafka's mock cluster (the real Kafka protocol on loopback),
// in a process of its own so that a test can take brokers down and kill it by pid.
//
//   kafka_mock_cluster --brokers N [--topic NAME:PARTITIONS]...
//
// Prints the bootstrap servers on one line of stdout, then reads commands from stdin, one a line,
// answering each with one line, "ok" or "error: ...":
//   down ID      broker ID (1..N) closes its connections and refuses new ones
//   up ID        broker ID serves again
//   topic NAME PARTITIONS   creates a topic
// Runs until stdin closes (or SIGTERM, whose default action ends it).

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct TopicSpec {
  std::string name;
  int partitions = 1;
};

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "kafka_mock_cluster: " << problem
            << "\nusage: kafka_mock_cluster --brokers N [--topic NAME:PARTITIONS]...\n";
  std::exit(2);
}

std::string run_command(rd_kafka_mock_cluster_t* cluster, const std::string& line) {
  std::istringstream in(line);
  std::string verb;
  in >> verb;
  if (verb == "down" || verb == "up") {
    int id = 0;
    if (!(in >> id)) return "error: '" + verb + "' needs a broker id";
    const rd_kafka_resp_err_t err = verb == "down" ? rd_kafka_mock_broker_set_down(cluster, id)
                                                   : rd_kafka_mock_broker_set_up(cluster, id);
    return err ? std::string("error: ") + rd_kafka_err2str(err) : "ok";
  }
  if (verb == "topic") {
    std::string name;
    int partitions = 0;
    if (!(in >> name >> partitions)) return "error: 'topic' needs a name and a partition count";
    const rd_kafka_resp_err_t err =
        rd_kafka_mock_topic_create(cluster, name.c_str(), partitions, 1);
    return err ? std::string("error: ") + rd_kafka_err2str(err) : "ok";
  }
  return "error: unknown command '" + verb + "'";
}

}  // namespace

int main(int argc, char** argv) {
  int brokers = 1;
  std::vector<TopicSpec> topics;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) usage(arg + " needs a value");
    const std::string value = argv[++i];
    if (arg == "--brokers") {
      brokers = std::atoi(value.c_str());
      if (brokers < 1) usage("--brokers must be at least 1");
    } else if (arg == "--topic") {
      const auto colon = value.rfind(':');
      if (colon == std::string::npos) usage("--topic wants NAME:PARTITIONS, got " + value);
      topics.push_back({value.substr(0, colon), std::atoi(value.c_str() + colon + 1)});
      if (topics.back().partitions < 1) usage("a topic needs at least one partition: " + value);
    } else {
      usage("unknown option " + arg);
    }
  }

  char reason[512] = {};
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // Only errors on stderr: this handle has no bootstrap servers, by design.
  rd_kafka_conf_set(conf, "log_level", "3", reason, sizeof reason);
  // The mock cluster's threads belong to this handle, which never connects anywhere.
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason, sizeof reason);
  if (rk == nullptr) {
    std::cerr << "kafka_mock_cluster: " << reason << "\n";
    return 1;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (cluster == nullptr) {
    std::cerr << "kafka_mock_cluster: cannot create the mock cluster\n";
    return 1;
  }
  for (const TopicSpec& t : topics) {
    if (rd_kafka_resp_err_t err =
            rd_kafka_mock_topic_create(cluster, t.name.c_str(), t.partitions, 1)) {
      std::cerr << "kafka_mock_cluster: topic " << t.name << ": " << rd_kafka_err2str(err) << "\n";
      return 1;
    }
  }
  std::cout << rd_kafka_mock_cluster_bootstraps(cluster) << std::endl;

  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    std::cout << run_command(cluster, line) << std::endl;
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  return 0;
}
