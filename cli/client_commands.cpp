#include "cli/client_commands.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>

#include <boost/program_options.hpp>
#include <zmq.hpp>

#include <gale/errors.hpp>

#include "cli/config_file.hpp"
#include "cli/report.hpp"
#include "cluster/assignment_file.hpp"
#include "cluster/protocol.hpp"
#include "cluster/rpc.hpp"

namespace gale::cli {

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

constexpr const char* k_default_nimbus = "127.0.0.1:6627";
constexpr const char* k_nimbus_address_key = "nimbus.address";
constexpr double k_default_timeout_s = 5;
// Nimbus answers a submit after loading the plugin in a child process (up to its
// nimbus.plugin.check.timeout.secs, 30 by default).
constexpr double k_submit_timeout_s = 60;

struct VerbInfo {
  const char* name;
  const char* synopsis;  // after "gale VERB"
  const char* summary;
};

constexpr VerbInfo k_verbs[] = {
    {"submit", "PLUGIN.so --name NAME [options]",
     "Uploads a topology plugin to nimbus, which checks it, stores it and assigns its\n"
     "executors to topology.workers worker slots of the cluster's supervisors.\n"
     "The config entries of the config file and each -c, in order, override the\n"
     "plugin's own config for this topology."},
    {"list", "[options]",
     "Lists the topologies nimbus runs: name, status, workers, tasks, uptime, id."},
    {"status", "NAME [options]",
     "Shows a topology: its status, uptime and assignment version; per worker its\n"
     "host:port, supervisor, state (running, starting, restarting, stopped, unknown),\n"
     "pid, uptime, restarts after crashes, last exit, tasks, components and last\n"
     "error; a line per executor a running worker reports stuck\n"
     "(topology.executor.stuck.secs without progress inside user code); per\n"
     "component its counters since the topology started (across worker restarts)\n"
     "and the rates of the workers running now."},
    {"kill", "NAME [--wait S] [options]",
     "Kills a topology: its spouts stop emitting at once, then after S seconds (for\n"
     "pending tuple trees to complete) its workers stop and nimbus forgets it."},
    {"activate", "NAME [options]", "Lets the spouts of a deactivated topology emit again."},
    {"deactivate", "NAME [options]",
     "Stops the spouts of a topology from emitting; pending tuple trees complete.\n"
     "`gale activate` resumes it."},
    {"rebalance", "NAME -n WORKERS [options]",
     "Spreads a topology's executors over a new number of worker processes; workers\n"
     "whose tasks change are restarted by their supervisors."},
};

const VerbInfo* find_verb(std::string_view verb) {
  for (const VerbInfo& v : k_verbs) {
    if (verb == v.name) return &v;
  }
  return nullptr;
}

po::options_description verb_options(std::string_view verb) {
  po::options_description options("Options");
  std::ostringstream timeout_text;
  timeout_text << "seconds to wait for nimbus's answer (default "
               << (verb == "submit" ? k_submit_timeout_s : k_default_timeout_s) << ")";
  // clang-format off
  options.add_options()("help,h", "show this help and exit");
  if (verb == "submit") {
    options.add_options()
        ("name", po::value<std::string>()->value_name("NAME"), "the topology's name (required)")
        ("set,c", po::value<std::vector<std::string>>()->value_name("KEY=VALUE")->composing(),
         "set a topology config entry; repeatable; wins over the plugin and the config file");
  } else if (verb == "kill") {
    options.add_options()
        ("wait", po::value<double>()->value_name("S")->default_value(30, "30"),
         "seconds between deactivating the spouts and stopping the workers");
  } else if (verb == "rebalance") {
    options.add_options()
        ("workers,n", po::value<std::int64_t>()->value_name("WORKERS"),
         "the new number of worker processes (required)");
  }
  options.add_options()
      ("nimbus", po::value<std::string>()->value_name("HOST:PORT"),
       "nimbus to talk to (default: nimbus.address of the config file, else 127.0.0.1:6627)")
      ("config", po::value<std::string>()->value_name("FILE"),
       "config file (gale.conf format; default ./gale.conf when it exists)")
      ("timeout", po::value<double>()->value_name("S"), timeout_text.str().c_str());
  // clang-format on
  return options;
}

// What every verb needs: where nimbus is and how long to wait for it.
struct Target {
  std::string nimbus;
  double timeout_s = k_default_timeout_s;
};

std::string seconds_text(double s) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", s);
  return buffer;
}

// Sends one request; returns the body of the ok reply. Throws Error with nimbus's message for an
// error reply and with "did not answer" when no reply came in time.
Map call_nimbus(const Target& target, std::string_view verb, const Map& body) {
  zmq::context_t context(1);
  const auto timeout = std::chrono::milliseconds(std::llround(target.timeout_s * 1000));
  std::optional<cluster::Reply> reply;
  {
    cluster::RpcClient client(context, cluster::tcp_endpoint(target.nimbus), timeout);
    try {
      reply = client.call(verb, body);
    } catch (const cluster::ProtocolError& e) {
      throw Error("nimbus at " + target.nimbus + " sent a malformed reply: " + e.what());
    }
  }
  if (!reply) {
    throw Error("nimbus at " + target.nimbus + " did not answer within " +
                seconds_text(target.timeout_s) + " s");
  }
  if (!reply->ok) throw Error(reply->error);
  return reply->body;
}

std::string read_plugin(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error("plugin file " + path + " does not exist");
  if (!fs::is_regular_file(path, ec)) throw Error("plugin file " + path + " is not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read plugin file " + path);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error("cannot read plugin file " + path);
  if (bytes.empty()) throw Error("plugin file " + path + " is empty");
  return bytes;
}

// A plain text table: columns padded to their widest cell, two spaces apart.
std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string dash_if_empty(std::string s) { return s.empty() ? "-" : s; }

int run_list(const Target& target) {
  const Map reply = call_nimbus(target, "list", Map{});
  const List& topologies = cluster::get_list(reply, "topologies");
  if (topologies.empty()) {
    std::cout << "no topologies\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows{
      {"NAME", "STATUS", "WORKERS", "TASKS", "UPTIME", "ID"}};
  for (const Value& item : topologies) {
    const Map& t = item.as_map();
    rows.push_back({cluster::get_string(t, "name"), cluster::get_string(t, "status"),
                    std::to_string(cluster::get_int(t, "workers")),
                    std::to_string(cluster::get_int(t, "tasks")),
                    duration_text(cluster::get_int(t, "uptime_secs")),
                    cluster::get_string(t, "topology_id")});
  }
  std::cout << table(rows);
  for (const Value& item : topologies) {
    const Map& t = item.as_map();
    if (t.count("damaged")) {
      std::cout << cluster::get_string(t, "name")
                << " is damaged: " << cluster::get_string(t, "damaged") << "\n";
    }
  }
  return 0;
}

int run_status(const Target& target, const std::string& name) {
  Map request;
  request["name"] = name;
  const Map reply = call_nimbus(target, "status", request);
  std::cout << "topology " << cluster::get_string(reply, "name") << " (id "
            << cluster::get_string(reply, "topology_id")
            << "): " << cluster::get_string(reply, "status") << ", up "
            << duration_text(cluster::get_int(reply, "uptime_secs")) << ", assignment version "
            << cluster::get_int(reply, "version") << "\n";
  if (reply.count("damaged")) {
    std::cout << "damaged: " << cluster::get_string(reply, "damaged")
              << "\n  its workers keep running; only `gale kill` works on it\n";
  }
  const List& workers = cluster::get_list(reply, "workers");
  if (workers.empty()) {
    std::cout << "no workers assigned\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows{{"WORKER", "SUPERVISOR", "STATE", "PID", "UPTIME",
                                              "RESTARTS", "LAST EXIT", "TASKS", "COMPONENTS",
                                              "LAST ERROR"}};
  for (const Value& item : workers) {
    const Map& w = item.as_map();
    std::vector<std::int64_t> tasks;
    for (const Value& t : cluster::get_list(w, "tasks")) tasks.push_back(t.as_int());
    std::string components;
    for (const Value& c : cluster::get_list(w, "components")) {
      if (!components.empty()) components += ",";
      components += c.as_string();
    }
    const std::string state = cluster::get_string(w, "state");
    const std::int64_t pid = cluster::get_int_or(w, "pid", 0);
    // Uptime only for a worker that runs: the last one a dead worker told is not live.
    const bool running = state == "running";
    rows.push_back(
        {cluster::get_string(w, "host") + ":" + std::to_string(cluster::get_int(w, "port")),
         cluster::get_string(w, "supervisor"), state, pid > 0 ? std::to_string(pid) : "-",
         running ? duration_text(cluster::get_int(w, "uptime_secs")) : "-",
         std::to_string(cluster::get_int(w, "restarts")),
         dash_if_empty(cluster::get_string_or(w, "last_exit", "")), task_ranges(tasks),
         dash_if_empty(components), dash_if_empty(cluster::get_string_or(w, "last_error", ""))});
  }
  std::cout << table(rows);
  // Executors the running workers' last heartbeats found stuck, one line each.
  for (const Value& item : workers) {
    const Map& w = item.as_map();
    if (cluster::get_string_or(w, "state", "running") != "running") continue;
    if (!w.count("stats") || !w.at("stats").is_map()) continue;
    for (const auto& [component, value] : w.at("stats").as_map()) {
      if (!value.is_map() || !value.as_map().count("stuck")) continue;
      const Map& s = value.as_map();
      for (const Value& e : cluster::get_list(s, "stuck")) {
        const Map& stuck = e.as_map();
        std::vector<std::int64_t> tasks;
        for (const Value& t : cluster::get_list(stuck, "tasks")) tasks.push_back(t.as_int());
        std::cout << cluster::get_string(w, "host") << ":" << cluster::get_int(w, "port")
                  << " stuck: " << cluster::get_string_or(s, "kind", "bolt") << " '" << component
                  << "' " << (tasks.size() == 1 ? "task " : "tasks ") << task_ranges(tasks)
                  << " for " << cluster::get_int(stuck, "secs") << " s inside "
                  << cluster::get_string(stuck, "inside") << " ("
                  << cluster::get_int(stuck, "queued") << " tuples queued)\n";
      }
    }
  }
  const std::string components =
      reply.count("components") ? component_table(cluster::get_map(reply, "components")) : "";
  if (!components.empty()) std::cout << "\n" << components;
  return 0;
}

}  // namespace

std::string component_table(const Map& components) {
  struct Row {
    std::string component, kind;
    std::int64_t tasks = 0, emitted = 0, acked = 0, failed = 0, executed = 0, rate = 0;
    std::int64_t latency_count = 0, p50_us = 0, p99_us = 0;
  };
  std::vector<Row> order;
  for (const auto& [component, value] : components) {
    if (!value.is_map()) continue;
    const Map& s = value.as_map();
    Row r;
    r.component = component;
    r.kind = cluster::get_string_or(s, "kind", "bolt");
    r.tasks = cluster::get_int_or(s, "tasks", 0);
    r.emitted = cluster::get_int_or(s, "emitted", 0);
    r.acked = cluster::get_int_or(s, "acked", 0);
    r.failed = cluster::get_int_or(s, "failed", 0);
    r.executed = cluster::get_int_or(s, "executed", 0);
    r.rate = cluster::get_int_or(s, "rate_per_s", 0);
    r.latency_count = cluster::get_int_or(s, "latency_count", 0);
    r.p50_us = cluster::get_int_or(s, "latency_p50_us", 0);
    r.p99_us = cluster::get_int_or(s, "latency_p99_us", 0);
    order.push_back(std::move(r));
  }
  if (order.empty()) return "";
  // Spouts first, ackers last, each group by component id.
  auto rank = [](const Row& r) { return r.kind == "spout" ? 0 : r.kind == "acker" ? 2 : 1; };
  std::stable_sort(order.begin(), order.end(),
                   [&](const Row& a, const Row& b) { return rank(a) < rank(b); });
  auto count = [](std::int64_t n) {
    return human_count(static_cast<std::uint64_t>(std::max<std::int64_t>(n, 0)));
  };
  auto ms = [](std::int64_t us) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.2f", us / 1000.0);
    return std::string(buffer);
  };
  std::vector<std::vector<std::string>> rows{{"COMPONENT", "KIND", "TASKS", "EMITTED", "ACKED",
                                              "FAILED", "EXECUTED", "RATE/S",
                                              "LATENCY P50/P99 MS"}};
  for (const Row& t : order) {
    rows.push_back({t.component, t.kind, std::to_string(t.tasks), count(t.emitted),
                    count(t.acked), count(t.failed), t.kind == "spout" ? "-" : count(t.executed),
                    count(t.rate),
                    t.latency_count > 0 && t.p99_us > 0 ? ms(t.p50_us) + " / " + ms(t.p99_us)
                                                        : "-"});
  }
  return table(rows);
}

bool is_client_verb(std::string_view verb) { return find_verb(verb) != nullptr; }

std::string duration_text(std::int64_t s) {
  if (s < 0) s = 0;
  char buffer[48];
  if (s < 60) {
    std::snprintf(buffer, sizeof buffer, "%llds", static_cast<long long>(s));
  } else if (s < 3600) {
    std::snprintf(buffer, sizeof buffer, "%lldm %02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  } else if (s < 86400) {
    std::snprintf(buffer, sizeof buffer, "%lldh %02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s % 3600 / 60));
  } else {
    std::snprintf(buffer, sizeof buffer, "%lldd %02lldh", static_cast<long long>(s / 86400),
                  static_cast<long long>(s % 86400 / 3600));
  }
  return buffer;
}

std::string task_ranges(const std::vector<std::int64_t>& tasks) {
  std::string out;
  for (std::size_t i = 0; i < tasks.size();) {
    std::size_t j = i;
    while (j + 1 < tasks.size() && tasks[j + 1] == tasks[j] + 1) ++j;
    if (!out.empty()) out += ",";
    out += std::to_string(tasks[i]);
    if (j > i) out += "-" + std::to_string(tasks[j]);
    i = j + 1;
  }
  return out.empty() ? "-" : out;
}

std::string nimbus_address(const std::optional<std::string>& flag, const Config& config) {
  std::string address = flag ? *flag : config.get_string(k_nimbus_address_key, k_default_nimbus);
  cluster::tcp_endpoint(address);  // throws for text that is not HOST:PORT
  return address;
}

std::string client_help(std::string_view verb) {
  const VerbInfo* info = find_verb(verb);
  if (info == nullptr) return "";
  std::ostringstream out;
  out << "Usage: gale " << info->name << " " << info->synopsis << "\n\n"
      << info->summary << "\n\n"
      << verb_options(verb) << "\n"
      << "Nimbus's errors (unknown topology, duplicate name, invalid plugin, not enough\n"
         "free slots) are printed as one line; the exit status is then 1 (2 for bad\n"
         "arguments).\n";
  if (verb == "submit") {
    out << "\nExample:\n"
           "  gale submit build/examples/word_count.so --name wc -c topology.workers=4\n";
  } else if (verb == "rebalance") {
    out << "\nExample:\n  gale rebalance wc -n 2\n";
  } else if (verb == "kill") {
    out << "\nExample:\n  gale kill wc --wait 5\n";
  }
  return out.str();
}

int run_client(std::string_view verb, const std::vector<std::string>& args) {
  po::options_description all = verb_options(verb);
  all.add_options()("positional", po::value<std::string>(), "");
  po::positional_options_description positional;
  if (verb != "list") positional.add("positional", 1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << client_help(verb);
    return 0;
  }
  const std::string verb_name(verb);
  const std::string what = verb == "submit" ? "the plugin to submit" : "the topology name";
  const std::string synopsis = find_verb(verb)->synopsis;
  if (verb != "list" && !vm.count("positional")) {
    throw po::error("missing " + what + ": gale " + verb_name + " " + synopsis);
  }

  // The config file's entries, then each -c (submit only) in order.
  const Config config = load_config(config_sources(vm, /*default_file=*/true));
  Target target;
  target.nimbus = nimbus_address(
      vm.count("nimbus") ? std::optional(vm["nimbus"].as<std::string>()) : std::nullopt, config);
  target.timeout_s = verb == "submit" ? k_submit_timeout_s : k_default_timeout_s;
  if (vm.count("timeout")) {
    target.timeout_s = vm["timeout"].as<double>();
    if (!(target.timeout_s > 0 && target.timeout_s < 1e6)) {
      throw po::error("--timeout must be a positive number of seconds");
    }
  }

  if (verb == "list") return run_list(target);
  const std::string arg = vm["positional"].as<std::string>();
  if (verb == "status") return run_status(target, arg);

  Map body;
  if (verb == "submit") {
    if (!vm.count("name")) throw po::error("missing --name: gale submit " + synopsis);
    const std::string name = vm["name"].as<std::string>();
    if (name.empty()) throw po::error("--name must not be empty");
    const std::string plugin = read_plugin(arg);
    body["name"] = name;
    body["plugin"] = Bytes(plugin.begin(), plugin.end());
    body["config"] = cluster::config_to_map(config);
    const Map reply = call_nimbus(target, "submit", body);
    // Nimbus reports the unknown keys the plugin's build function sets (the plugin runs there).
    if (const auto w = reply.find("warnings"); w != reply.end() && w->second.is_list()) {
      for (const Value& warning : w->second.as_list()) {
        if (warning.is_string()) log_config_warning(warning.as_string());
      }
    }
    std::cout << "submitted topology " << name << " (id "
              << cluster::get_string(reply, "topology_id") << ")\n";
    return 0;
  }
  body["name"] = arg;
  if (verb == "kill") {
    const double wait = vm["wait"].as<double>();
    if (!(wait >= 0 && wait < 1e7)) throw po::error("--wait must be zero or more seconds");
    body["wait_secs"] = static_cast<std::int64_t>(std::llround(wait));
    call_nimbus(target, "kill", body);
    std::cout << "killed topology " << arg << ": its spouts stop now, its workers in "
              << seconds_text(std::llround(wait)) << " s\n";
    return 0;
  }
  if (verb == "rebalance") {
    if (!vm.count("workers")) throw po::error("missing -n WORKERS: gale rebalance " + synopsis);
    const std::int64_t workers = vm["workers"].as<std::int64_t>();
    if (workers < 1) throw po::error("-n must be at least 1 (got " + std::to_string(workers) + ")");
    body["workers"] = workers;
    call_nimbus(target, "rebalance", body);
    std::cout << "rebalancing topology " << arg << " over " << workers
              << (workers == 1 ? " worker\n" : " workers\n");
    return 0;
  }
  call_nimbus(target, verb, body);  // activate, deactivate
  std::cout << (verb == "activate" ? "activated" : "deactivated") << " topology " << arg << "\n";
  return 0;
}

}  // namespace gale::cli
