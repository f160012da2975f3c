#include <gale/spouts/redis_stream_spout.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include <gale/context.hpp>
#include <gale/errors.hpp>
#include <gale/spouts/retry_schedule.hpp>

#include "spouts/redis/redis_client.hpp"
#include "spouts/redis/stream_entry.hpp"

namespace gale::spouts {

namespace {

using Clock = std::chrono::steady_clock;
using redis::EntryId;
using redis::Link;
using redis::Reply;
using redis::StreamEntry;

constexpr const char* k_owner = "RedisStreamSpout";

// An entry read from the stream and not yet done: what the spout needs to emit it again.
struct Record {
  Values values;        // the tuple; empty when the entry goes to the error stream
  // Every field of the entry, as read; made into the error tuple's Map only if it goes there.
  std::vector<std::pair<std::string, std::string>> fields;
  std::string reason;   // why it goes to the error stream; empty: it goes out as a tuple
};

}  // namespace

// Thread: the spout task's executor thread.
class RedisStreamSpout::Impl {
 public:
  explicit Impl(const Config& given) : config_(schema().resolve(given)) {
    client_options_ = redis::client_options(config_, k_owner);
    stream_ = config_.get_string("redis.stream", "");
    group_ = config_.get_string("redis.group", "");
    consumer_prefix_ = config_.get_string("redis.consumer.prefix", "");
    start_id_ = config_.get_string("redis.start.id", "");
    if (start_id_ != "$" && !EntryId::parse(start_id_)) {
      throw ConfigError(std::string(k_owner) +
                        ": config key 'redis.start.id' must be $ or an entry id (0, MS-SEQ), got '" +
                        start_id_ + "'");
    }
    mappings_ = redis::parse_field_mappings(string_list(config_, "redis.fields"), k_owner,
                                            "redis.fields");
    error_stream_ = config_.get_string("redis.error.stream", "");
    if (error_stream_.empty()) {
      throw ConfigError(std::string(k_owner) + ": config key 'redis.error.stream' is empty");
    }
    read_count_ = config_.get_int("redis.read.count", 0);
    block_ms_ = config_.get_int("redis.block.ms", 0);
    ack_batch_ = static_cast<std::size_t>(config_.get_int("redis.ack.batch", 0));
    claim_min_idle_ = config_.get_int("redis.claim.min.idle.ms", 0);
    claim_interval_ = std::chrono::milliseconds(config_.get_int("redis.claim.interval.ms", 0));
    retry_policy_.max_retries = config_.get_int("redis.retry.max", 0);
    retry_policy_.initial_delay = std::chrono::milliseconds(config_.get_int("redis.retry.initial.ms", 0));
    retry_policy_.max_delay = std::chrono::milliseconds(config_.get_int("redis.retry.max.ms", 0));
  }

  void declare_outputs(OutputDeclarer& declarer) const {
    std::vector<std::string> names;
    for (const redis::FieldMapping& m : mappings_) names.push_back(m.tuple_field);
    declarer.declare(Fields(names));
    declarer.declare_stream(error_stream_, Fields({"position", "record", "reason"}));
  }

  void open(const Context& context, SpoutCollector& out) {
    out_ = &out;
    consumer_ = (consumer_prefix_.empty() ? context.component_id() + "-" : consumer_prefix_) +
                std::to_string(context.task_index());
    const Value* max_pending = context.config().find(keys::topology_max_spout_pending);
    if (max_pending == nullptr) {
      max_pending_ = default_max_spout_pending;
    } else {
      max_pending_ = max_pending->is_int() ? max_pending->as_int() : 0;  // null: unbounded
    }
    client_ = std::make_unique<redis::Client>(client_options_);
    retries_ = std::make_unique<RetrySchedule<EntryId>>(retry_policy_);
    // An error tuple that fails is emitted again until it is acked: giving up would leave its
    // entry pending forever.
    error_retries_ = std::make_unique<RetrySchedule<EntryId>>(
        RetryPolicy{-1, retry_policy_.initial_delay, retry_policy_.max_delay});
    next_claim_ = Clock::now() + claim_interval_;
  }

  void next_tuple() {
    const Clock::time_point now = Clock::now();
    // Retries come from memory: they go out even while the server is away.
    for (const EntryId& id : retries_->due(now)) emit(id);
    for (const EntryId& id : error_retries_->due(now)) emit(id);
    if (!connect(now)) return;
    const std::size_t room = room_for_new();
    if (room == 0 || now >= next_claim_) {
      if (!done_.empty()) commit_done();
      if (room == 0 || !client_->connected()) return;
      claim(room);
      if (claim_cursor_ == "0-0") next_claim_ = now + claim_interval_;
    } else {
      read(room);  // XACKs what is done in the same round trip
    }
  }

  void ack(const MessageId& id) {
    const std::optional<EntryId> entry = entry_of(id);
    if (!entry || records_.erase(*entry) == 0) return;
    retries_->succeeded(*entry);
    error_retries_->succeeded(*entry);
    done_.insert(*entry);
    if (done_.size() >= ack_batch_) commit_done();
  }

  void fail(const MessageId& id) {
    const std::optional<EntryId> entry = entry_of(id);
    if (!entry) return;
    const auto it = records_.find(*entry);
    if (it == records_.end()) return;
    const Clock::time_point now = Clock::now();
    if (!it->second.reason.empty()) {
      error_retries_->failed(*entry, now);
      return;
    }
    if (retries_->failed(*entry, now)) return;
    it->second.reason = "entry " + entry->text() + " of stream '" + stream_ + "' failed " +
                        std::to_string(retry_policy_.max_retries + 1) +
                        " times (redis.retry.max is " + std::to_string(retry_policy_.max_retries) +
                        ")";
    emit(*entry);
  }

  void close() {
    if (!done_.empty() && client_ && client_->connected()) commit_done();
    client_.reset();
  }

  std::vector<std::string> done_entries() const {
    std::vector<std::string> out;
    out.reserve(done_.size());
    for (const EntryId& id : done_) out.push_back(id.text());
    return out;
  }

  bool commit(const std::vector<std::string>& entries) {
    if (entries.empty()) return true;
    std::vector<std::string> argv{"XACK", stream_, group_};
    argv.insert(argv.end(), entries.begin(), entries.end());
    if (!xack(argv)) return false;
    for (const std::string& text : entries) {
      if (const std::optional<EntryId> id = EntryId::parse(text)) done_.erase(*id);
    }
    return true;
  }

 private:
  // Connects when down; on a fresh connection, makes sure the group exists and starts over with
  // this consumer's own pending entries. False when the server is not there (yet).
  bool connect(Clock::time_point now) {
    const Link link = redis::connect_reporting(*client_, *out_, k_owner, now);
    if (link == Link::up) return true;
    if (link != Link::fresh) return false;
    const std::optional<Reply> created =
        client_->command({"XGROUP", "CREATE", stream_, group_, start_id_, "MKSTREAM"});
    if (!created) return lost("XGROUP CREATE");
    if (created->is_error() && !created->text.starts_with("BUSYGROUP")) {
      fault("XGROUP CREATE " + stream_ + " " + group_ + " failed: " + created->text);
      return false;
    }
    own_cursor_ = "0";  // this consumer's pending entries first: a restart resumes with them
    return true;
  }

  bool lost(std::string_view command) {
    out_->report_error(std::string(k_owner) + ": " + std::string(command) + " failed: " +
                       client_->error() + "; reconnecting");
    return false;
  }

  // An error reply: reported, and the connection starts afresh after the backoff (which also
  // re-creates a group lost with the server's data).
  void fault(const std::string& what) {
    const std::string message = "redis at " + client_->address().text() + ": " + what;
    out_->report_error(std::string(k_owner) + ": " + message);
    client_->disconnect(message);
  }

  // Runs a command; nullopt (reported) when the connection broke or the reply is an error.
  std::optional<Reply> call(const std::vector<std::string>& argv) {
    return checked(argv[0], client_->command(argv));
  }

  // `reply` to `command`, or nullopt (reported) when the connection broke or it is an error.
  std::optional<Reply> checked(const std::string& command, std::optional<Reply> reply) {
    if (!reply) {
      lost(command);
      return std::nullopt;
    }
    if (reply->is_error()) {
      fault(command + " on stream '" + stream_ + "' failed: " + reply->text);
      return std::nullopt;
    }
    return reply;
  }

  std::size_t room_for_new() const {
    const auto count = static_cast<std::size_t>(read_count_);
    if (max_pending_ <= 0) return count;
    const std::size_t pending = out_->pending_count();
    const auto max = static_cast<std::size_t>(max_pending_);
    return pending >= max ? 0 : std::min(count, max - pending);
  }

  // One XREADGROUP: this consumer's pending entries after own_cursor_ while there are any, then
  // new entries.
  void read(std::size_t room) {
    const bool own = !own_cursor_.empty();
    std::vector<std::string> argv{"XREADGROUP", "GROUP", group_, consumer_, "COUNT",
                                  std::to_string(room)};
    if (block_ms_ > 0 && !own) {
      argv.push_back("BLOCK");
      argv.push_back(std::to_string(block_ms_));
    }
    argv.insert(argv.end(), {"STREAMS", stream_, own ? own_cursor_ : ">"});
    // The XACK of what is done goes first in the same pipeline: one round trip per read, where
    // the plain XREADGROUP-then-XACK loop takes two.
    const bool acking = !done_.empty();
    if (acking) client_->append(xack_argv());
    client_->append(argv);
    if (acking) {
      if (!checked("XACK", client_->next_reply())) return;  // they stay done: XACKed later
      done_.clear();
    }
    const std::optional<Reply> reply = checked(argv[0], client_->next_reply());
    if (!reply) return;
    std::vector<StreamEntry> entries = parse([&] { return redis::entries_of_read(*reply); });
    if (own) own_cursor_ = entries.empty() ? "" : entries.back().id.text();
    for (StreamEntry& e : entries) take(std::move(e));
  }

  // One step of an XAUTOCLAIM sweep over the group's pending entries: those idle for longer than
  // the min-idle time become this consumer's.
  void claim(std::size_t room) {
    const std::optional<Reply> reply =
        call({"XAUTOCLAIM", stream_, group_, consumer_, std::to_string(claim_min_idle_),
              claim_cursor_, "COUNT", std::to_string(room)});
    if (!reply) return;
    std::vector<StreamEntry> entries = parse([&] {
      if (reply->kind != Reply::Kind::array || reply->elements.size() < 2) {
        throw Error("unexpected reply from redis: XAUTOCLAIM did not answer [cursor, entries]");
      }
      return redis::entries_of(reply->elements[1]);
    });
    if (!client_->connected()) return;  // the reply was malformed (reported)
    claim_cursor_ = reply->elements[0].text;
    for (StreamEntry& e : entries) take(std::move(e));
  }

  template <class Parse>
  std::vector<StreamEntry> parse(Parse parse) {
    try {
      return parse();
    } catch (const Error& e) {
      fault(e.what());
      return {};
    }
  }

  // An entry read or claimed: emitted unless the spout already has it (in flight, waiting for a
  // retry, or done and waiting for its XACK).
  void take(StreamEntry&& e) {
    if (records_.count(e.id) != 0 || done_.count(e.id) != 0) return;
    Record record;
    if (e.deleted) {
      record.reason = "entry " + e.id.text() + " of stream '" + stream_ +
                      "' was deleted from the stream while pending";
    } else {
      record.values.reserve(mappings_.size());
      for (const redis::FieldMapping& m : mappings_) {
        // The first of a repeated field counts, as in the error tuple's Map.
        const auto field = std::find_if(e.fields.begin(), e.fields.end(),
                                         [&](const auto& f) { return f.first == m.entry_field; });
        if (field == e.fields.end()) {
          record.reason = "entry " + e.id.text() + " of stream '" + stream_ + "' has no field '" +
                          m.entry_field + "'";
          record.values.clear();
          break;
        }
        record.values.push_back(field->second);
      }
    }
    record.fields = std::move(e.fields);
    records_.emplace_hint(records_.end(), e.id, std::move(record));  // ids mostly ascend
    emit(e.id);
  }

  void emit(const EntryId& id) {
    const auto it = records_.find(id);
    if (it == records_.end()) return;
    const Record& r = it->second;
    MessageId message_id(List{Value(stream_), Value(id.text())});
    if (r.reason.empty()) {
      out_->emit(r.values, std::move(message_id));
    } else {
      Map entry;
      for (const auto& [field, value] : r.fields) entry.emplace(field, value);
      out_->emit_to(error_stream_, {stream_ + "/" + id.text(), std::move(entry), r.reason},
                    std::move(message_id));
    }
  }

  // commit(done_entries()) without turning the ids into text and back: every ack batch goes
  // through here.
  void commit_done() {
    if (xack(xack_argv())) done_.clear();
  }

  // XACK of every done entry.
  std::vector<std::string> xack_argv() const {
    std::vector<std::string> argv{"XACK", stream_, group_};
    argv.reserve(3 + done_.size());
    for (const EntryId& id : done_) argv.push_back(id.text());
    return argv;
  }

  // Sends an XACK (argv: XACK, stream, group, ids...). False, reported, when it failed; the ids
  // stay done for a later commit.
  bool xack(const std::vector<std::string>& argv) {
    if (!client_ || !client_->connected()) return false;
    const std::optional<Reply> reply = client_->command(argv);
    if (!reply) {
      out_->report_error(std::string(k_owner) + ": XACK of " + std::to_string(argv.size() - 3) +
                         " entries failed: " + client_->error() + "; retried after reconnecting");
      return false;
    }
    if (reply->is_error()) {
      fault("XACK on stream '" + stream_ + "' failed: " + reply->text);
      return false;
    }
    return true;
  }

  std::optional<EntryId> entry_of(const MessageId& id) const {
    if (!id.is_list() || id.as_list().size() != 2 || !id.as_list()[1].is_string()) {
      return std::nullopt;
    }
    return EntryId::parse(id.as_list()[1].as_string());
  }

  // Constant after construction.
  const Config config_;
  redis::ClientOptions client_options_;
  std::string stream_, group_, consumer_prefix_, start_id_, error_stream_;
  std::vector<redis::FieldMapping> mappings_;
  std::int64_t read_count_ = 0, block_ms_ = 0, claim_min_idle_ = 0;
  std::size_t ack_batch_ = 0;
  std::chrono::milliseconds claim_interval_{0};
  RetryPolicy retry_policy_;
  // Constant after open().
  SpoutCollector* out_ = nullptr;
  std::string consumer_;
  std::int64_t max_pending_ = 0;  // 0: unbounded
  // Task state.
  std::unique_ptr<redis::Client> client_;
  std::map<EntryId, Record> records_;  // read and not done: in flight or waiting for a retry
  std::set<EntryId> done_;             // done, not yet XACKed
  std::unique_ptr<RetrySchedule<EntryId>> retries_;
  std::unique_ptr<RetrySchedule<EntryId>> error_retries_;
  std::string own_cursor_;             // reading own pending entries after this id; empty: done
  std::string claim_cursor_ = "0-0";   // where the XAUTOCLAIM sweep goes on
  Clock::time_point next_claim_{};
};

RedisStreamSpout::RedisStreamSpout(const Config& config) : impl_(std::make_unique<Impl>(config)) {}

RedisStreamSpout::~RedisStreamSpout() = default;

ConfigSchema RedisStreamSpout::schema() {
  ConfigSchema schema(k_owner);
  redis::add_connection_keys(schema);
  schema.required_string("redis.stream", "the stream to read")
      .string("redis.group", "gale", "the consumer group (created when missing)")
      .string("redis.consumer.prefix", "",
              "consumer name prefix; the task index follows. Empty: the component id and '-'")
      .string("redis.start.id", "0",
              "where a new group starts: 0 (the whole stream), $ (new entries) or an entry id")
      .required_string_list("redis.fields",
                            "entry fields emitted, in order: FIELD or ENTRY_FIELD:TUPLE_FIELD")
      .string("redis.error.stream", "errors",
              "Gale stream for entries given up on: (position, record, reason)")
      .integer("redis.read.count", 100, 1, 10'000, "COUNT per XREADGROUP (and XAUTOCLAIM)")
      .integer("redis.block.ms", 0, 0, 100, "BLOCK per XREADGROUP; 0: none (never waits)")
      .integer("redis.ack.batch", 100, 1, 100'000, "acked entries per XACK (also sent each call)")
      .integer("redis.claim.min.idle.ms", 60'000, 1, 86'400'000,
               "entries pending this long with any consumer are claimed (XAUTOCLAIM)")
      .integer("redis.claim.interval.ms", 5'000, 1, 86'400'000, "time between claim sweeps")
      .integer("redis.retry.max", 10, -1, 1'000'000,
               "retries of a failed entry before the error stream; -1: forever")
      .integer("redis.retry.initial.ms", 100, 0, 3'600'000, "delay before the first retry; doubles")
      .integer("redis.retry.max.ms", 10'000, 0, 3'600'000, "longest delay before a retry");
  return schema;
}

void RedisStreamSpout::declare_outputs(OutputDeclarer& declarer) { impl_->declare_outputs(declarer); }
void RedisStreamSpout::open(const Context& context, SpoutCollector& out) { impl_->open(context, out); }
void RedisStreamSpout::next_tuple() { impl_->next_tuple(); }
void RedisStreamSpout::ack(const MessageId& id) { impl_->ack(id); }
void RedisStreamSpout::fail(const MessageId& id) { impl_->fail(id); }
void RedisStreamSpout::close() { impl_->close(); }
std::vector<std::string> RedisStreamSpout::done_entries() const { return impl_->done_entries(); }
bool RedisStreamSpout::commit(const std::vector<std::string>& entries) {
  return impl_->commit(entries);
}

}  // namespace gale::spouts
