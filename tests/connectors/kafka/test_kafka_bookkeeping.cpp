#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>

#include <gale/errors.hpp>

#include "spouts/kafka/first_poll.hpp"
#include "spouts/kafka/kafka_client.hpp"
#include "spouts/kafka/partition_book.hpp"

// The commit bookkeeping as KafkaSpout drives it: records read per partition, acked in any order,
// partitions revoked in a rebalance, and the offsets that may be committed.

using namespace gale;
using spouts::kafka::CommitPosition;
using spouts::kafka::Done;
using spouts::kafka::InFlight;
using spouts::kafka::PartitionHandle;
using spouts::kafka::TopicPartition;
// The tests keep a record's offset as its "record".
using PartitionBook = spouts::kafka::PartitionBook<std::int64_t>;

namespace {

const TopicPartition k_p0{"events", 0};
const TopicPartition k_p1{"events", 1};

void read_range(PartitionBook& book, const TopicPartition& tp, std::int64_t from, std::int64_t to,
                std::int64_t step = 1) {
  for (std::int64_t o = from; o < to; o += step) REQUIRE(book.read(tp, o, o));
}

std::int64_t commit_of(const std::vector<CommitPosition>& commits, const TopicPartition& tp) {
  for (const CommitPosition& c : commits) {
    if (c.tp == tp) return c.next_offset;
  }
  return -1;
}

}  // namespace

TEST_SUITE("connector_kafka") {
  TEST_CASE("acks out of order commit only up to the lowest record not done, per partition") {
    PartitionBook book(1000);
    const PartitionHandle h0 = book.assign(k_p0);
    const PartitionHandle h1 = book.assign(k_p1);
    CHECK(h0 != h1);
    CHECK(book.assign(k_p0) == h0);  // assigned again: the same handle, the same state
    read_range(book, k_p0, 40, 50);  // the group's commit was 40
    read_range(book, k_p1, 0, 5);
    CHECK(book.done({h0, 43}) == Done::done);
    CHECK(book.done({h0, 41}) == Done::done);
    CHECK(book.take_commits().empty());  // 40 is still in flight
    CHECK(book.done({h0, 40}) == Done::done);
    CHECK(book.done({h1, 0}) == Done::done);
    std::vector<CommitPosition> commits = book.take_commits();
    CHECK(commit_of(commits, k_p0) == 42);  // 42 is in flight, 43 done but after it
    CHECK(commit_of(commits, k_p1) == 1);
    CHECK(book.take_commits().empty());  // nothing moved since
    for (std::int64_t o = 42; o < 50; ++o) {
      if (o != 43) CHECK(book.done({h0, o}) == Done::done);
    }
    CHECK(book.done({h0, 43}) == Done::not_in_flight);  // acked twice: the second is ignored
    CHECK(book.done({h0, 50}) == Done::not_in_flight);  // never read
    commits = book.take_commits();
    REQUIRE(commits.size() == 1);
    CHECK(commit_of(commits, k_p0) == 50);
    CHECK(book.in_flight() == 4);  // p1: 1..4
  }

  TEST_CASE("offsets with gaps (compacted or transactional topics) are found and committed") {
    PartitionBook book(1000);
    const PartitionHandle h = book.assign(k_p0);
    read_range(book, k_p0, 100, 130, 3);  // 100, 103, ..., 127
    REQUIRE(book.read(k_p0, 1000, 1000));  // a long gap
    REQUIRE(book.read(k_p0, 1001, 1001));
    CHECK(book.done({h, 101}) == Done::not_in_flight);  // a gap is no record
    CHECK(*book.record({h, 127}) == 127);
    CHECK(*book.record({h, 1001}) == 1001);
    CHECK(book.done({h, 1000}) == Done::done);
    CHECK(book.done({h, 103}) == Done::done);
    CHECK(book.take_commits().empty());  // 100 is in flight
    CHECK(book.done({h, 100}) == Done::done);
    CHECK(commit_of(book.take_commits(), k_p0) == 106);  // the first record not done
    for (std::int64_t o = 106; o < 130; o += 3) CHECK(book.done({h, o}) == Done::done);
    CHECK(commit_of(book.take_commits(), k_p0) == 1001);  // 1000 done, 1001 in flight
    CHECK(book.done({h, 1001}) == Done::done);
    CHECK(commit_of(book.take_commits(), k_p0) == 1002);
    CHECK(book.in_flight() == 0);
    // A record before the highest read is a duplicate fetch, in a gap or not.
    CHECK_FALSE(book.read(k_p0, 1001, 1001));
    CHECK_FALSE(book.read(k_p0, 500, 500));
  }

  TEST_CASE("a record is kept until it is done; a failed one says so when it is done") {
    PartitionBook book(1000);
    const PartitionHandle h = book.assign(k_p0);
    read_range(book, k_p0, 0, 3);
    std::int64_t* kept = book.record({h, 1});
    REQUIRE(kept != nullptr);
    CHECK(*kept == 1);
    CHECK(book.mark_failed({h, 1}));
    CHECK_FALSE(book.mark_failed({h, 7}));
    CHECK(book.done({h, 1}) == Done::done_after_failure);
    CHECK(book.record({h, 1}) == nullptr);
    CHECK(book.done({h, 2}) == Done::done);
    // A fetch of the same records again (after a pause or a seek) is not emitted twice.
    CHECK_FALSE(book.read(k_p0, 0, 0));
    CHECK_FALSE(book.read(k_p0, 1, 1));
  }

  TEST_CASE("a revoke commits what is done and forgets the partition; its late acks are ignored") {
    PartitionBook book(1000);
    const PartitionHandle h0 = book.assign(k_p0);
    const PartitionHandle h1 = book.assign(k_p1);
    read_range(book, k_p0, 0, 10);
    read_range(book, k_p1, 0, 10);
    for (std::int64_t o : {0, 1, 2, 5}) CHECK(book.done({h0, o}) == Done::done);
    const std::optional<CommitPosition> revoked = book.revoke(k_p0);
    REQUIRE(revoked.has_value());
    CHECK(revoked->next_offset == 3);
    CHECK_FALSE(book.assigned(k_p0));
    CHECK(book.find(h0) == nullptr);
    CHECK(book.done({h0, 3}) == Done::not_in_flight);  // acked after the revoke: not ours any more
    CHECK(book.record({h0, 4}) == nullptr);
    CHECK_FALSE(book.read(k_p0, 11, 11));  // a fetch that raced the revoke
    CHECK(book.in_flight() == 10);         // p1 untouched
    CHECK(book.find(h1)->tp() == k_p1);
    // Assigned again later (the group moved it back): a new handle, so that acks of tuples read
    // under the old assignment are not taken for the new one; it starts from where the consumer
    // now reads, the group's commit, with nothing left over.
    const PartitionHandle again = book.assign(k_p0);
    CHECK(again != h0);
    read_range(book, k_p0, 3, 6);
    CHECK(book.done({h0, 3}) == Done::not_in_flight);
    CHECK(book.done({again, 3}) == Done::done);
    CHECK(commit_of(book.take_commits(), k_p0) == 4);
    // Nothing done since the last commit: a revoke has nothing to commit.
    CHECK_FALSE(book.revoke(k_p1).has_value());
    CHECK(book.in_flight() == 2);
    book.clear();
    CHECK(book.in_flight() == 0);
    CHECK(book.partitions().empty());
  }

  TEST_CASE("partition handles skip those still assigned when they wrap around") {
    PartitionBook book(1000);
    const PartitionHandle kept = book.assign(k_p1);
    for (int i = 0; i < 70'000; ++i) {
      const PartitionHandle h = book.assign(k_p0);
      REQUIRE(h != 0);
      REQUIRE(h != kept);
      book.revoke(k_p0);
    }
    CHECK(book.find(kept)->tp() == k_p1);
  }

  TEST_CASE("a partition half way to the uncommitted cap with records done is due a commit") {
    PartitionBook book(10);
    const PartitionHandle h = book.assign(k_p0);
    read_range(book, k_p0, 0, 4);
    CHECK(book.done({h, 0}) == Done::done);
    CHECK_FALSE(book.commit_due(k_p0));  // 4 uncommitted: below half the cap
    read_range(book, k_p0, 4, 6);
    CHECK(book.commit_due(k_p0));
    CHECK(commit_of(book.take_commits(), k_p0) == 1);
    CHECK_FALSE(book.commit_due(k_p0));  // 5 uncommitted, but none done past the commit
    read_range(book, k_p0, 6, 9);
    CHECK_FALSE(book.commit_due(k_p0));  // 8 uncommitted, none done past the commit
    CHECK_FALSE(book.commit_due({"other", 0}));
  }

  TEST_CASE("a partition at the uncommitted cap stays there until a commit") {
    PartitionBook book(5);
    const PartitionHandle h = book.assign(k_p0);
    read_range(book, k_p0, 0, 4);
    CHECK_FALSE(book.at_cap(k_p0));
    read_range(book, k_p0, 4, 5);
    CHECK(book.at_cap(k_p0));
    for (std::int64_t o = 0; o < 5; ++o) CHECK(book.done({h, o}) == Done::done);
    CHECK(book.at_cap(k_p0));  // done but not committed: a restart would read them again
    CHECK(commit_of(book.take_commits(), k_p0) == 5);
    CHECK_FALSE(book.at_cap(k_p0));
    // positions() snapshots without committing; committed() is what a failed commit resends.
    read_range(book, k_p0, 5, 7);
    CHECK(book.done({h, 5}) == Done::done);
    CHECK(commit_of(book.positions(), k_p0) == 6);
    CHECK(commit_of(book.committed(), k_p0) == 5);
  }

  TEST_CASE("the error throttle reports a new error at once and a repeated one sparingly") {
    using namespace std::chrono_literals;
    spouts::kafka::ErrorThrottle throttle(5s);
    const auto t0 = spouts::kafka::ErrorThrottle::Clock::time_point{} + 1h;
    CHECK(throttle.admit("down", "broker down", t0) == "broker down");
    CHECK(throttle.admit("down", "broker down", t0 + 1s).empty());
    CHECK(throttle.admit("down", "broker down", t0 + 2s).empty());
    CHECK(throttle.admit("down", "broker down", t0 + 6s) ==
          "broker down (2 more like it since last reported)");
    CHECK(throttle.admit("bad", "bad tuple [1]", t0 + 6s) == "bad tuple [1]");
  }

  TEST_CASE("first poll: earliest and latest start over unless this deployment made the commit") {
    using spouts::kafka::FirstPoll;
    using spouts::kafka::start_at;
    using spouts::kafka::StartAt;
    const std::string ours = spouts::kafka::commit_metadata("wordcount-3-1733200000");
    CHECK(ours == "gale:wordcount-3-1733200000");
    const std::optional<std::string> none;
    const std::optional<std::string> mine = ours;
    const std::optional<std::string> earlier = "gale:wordcount-2-1733100000";
    const std::optional<std::string> foreign = "";  // committed by a client without metadata

    CHECK(start_at(FirstPoll::earliest, none, ours) == StartAt::beginning);
    CHECK(start_at(FirstPoll::earliest, mine, ours) == StartAt::commit);
    CHECK(start_at(FirstPoll::earliest, earlier, ours) == StartAt::beginning);
    CHECK(start_at(FirstPoll::earliest, foreign, ours) == StartAt::beginning);
    CHECK(start_at(FirstPoll::latest, none, ours) == StartAt::end);
    CHECK(start_at(FirstPoll::latest, mine, ours) == StartAt::commit);
    CHECK(start_at(FirstPoll::latest, earlier, ours) == StartAt::end);
    CHECK(start_at(FirstPoll::latest, foreign, ours) == StartAt::end);
    // The uncommitted strategies resume from any commit.
    for (const auto& committed : {mine, earlier, foreign}) {
      CHECK(start_at(FirstPoll::uncommitted_earliest, committed, ours) == StartAt::commit);
      CHECK(start_at(FirstPoll::uncommitted_latest, committed, ours) == StartAt::commit);
    }
    CHECK(start_at(FirstPoll::uncommitted_earliest, none, ours) == StartAt::beginning);
    CHECK(start_at(FirstPoll::uncommitted_latest, none, ours) == StartAt::end);
  }

  TEST_CASE("first poll: the strategies by name") {
    using spouts::kafka::FirstPoll;
    CHECK(spouts::kafka::first_poll_of("earliest") == FirstPoll::earliest);
    CHECK(spouts::kafka::first_poll_of("latest") == FirstPoll::latest);
    CHECK(spouts::kafka::first_poll_of("uncommitted_earliest") == FirstPoll::uncommitted_earliest);
    CHECK(spouts::kafka::first_poll_of("uncommitted_latest") == FirstPoll::uncommitted_latest);
    CHECK_THROWS_WITH_AS(spouts::kafka::first_poll_of("committed"),
                         "config key 'kafka.first.poll.offset.strategy': unknown strategy "
                         "'committed'",
                         ConfigError);
    CHECK(spouts::kafka::by_deployment(FirstPoll::earliest));
    CHECK(spouts::kafka::by_deployment(FirstPoll::latest));
    CHECK_FALSE(spouts::kafka::by_deployment(FirstPoll::uncommitted_earliest));
    CHECK_FALSE(spouts::kafka::by_deployment(FirstPoll::uncommitted_latest));
  }
}
