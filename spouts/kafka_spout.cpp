#include <gale/spouts/kafka_spout.hpp>

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gale/context.hpp>
#include <gale/errors.hpp>
#include <gale/spouts/retry_schedule.hpp>

#include "spouts/kafka/first_poll.hpp"
#include "spouts/kafka/kafka_client.hpp"
#include "spouts/kafka/partition_book.hpp"

namespace gale::spouts {

using kafka::CommitPosition;
using kafka::Done;
using kafka::FirstPoll;
using kafka::InFlight;
using kafka::PartitionHandle;
using kafka::PartitionListPtr;
using kafka::TopicPartition;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* k_owner = "KafkaSpout";
// How long an assignment under earliest or latest waits for the group's commits and for the
// partitions' ends (storm-kafka-client, too, asks the coordinator when a partition is assigned).
constexpr int k_lookup_timeout_ms = 10'000;

ConfigSchema make_schema() {
  ConfigSchema s = kafka::schema_with_brokers(k_owner);
  s.required_string_list("kafka.topics", "topics to read, comma-separated")
      .required_string("kafka.group.id", "consumer group; each spout task is a member")
      .choice("kafka.first.poll.offset.strategy", "uncommitted_earliest",
              {"earliest", "latest", "uncommitted_earliest", "uncommitted_latest"},
              "where an assigned partition starts. earliest / latest: the beginning / the end, "
              "unless this deployment (topology.id) committed it, then from that commit; "
              "uncommitted_earliest / uncommitted_latest: from the group's commit, or the "
              "beginning / the end without one")
      .integer("kafka.offset.commit.period.ms", 30'000, 10, 3'600'000,
               "how often offsets are committed (also half way to the uncommitted cap, on a "
               "revoke and on close)")
      .integer("kafka.max.uncommitted.offsets", 10'000, 1, 10'000'000,
               "offsets between the last commit and the highest read, per partition, before "
               "the partition is paused")
      .integer("kafka.retry.max", 10, -1, 1'000'000,
               "retries of a failed record before it goes to the error stream (-1: forever)")
      .integer("kafka.retry.initial.delay.ms", 100, 0, 3'600'000,
               "delay before the first retry; doubles with each retry")
      .integer("kafka.retry.max.delay.ms", 10'000, 0, 3'600'000, "longest delay between retries")
      .string("kafka.error.stream", "errors",
              "stream of the records given up on: (position, record, reason)")
      .choice("kafka.payload.type", "string", {"string", "bytes"},
              "how key and value are emitted: string or bytes")
      .integer("kafka.poll.max.records", 100, 1, 100'000, "records emitted per next_tuple() call")
      .passthrough("kafka.consumer.",
                   "librdkafka consumer properties, e.g. kafka.consumer.session.timeout.ms");
  return s;
}

Value payload(const void* data, std::size_t size, bool as_bytes) {
  if (data == nullptr) return Value();
  const auto* p = static_cast<const std::uint8_t*>(data);
  if (as_bytes) return Value(Bytes(p, p + size));
  return Value(std::string_view(static_cast<const char*>(data), size));
}

struct MessageDeleter {
  void operator()(rd_kafka_message_t* m) const noexcept { rd_kafka_message_destroy(m); }
};
using MessagePtr = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;

// What the spout keeps of a record in flight, to emit it again: the librdkafka message as polled
// (no copy on the way through), or, once the record failed, the values of its tuple (a record
// waiting for its retry then does not pin the fetch buffer librdkafka shares among the records
// of one fetch).
struct KeptRecord {
  MessagePtr message;
  std::unique_ptr<Values> values;
};
using PartitionBook = kafka::PartitionBook<KeptRecord>;
using Partition = PartitionBook::Partition;

// A message id is one integer: the partition's handle above 47 bits of offset (no allocation on
// the per-record path). An offset beyond 47 bits (2^47, 140 trillion) takes a list instead.
constexpr int k_offset_bits = 47;
constexpr std::int64_t k_offset_mask = (std::int64_t{1} << k_offset_bits) - 1;

MessageId message_id(const InFlight& at) {
  if (at.offset >= 0 && at.offset <= k_offset_mask) {
    return MessageId((static_cast<std::int64_t>(at.handle) << k_offset_bits) | at.offset);
  }
  return MessageId(List{Value(static_cast<std::int64_t>(at.handle)), Value(at.offset)});
}

InFlight in_flight_of(const MessageId& id) {
  if (id.is_int()) {
    const std::int64_t v = id.as_int();
    return {static_cast<PartitionHandle>(v >> k_offset_bits), v & k_offset_mask};
  }
  if (id.is_list() && id.as_list().size() == 2 && id.as_list()[0].is_int() &&
      id.as_list()[1].is_int()) {
    return {static_cast<PartitionHandle>(id.as_list()[0].as_int()), id.as_list()[1].as_int()};
  }
  throw Error("KafkaSpout: message id " + id.to_string() + " is not mine");
}

std::string metadata_of(const std::string& deployment) {
  return deployment.empty() ? "" : kafka::commit_metadata(deployment);
}

std::string describe(const TopicPartition& tp, std::int64_t offset) {
  return tp.topic + "/" + std::to_string(tp.partition) + "/" + std::to_string(offset);
}

// The topology.id of the task's deployment; required by the strategies that look at it.
std::string deployment_of(const Context& context, FirstPoll strategy) {
  const Value* id = context.config().find(keys::topology_id);
  if (id != nullptr && id->is_string() && !id->as_string().empty()) return id->as_string();
  if (!kafka::by_deployment(strategy)) return "";
  throw Error(std::string(k_owner) +
              ": kafka.first.poll.offset.strategy earliest and latest need topology.id, the "
              "deployment's id that nimbus, gale local and the test kit set; the config of task " +
              std::to_string(context.task_id()) + " has none");
}

PartitionListPtr partition_list(const std::vector<CommitPosition>& commits) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(commits.size())));
  for (const CommitPosition& c : commits) {
    rd_kafka_topic_partition_list_add(list.get(), c.tp.topic.c_str(), c.tp.partition)->offset =
        c.next_offset;
  }
  return list;
}

}  // namespace

// The consumer of one task and the records it has in flight.
// Thread: the spout task's executor thread; librdkafka calls its callbacks from inside
// rd_kafka_consumer_poll and rd_kafka_consumer_close, on that same thread.
class KafkaSpout::Impl {
 public:
  Impl(const Config& config, const Context& context, SpoutCollector& out)
      : out_(out),
        error_stream_(config.get_string("kafka.error.stream", "errors")),
        as_bytes_(config.get_string("kafka.payload.type", "string") == "bytes"),
        poll_max_(config.get_int("kafka.poll.max.records", 100)),
        max_retries_(config.get_int("kafka.retry.max", 10)),
        commit_period_(config.get_int("kafka.offset.commit.period.ms", 30'000)),
        strategy_(kafka::first_poll_of(
            config.get_string("kafka.first.poll.offset.strategy", "uncommitted_earliest"))),
        metadata_(metadata_of(deployment_of(context, strategy_))),
        waker_(out.waker()),
        book_(static_cast<std::size_t>(config.get_int("kafka.max.uncommitted.offsets", 10'000))),
        retry_(RetryPolicy{
            max_retries_,
            std::chrono::milliseconds(config.get_int("kafka.retry.initial.delay.ms", 100)),
            std::chrono::milliseconds(config.get_int("kafka.retry.max.delay.ms", 10'000))}),
        errors_(k_owner, config.get_string("kafka.bootstrap.servers", "")) {
    const Value* max_pending = context.config().find(keys::topology_max_spout_pending);
    max_pending_ = max_pending != nullptr && max_pending->is_int() ? max_pending->as_int() : 0;
    kafka::ConfPtr conf = kafka::make_conf(config, "kafka.consumer.", k_owner);
    set(conf.get(), "group.id", config.get_string("kafka.group.id", ""));
    // Offsets are committed by the spout, only up to what is done.
    set(conf.get(), "enable.auto.commit", "false");
    set(conf.get(), "enable.auto.offset.store", "false");
    // Where a partition without a usable commit starts (earliest and latest also give the
    // offset explicitly at the assignment, see place_by_deployment).
    const bool from_end =
        strategy_ == FirstPoll::latest || strategy_ == FirstPoll::uncommitted_latest;
    set(conf.get(), "auto.offset.reset", from_end ? "latest" : "earliest");
    if (!config.contains("kafka.consumer.client.id")) {
      set(conf.get(), "client.id",
          "gale-" + context.component_id() + "-" + std::to_string(context.task_index()));
    }
    rd_kafka_conf_set_opaque(conf.get(), this);
    rd_kafka_conf_set_rebalance_cb(conf.get(), &Impl::on_rebalance);
    rd_kafka_conf_set_offset_commit_cb(conf.get(), &Impl::on_commit);
    rd_kafka_conf_set_error_cb(conf.get(), &kafka::ErrorReports::on_client_error<Impl>);
    char reason[512] = {};
    rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), reason, sizeof reason);
    if (rk_ == nullptr) throw Error(std::string(k_owner) + ": cannot create a consumer: " + reason);
    conf.release();  // rd_kafka_new took it
    rd_kafka_poll_set_consumer(rk_);
    const std::vector<std::string> topics = string_list(config, "kafka.topics");
    PartitionListPtr subscription(
        rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
    for (const std::string& t : topics) {
      rd_kafka_topic_partition_list_add(subscription.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
    }
    if (const rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_, subscription.get())) {
      rd_kafka_destroy(rk_);
      throw Error(std::string(k_owner) + ": cannot subscribe: " + rd_kafka_err2str(err));
    }
    // Records arriving while the task sleeps (next_tuple found none) wake it: librdkafka calls
    // on_queue_event from its own thread when the consumer queue stops being empty. Without it,
    // a queue that ran dry for a moment cost the task's whole idle sleep, which doubles.
    queue_ = rd_kafka_queue_get_consumer(rk_);
    rd_kafka_queue_cb_event_enable(queue_, &Impl::on_queue_event, this);
    next_commit_ = Clock::now() + commit_period_;
  }

  ~Impl() {
    if (rk_ != nullptr) destroy_consumer();
  }

  void next_tuple() {
    const Clock::time_point now = Clock::now();
    for (const InFlight& at : retry_.due(now)) {
      const Values* values = kept_values(at);
      if (values == nullptr) {
        retry_.forget(at);  // revoked while waiting
        continue;
      }
      out_.emit(Values(*values), message_id(at));
    }
    while (!error_replay_.empty()) {
      emit_error(error_replay_.front());
      error_replay_.pop_front();
    }
    for (std::int64_t i = 0; i < poll_max_ && below_max_pending(); ++i) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 0);
      if (m == nullptr) break;
      take(MessagePtr(m));
    }
    commit_claims();
    // A partition paused at the cap whose first records got done since: its reads, which set
    // commit_soon_, have stopped.
    for (const TopicPartition& tp : paused_) commit_soon_ = commit_soon_ || book_.commit_due(tp);
    if (Clock::now() >= next_commit_) {
      commit_done(/*async=*/true);
      next_commit_ = Clock::now() + commit_period_;
    } else if (commit_soon_) {
      commit_done(/*async=*/true);
    }
    commit_soon_ = false;
    resume_below_cap();
    errors_.report_to(out_);
  }

  void ack(const MessageId& id) {
    const InFlight at = in_flight_of(id);
    // The retry bookkeeping is looked at only for a record that failed before.
    if (book_.done(at) == Done::done_after_failure) {
      retry_.succeeded(at);
      given_up_.erase(at);
    }
  }

  void fail(const MessageId& id) {
    const InFlight at = in_flight_of(id);
    if (kept_values(at) == nullptr) return;  // revoked: the new owner reads it again
    book_.mark_failed(at);
    if (given_up_.count(at) != 0) {
      error_replay_.push_back(at);  // the error-stream tuple failed: send it again
      return;
    }
    if (!retry_.failed(at, Clock::now())) {
      given_up_.insert(at);
      emit_error(at);
    }
  }

  kafka::ErrorReports& errors() noexcept { return errors_; }

  void deactivate() { commit_done(/*async=*/true); }

  void close() {
    // Asynchronous too: rd_kafka_consumer_close waits for outstanding commits, bounded by about
    // session.timeout.ms, where a synchronous commit could wait for a lost coordinator.
    commit_done(/*async=*/true);
    // Leaves the group; the revoke runs in here (its commit finds nothing new).
    if (const rd_kafka_resp_err_t err = rd_kafka_consumer_close(rk_)) {
      queue_error(std::string("closing the consumer: ") + rd_kafka_err2str(err));
    }
    errors_.report_to(out_);
    destroy_consumer();
  }

 private:
  void destroy_consumer() {
    rd_kafka_queue_cb_event_enable(queue_, nullptr, nullptr);
    rd_kafka_queue_destroy(queue_);
    queue_ = nullptr;
    // librdkafka's rd_kafka_destroy waits for every message of the handle to be destroyed.
    book_.clear();
    rd_kafka_destroy(rk_);
    rk_ = nullptr;
  }

  // librdkafka's thread: the consumer queue was empty and is not any more.
  static void on_queue_event(rd_kafka_t*, void* opaque) {
    static_cast<Impl*>(opaque)->waker_.wake();
  }

  static void set(rd_kafka_conf_t* conf, const char* property, const std::string& value) {
    char reason[512] = {};
    if (rd_kafka_conf_set(conf, property, value.c_str(), reason, sizeof reason) !=
        RD_KAFKA_CONF_OK) {
      throw ConfigError(std::string(k_owner) + ": librdkafka property '" + property +
                        "': " + reason);
    }
  }

  bool below_max_pending() const {
    return max_pending_ <= 0 || static_cast<std::int64_t>(out_.pending_count()) < max_pending_;
  }

  // One message from the consumer: a record, or an error event.
  void take(MessagePtr m) {
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        queue_error(rd_kafka_message_errstr(m.get()));
      }
      return;
    }
    Partition* part = partition_of(*m);
    if (part == nullptr) return;  // not ours any more: a fetch that raced a revoke
    const std::int64_t offset = m->offset;
    Values tuple = tuple_of(*part, *m);
    if (!book_.read(*part, offset, KeptRecord{std::move(m), nullptr})) {
      return;  // a duplicate fetch
    }
    out_.emit(std::move(tuple), message_id({part->handle(), offset}));
    // Half way to the cap, what is done is committed without waiting for the period: the cap
    // then pauses a partition only when its records are not done (a slow or failing downstream),
    // never merely because the period has not come round (with the default 10,000 and 30 s, that
    // held a partition to 333 records/s).
    if (book_.commit_due(*part)) commit_soon_ = true;
    // Paused at once: librdkafka drops what it fetched ahead for the partition and fetches it
    // again from here on resume, so the cap holds exactly.
    if (book_.at_cap(*part) && paused_.insert(part->tp()).second) {
      rd_kafka_pause_partitions(rk_, partition_list({{part->tp(), 0}}).get());
    }
  }

  // The assigned partition of a message. Messages come in runs from one partition (librdkafka
  // hands over a fetched batch at a time), so the last one found is tried first; any assignment
  // change forgets it.
  Partition* partition_of(const rd_kafka_message_t& m) {
    const char* topic = rd_kafka_topic_name(m.rkt);
    if (last_part_ != nullptr && last_part_->tp().partition == m.partition &&
        last_part_->tp().topic == topic) {
      return last_part_;
    }
    last_part_ = book_.find(TopicPartition{topic, m.partition});
    return last_part_;
  }

  // The tuple of a record: (topic, partition, offset, key, value).
  Values tuple_of(const Partition& part, const rd_kafka_message_t& m) const {
    Values tuple;
    tuple.reserve(5);
    tuple.emplace_back(part.tp().topic);
    tuple.emplace_back(part.tp().partition);
    tuple.emplace_back(m.offset);
    tuple.emplace_back(payload(m.key, m.key_len, as_bytes_));
    tuple.emplace_back(payload(m.payload, m.len, as_bytes_));
    return tuple;
  }

  // The tuple of the record in flight at `at`, or null when it is not in flight. The first call
  // for a record (its first failure) copies the tuple out of the librdkafka message and lets the
  // message go.
  const Values* kept_values(const InFlight& at) {
    KeptRecord* kept = book_.record(at);
    if (kept == nullptr) return nullptr;
    if (!kept->values) {
      kept->values = std::make_unique<Values>(tuple_of(*book_.find(at.handle), *kept->message));
      kept->message.reset();
    }
    return kept->values.get();
  }

  void emit_error(const InFlight& at) {
    const Values* values = kept_values(at);
    if (values == nullptr) return;
    out_.emit_to(error_stream_,
                 {describe(book_.find(at.handle)->tp(), at.offset), (*values)[4],
                  "failed " + std::to_string(max_retries_ + 1) +
                      " times (kafka.retry.max = " + std::to_string(max_retries_) + ")"},
                 message_id(at));
  }

  // Resumes the partitions paused at the uncommitted cap that commits brought back below it.
  void resume_below_cap() {
    std::vector<CommitPosition> resume;
    for (auto it = paused_.begin(); it != paused_.end();) {
      if (book_.at_cap(*it)) {
        ++it;
        continue;
      }
      resume.push_back({*it, 0});
      it = paused_.erase(it);
    }
    if (!resume.empty()) rd_kafka_resume_partitions(rk_, partition_list(resume).get());
  }

  // Commits what every assigned partition may commit. A commit that failed is sent again (Kafka
  // keeps the last commit, so sending the same offsets twice is harmless). The checkpoint hooks
  // of exactly-once are to use the same pieces: book_.positions() is the snapshot of the source
  // position taken at a barrier, and commit() sends the positions of a completed checkpoint.
  void commit_done(bool async) {
    std::vector<CommitPosition> commits = book_.take_commits();
    if (recommit_) {
      recommit_ = false;
      commits = book_.committed();
    }
    commit(commits, async);
  }

  // Asynchronous commits report in on_commit (served by the next poll), so next_tuple never waits
  // on the group coordinator.
  void commit(const std::vector<CommitPosition>& commits, bool async) {
    if (commits.empty()) return;
    const rd_kafka_resp_err_t err = rd_kafka_commit(rk_, commit_list(commits).get(), async);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) commit_failed(err);
  }

  // `commits` as a list to commit: each offset carries metadata_, so that the next assignment of
  // the partition, to this task or another, knows which deployment committed it.
  PartitionListPtr commit_list(const std::vector<CommitPosition>& commits) const {
    PartitionListPtr list = partition_list(commits);
    if (metadata_.empty()) return list;
    for (int i = 0; i < list->cnt; ++i) {
      list->elems[i].metadata = rd_kafka_mem_malloc(rk_, metadata_.size());
      std::memcpy(list->elems[i].metadata, metadata_.data(), metadata_.size());
      list->elems[i].metadata_size = metadata_.size();
    }
    return list;
  }

  void commit_failed(rd_kafka_resp_err_t err) {
    recommit_ = true;
    queue_error(std::string("committing offsets: ") + rd_kafka_err2str(err));
  }

  void assign(rd_kafka_topic_partition_list_t* parts, bool cooperative) {
    last_part_ = nullptr;
    for (int i = 0; i < parts->cnt; ++i) {
      book_.assign({parts->elems[i].topic, parts->elems[i].partition});
    }
    if (kafka::by_deployment(strategy_)) place_by_deployment(parts);
    hand_over(parts, cooperative, /*assign=*/true);
  }

  // earliest / latest (storm-kafka-client's EARLIEST / LATEST): sets the start offset of each
  // partition in `parts`. A partition this deployment committed resumes from the commit (a
  // restarted worker, or a partition moving between its tasks, loses nothing); any other starts
  // at the beginning / the end, and that offset is committed for this deployment at once
  // (claims_), so that a partition moving to another task before this one commits anything
  // resumes there instead of starting over. The two lookups wait for the brokers (at most
  // k_lookup_timeout_ms each); when one fails, the partitions it concerned resume from the
  // group's commit (auto.offset.reset without one), which loses nothing, and the error is
  // reported.
  void place_by_deployment(rd_kafka_topic_partition_list_t* parts) {
    PartitionListPtr commits(rd_kafka_topic_partition_list_copy(parts));
    if (const rd_kafka_resp_err_t err =
            rd_kafka_committed(rk_, commits.get(), k_lookup_timeout_ms)) {
      queue_error(std::string("looking up the group's commits of the assigned partitions: ") +
                  rd_kafka_err2str(err) + "; they resume from the group's commits");
      return;
    }
    PartitionListPtr restart(rd_kafka_topic_partition_list_new(parts->cnt));
    for (int i = 0; i < commits->cnt; ++i) {
      const rd_kafka_topic_partition_t& c = commits->elems[i];
      rd_kafka_topic_partition_t* part =
          rd_kafka_topic_partition_list_find(parts, c.topic, c.partition);
      if (part == nullptr) continue;
      if (c.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        queue_error("looking up the group's commit of " + std::string(c.topic) + "/" +
                    std::to_string(c.partition) + ": " + rd_kafka_err2str(c.err) +
                    "; it resumes from the group's commit");
        continue;
      }
      std::optional<std::string> committed;
      if (c.offset >= 0) {
        committed = c.metadata == nullptr
                        ? std::string()
                        : std::string(static_cast<const char*>(c.metadata), c.metadata_size);
      }
      switch (kafka::start_at(strategy_, committed, metadata_)) {
        case kafka::StartAt::commit:
          part->offset = c.offset;
          break;
        case kafka::StartAt::beginning:
          rd_kafka_topic_partition_list_add(restart.get(), c.topic, c.partition)->offset =
              RD_KAFKA_OFFSET_BEGINNING;
          break;
        case kafka::StartAt::end:
          rd_kafka_topic_partition_list_add(restart.get(), c.topic, c.partition)->offset =
              RD_KAFKA_OFFSET_END;
          break;
      }
    }
    if (restart->cnt > 0) start_over(parts, *restart);
  }

  // Sets the partitions of `restart` (offsets BEGINNING or END) to the offset that is their
  // beginning or end now, in `parts`, and queues that offset as a claim of this deployment. When
  // the brokers cannot say, the partition starts at the logical BEGINNING or END, unclaimed.
  void start_over(rd_kafka_topic_partition_list_t* parts,
                  rd_kafka_topic_partition_list_t& restart) {
    // Kafka's ListOffsets takes BEGINNING (-2) and END (-1) as timestamps meaning just that.
    PartitionListPtr resolved(rd_kafka_topic_partition_list_copy(&restart));
    const rd_kafka_resp_err_t err =
        rd_kafka_offsets_for_times(rk_, resolved.get(), k_lookup_timeout_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      queue_error(std::string("looking up where the assigned partitions begin and end: ") +
                  rd_kafka_err2str(err) + "; they start at the logical beginning or end");
    }
    for (int i = 0; i < restart.cnt; ++i) {
      const rd_kafka_topic_partition_t& r = resolved->elems[i];
      rd_kafka_topic_partition_t* part =
          rd_kafka_topic_partition_list_find(parts, r.topic, r.partition);
      if (part == nullptr) continue;
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR && r.err == RD_KAFKA_RESP_ERR_NO_ERROR &&
          r.offset >= 0) {
        part->offset = r.offset;
        claims_.push_back({{r.topic, r.partition}, r.offset});
      } else {
        part->offset = restart.elems[i].offset;
      }
    }
  }

  // Commits the claims of the partitions placed by place_by_deployment that are still assigned.
  // Outside the rebalance callback, once the assignment is taken.
  void commit_claims() {
    if (claims_.empty()) return;
    std::vector<CommitPosition> still_assigned;
    for (const CommitPosition& c : claims_) {
      if (book_.assigned(c.tp)) still_assigned.push_back(c);
    }
    claims_.clear();
    commit(still_assigned, /*async=*/true);
  }

  // Commits what the revoked partitions may commit and forgets them: their tuples acked later
  // are ignored, and their next owner reads again from the commit.
  void revoke(rd_kafka_topic_partition_list_t* parts, bool cooperative) {
    last_part_ = nullptr;
    std::vector<CommitPosition> commits, paused;
    for (int i = 0; i < parts->cnt; ++i) {
      const TopicPartition tp{parts->elems[i].topic, parts->elems[i].partition};
      if (const Partition* part = book_.find(tp)) forget_failures(part->handle());
      if (std::optional<CommitPosition> c = book_.revoke(tp)) commits.push_back(*c);
      if (paused_.erase(tp) != 0) paused.push_back({tp, 0});
    }
    commit(commits, /*async=*/true);
    // librdkafka keeps a partition's pause across a revoke and a later assignment, which would
    // leave it paused for good when it comes back; resumed before it is let go (not after an
    // assign, where a resume can overtake the assign's start offset).
    if (!paused.empty()) rd_kafka_resume_partitions(rk_, partition_list(paused).get());
    hand_over(parts, cooperative, /*assign=*/false);
  }

  // Tells librdkafka that the rebalance's assignment (or revocation) of `parts` is taken, with
  // the call of the group's rebalance protocol: eager (the default assignors) or cooperative
  // (kafka.consumer.partition.assignment.strategy = cooperative-sticky).
  void hand_over(rd_kafka_topic_partition_list_t* parts, bool cooperative, bool assign) {
    const char* what = assign ? "assigning partitions: " : "revoking partitions: ";
    if (cooperative) {
      rd_kafka_error_t* error = assign ? rd_kafka_incremental_assign(rk_, parts)
                                       : rd_kafka_incremental_unassign(rk_, parts);
      if (error != nullptr) {
        queue_error(what + std::string(rd_kafka_error_string(error)));
        rd_kafka_error_destroy(error);
      }
    } else if (const rd_kafka_resp_err_t err = rd_kafka_assign(rk_, assign ? parts : nullptr)) {
      queue_error(what + std::string(rd_kafka_err2str(err)));
    }
  }

  static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* parts, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    try {
      if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        self->assign(parts, cooperative);
      } else {
        self->revoke(parts, cooperative);
      }
    } catch (const std::exception& e) {  // never through librdkafka's C frames
      self->queue_error(std::string("rebalance: ") + e.what());
    }
  }

  static void on_commit(rd_kafka_t*, rd_kafka_resp_err_t err,
                        rd_kafka_topic_partition_list_t* offsets, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;  // nothing to commit
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR && offsets != nullptr) {
      for (int i = 0; i < offsets->cnt; ++i) {
        if (offsets->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) err = offsets->elems[i].err;
      }
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) self->commit_failed(err);
  }

  // Drops what the error stream has in flight of a revoked partition (its retries are dropped
  // when they come due and find the record gone).
  void forget_failures(PartitionHandle handle) {
    given_up_.erase(given_up_.lower_bound(InFlight{handle, 0}),
                    given_up_.lower_bound(InFlight{static_cast<PartitionHandle>(handle + 1), 0}));
  }

  // Errors wait in errors_ until next_tuple() or close() reports them, outside librdkafka's
  // callbacks.
  void queue_error(const std::string& what) { errors_.add(what); }

  // Constant after construction.
  SpoutCollector& out_;
  const std::string error_stream_;
  const bool as_bytes_;
  const std::int64_t poll_max_;
  const std::int64_t max_retries_;
  const std::chrono::milliseconds commit_period_;
  const FirstPoll strategy_;
  const std::string metadata_;    // of every commit: "gale:<topology.id>", or "" without an id
  std::int64_t max_pending_ = 0;  // 0: unbounded
  const SpoutWaker waker_;        // called from librdkafka's thread
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_queue_t* queue_ = nullptr;  // the consumer queue, for on_queue_event
  // Task state.
  PartitionBook book_;
  Partition* last_part_ = nullptr;  // see partition_of
  RetrySchedule<InFlight> retry_;
  std::set<InFlight> given_up_;        // in flight on the error stream
  std::deque<InFlight> error_replay_;  // error-stream tuples that failed
  std::set<TopicPartition> paused_;
  std::vector<CommitPosition> claims_;  // start offsets placed by place_by_deployment
  bool recommit_ = false;  // a commit failed: send the last offsets again
  bool commit_soon_ = false;  // a partition is half way to the cap: commit in this next_tuple()
  Clock::time_point next_commit_;
  kafka::ErrorReports errors_;
};

KafkaSpout::KafkaSpout(const Config& config) : config_(schema().resolve(config)) {
  // librdkafka checks the kafka.consumer.* properties now, so a bad one fails the build.
  (void)kafka::make_conf(config_, "kafka.consumer.", k_owner);
}

KafkaSpout::~KafkaSpout() = default;

const ConfigSchema& KafkaSpout::schema() {
  static const ConfigSchema s = make_schema();
  return s;
}

void KafkaSpout::declare_outputs(OutputDeclarer& declarer) {
  declarer.declare({"topic", "partition", "offset", "key", "value"});
  declarer.declare_stream(config_.get_string("kafka.error.stream", "errors"),
                          {"position", "record", "reason"});
}

void KafkaSpout::open(const Context& context, SpoutCollector& out) {
  impl_ = std::make_unique<Impl>(config_, context, out);
}

void KafkaSpout::next_tuple() { impl_->next_tuple(); }
void KafkaSpout::ack(const MessageId& id) { impl_->ack(id); }
void KafkaSpout::fail(const MessageId& id) { impl_->fail(id); }

void KafkaSpout::deactivate() {
  if (impl_) impl_->deactivate();
}

void KafkaSpout::close() {
  if (impl_) impl_->close();
}

}  // namespace gale::spouts
