// fuzz_seeds: writes the fuzz targets' seed corpus from the real encoders, so the seeds stay valid
// when a format changes, and checks a corpus against the real decoders.
//
//   fuzz_seeds --write-seeds DIR   replaces DIR/<target>/ with fresh seeds (tests/fuzz/corpus)
//   fuzz_seeds --check DIR         every DIR/<target>/ holds seeds, and each one decodes
//
// Exits 0 on success, 1 with a message on stderr otherwise. See docs/fuzzing.md.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <msgpack.hpp>

#include <gale/config.hpp>
#include <gale/errors.hpp>
#include <gale/value.hpp>

#include "cli/config_file.hpp"
#include "cluster/assignment_file.hpp"
#include "cluster/protocol.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "wire/codec.hpp"

namespace {

namespace fs = std::filesystem;
namespace cluster = gale::cluster;
using gale::Bytes;
using gale::List;
using gale::Map;
using gale::Value;
using gale::Values;
using gale::wire::Message;
using gale::wire::MessageKind;

using Seeds = std::vector<std::pair<std::string, std::string>>;  // file name, bytes

const gale::fuzz::Streams& streams() {
  static const gale::fuzz::Streams s;
  return s;
}

Message tuple(std::int32_t task, const gale::detail::StreamMeta& meta, Values values,
              std::int32_t source, gale::detail::AnchorList anchors = {}) {
  Message m;
  m.kind = MessageKind::tuple;
  m.task = task;
  m.meta = &meta;
  m.values = std::move(values);
  m.source_task = source;
  m.anchors = std::move(anchors);
  return m;
}

Seeds batch_seeds() {
  const auto& s = streams();
  const std::uint64_t big = std::numeric_limits<std::uint64_t>::max();
  Seeds out;
  out.emplace_back("empty", gale::wire::encode_batch({}));

  // What a word count's split task sends: anchored words, then acker traffic.
  std::vector<Message> words;
  words.push_back(tuple(3, s.words, {"the", 1}, 2, {{0x9e3779b97f4a7c15, 0x2545f4914f6cdd1d}}));
  words.push_back(tuple(4, s.words, {"cow", 1}, 2, {{0x9e3779b97f4a7c15, 0x1b873593}}));
  words.push_back(gale::wire::control_message(MessageKind::acker_ack, 7, 0, 0x9e3779b97f4a7c15,
                                              0x2545f4914f6cdd1d));
  out.emplace_back("word_count", gale::wire::encode_batch(words));

  // Every message kind, and every scalar value type (the fast path's domain).
  std::vector<Message> kinds;
  kinds.push_back(tuple(0, s.sentences, {"the cow jumped over the moon"}, 1));
  kinds.push_back(tuple(5, s.signal, {}, 1, {{1, 2}, {3, 4}, {big, big}}));
  kinds.push_back(tuple(6, s.triples, {Value(), true, -5}, 9));
  kinds.push_back(tuple(6, s.triples, {2.5, Bytes{0, 1, 0xff}, std::int64_t{1} << 40}, 9));
  Message tick;
  tick.kind = MessageKind::tick;
  tick.task = 6;
  kinds.push_back(tick);
  kinds.push_back(gale::wire::control_message(MessageKind::acker_init, 10, 2, big, 0xdeadbeef));
  kinds.push_back(gale::wire::control_message(MessageKind::acker_fail, 11, 0, 43, 0));
  kinds.push_back(gale::wire::control_message(MessageKind::spout_ack, 2, 2, 44, 0));
  kinds.push_back(gale::wire::control_message(MessageKind::spout_fail, 2, 2, 45, 0));
  out.emplace_back("every_kind", gale::wire::encode_batch(kinds));

  // Lists and maps: only the generic decoder reads these.
  std::vector<Message> nested;
  nested.push_back(tuple(0, s.sentences, {List{1, "a", Map{{"k", 2.5}, {"l", List{}}}}}, 1));
  nested.push_back(tuple(3, s.words, {Map{{"x", Value()}}, List{List{List{-1}}}}, 2, {{5, 6}}));
  out.emplace_back("nested_values", gale::wire::encode_batch(nested));

  // What another msgpack writer may send: wide integers and float32, which Gale never writes.
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> pk(buffer);
  pk.pack_array(2);
  pk.pack_fix_uint16(1);
  pk.pack_array(2);
  pk.pack_array(7);
  pk.pack_fix_int32(0);
  pk.pack_fix_int64(3);
  pk.pack_fix_uint32(1);
  pk.pack_fix_int16(0);
  pk.pack_fix_int8(2);
  pk.pack_array(1);
  pk.pack_array(2);
  pk.pack_fix_uint64(7);
  pk.pack_fix_int64(8);
  pk.pack_array(2);
  pk.pack_str(4);
  pk.pack_str_body("word", 4);
  pk.pack_float(1.5f);
  pk.pack_array(5);
  pk.pack_fix_uint8(3);
  pk.pack_fix_int32(10);
  pk.pack_fix_int16(0);
  pk.pack_fix_uint32(42);
  pk.pack_fix_int64(99);
  out.emplace_back("other_writer", std::string(buffer.data(), buffer.size()));
  return out;
}

cluster::Assignment sample_assignment() {
  cluster::Assignment a;
  a.topology_id = "wordcount-1-1700000000";
  a.version = 3;
  a.workers.push_back({"sup-a", "127.0.0.1", 6700, {1, 2, 5}});
  a.workers.push_back({"sup-b", "10.0.0.2", 6710, {3, 4}});
  return a;
}

gale::Config sample_config() {
  gale::Config c;
  c.set(gale::keys::topology_workers, 2);
  c.set(gale::keys::topology_max_spout_pending, Value());
  c.set(gale::keys::topology_debug, false);
  c.set(gale::keys::topology_name, "wordcount");
  c.set("app.ratio", 0.25);
  return c;
}

Seeds protocol_seeds() {
  const cluster::Assignment a = sample_assignment();
  const Map config = cluster::config_to_map(sample_config());
  Seeds out;
  out.emplace_back("submit", cluster::encode_request(
                                 "submit", Map{{"name", "wordcount"},
                                               {"plugin", Bytes{0x7f, 'E', 'L', 'F', 2, 1}},
                                               {"config", config}}));
  out.emplace_back("kill", cluster::encode_request("kill", Map{{"name", "wordcount"},
                                                               {"wait_secs", 5}}));
  out.emplace_back("list", cluster::encode_request("list", Map{}));
  out.emplace_back(
      "supervisor_heartbeat",
      cluster::encode_request(
          "supervisor_heartbeat",
          Map{{"supervisor", "sup-a"},
              {"host", "127.0.0.1"},
              {"ports", List{6700, 6701}},
              {"workers", List{Map{{"port", 6700},
                                   {"topology_id", a.topology_id},
                                   {"version", 3},
                                   {"pid", 4242},
                                   {"running", true},
                                   {"restarts", 0},
                                   {"last_exit", "signal 9"},
                                   {"last_error", ""},
                                   {"uptime_secs", 12}}}}}));
  out.emplace_back("fetch_plugin",
                   cluster::encode_request("fetch_plugin", Map{{"topology_id", a.topology_id},
                                                               {"offset", 0},
                                                               {"length", 4 << 20}}));
  out.emplace_back(
      "worker_heartbeat",
      cluster::encode_request(
          "worker_heartbeat",
          Map{{"topology_id", a.topology_id},
              {"supervisor", "sup-a"},
              {"host", "127.0.0.1"},
              {"port", 6700},
              {"version", 3},
              {"uptime_secs", 8},
              {"stats", Map{{"split", Map{{"emitted", 10}, {"acked", 9}, {"failed", 1},
                                          {"executed", 10}, {"errors", 0}}}}},
              {"last_error", ""}}));
  out.emplace_back("reply_assignments",
                   cluster::encode_ok(Map{{"assignments", List{Map{{"port", 6700},
                                                                   {"topology_id", a.topology_id},
                                                                   {"version", 3},
                                                                   {"assignment", a.to_map()},
                                                                   {"config", config},
                                                                   {"status", "active"},
                                                                   {"plugin_size", 6},
                                                                   {"plugin_checksum",
                                                                    cluster::checksum("x")}}}}}));
  out.emplace_back("reply_worker", cluster::encode_ok(Map{{"status", "inactive"},
                                                          {"version", 3},
                                                          {"assignment", a.to_map()}}));
  out.emplace_back("reply_error", cluster::encode_error("unknown topology 'x'"));
  return out;
}

Seeds assignment_file_seeds() {
  Seeds out;
  out.emplace_back("active",
                   cluster::encode_assignment_file(sample_assignment(), sample_config(), "active"));
  cluster::Assignment empty;
  empty.topology_id = "t-1-1";
  out.emplace_back("killed_no_workers", cluster::encode_assignment_file(empty, {}, "killed"));
  return out;
}

Seeds config_seeds() {
  Seeds out;
  out.emplace_back("gale.conf",
                   "# a cluster's gale.conf\n"
                   "nimbus.address = 127.0.0.1:6627\n"
                   "topology.workers = 4\n"
                   "topology.max.spout.pending = 512\n"
                   "topology.debug = false\n"
                   "topology.tick.tuple.freq.secs = null\n");
  out.emplace_back("sections",
                   "topology.name=word-count\n"
                   "[app]\n"
                   "ratio = -2.5e-3\n"
                   "label = 12abc\n"
                   "speed = .5\n");
  out.emplace_back("overrides", "topology.acker.executors=0\ntopology.message.timeout.secs=30\n");
  return out;
}

struct Target {
  const char* name;
  Seeds (*seeds)();
  void (*decode)(std::string_view);  // throws when the bytes are not a valid input
};

const Target k_targets[] = {
    {"batch", batch_seeds,
     [](std::string_view b) {
       std::vector<Message> out;
       gale::wire::detail_decode::decode_batch_generic(b, streams().resolver(), out);
     }},
    {"protocol", protocol_seeds,
     [](std::string_view b) {
       try {
         (void)cluster::decode_request(b);
       } catch (const cluster::ProtocolError&) {
         (void)cluster::decode_reply(b);
       }
     }},
    {"assignment_file", assignment_file_seeds,
     [](std::string_view b) { (void)cluster::decode_assignment_file(b); }},
    {"config", config_seeds,
     [](std::string_view b) {
       gale::Config c;
       gale::cli::apply_config_text(b, "seed", c);
       c.validate();
     }},
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

int write_seeds(const fs::path& dir) {
  for (const Target& t : k_targets) {
    const fs::path target_dir = dir / t.name;
    fs::create_directories(target_dir);
    for (const auto& entry : fs::directory_iterator(target_dir)) {
      if (entry.is_regular_file()) fs::remove(entry.path());
    }
    for (const auto& [name, bytes] : t.seeds()) {
      t.decode(bytes);  // a seed the decoder refuses is a bug here
      std::ofstream(target_dir / name, std::ios::binary) << bytes;
    }
  }
  return 0;
}

int check_seeds(const fs::path& dir) {
  int bad = 0;
  for (const Target& t : k_targets) {
    const fs::path target_dir = dir / t.name;
    int count = 0;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(target_dir, ec)) {
      if (!entry.is_regular_file()) continue;
      ++count;
      try {
        t.decode(read_file(entry.path()));
      } catch (const gale::Error& e) {
        std::cerr << entry.path().string() << ": no longer valid: " << e.what() << "\n";
        ++bad;
      }
    }
    if (count == 0) {
      std::cerr << target_dir.string() << ": no seeds\n";
      ++bad;
    }
  }
  if (bad > 0) {
    std::cerr << "regenerate them: fuzz_seeds --write-seeds tests/fuzz/corpus (docs/fuzzing.md)\n";
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view mode = argc == 3 ? argv[1] : "";
  try {
    if (mode == "--write-seeds") return write_seeds(argv[2]);
    if (mode == "--check") return check_seeds(argv[2]);
  } catch (const std::exception& e) {
    std::cerr << "fuzz_seeds: " << e.what() << "\n";
    return 1;
  }
  std::cerr << "usage: fuzz_seeds --write-seeds DIR | --check DIR\n";
  return 2;
}
