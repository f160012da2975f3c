#include <doctest/doctest.h>

#include <gale/spouts/fixed_tuple_spout.hpp>

#include "tests/integration/topologies.hpp"

using namespace gale;
using gale::testing::complete_topology;
using gale::spouts::FixedTupleSpout;
using gale::testing::RunOptions;

TEST_SUITE("local_wordcount") {
  TEST_CASE("word count over a finite spout gives exact counts") {
    const auto input = test::sentences(200);
    // Every way an executor can wait for input: poll under load (default), poll after any work,
    // never poll.
    enum class Wait { under_load, light_load, never };
    for (auto [acking, wait] : {std::pair{1, Wait::under_load}, std::pair{0, Wait::under_load},
                                std::pair{1, Wait::light_load}, std::pair{1, Wait::never}}) {
      CAPTURE(acking);
      CAPTURE(static_cast<int>(wait));
      TopologyBuilder b;
      b.set_spout("sentences", make<FixedTupleSpout>(Fields{"sentence"}, input), 2);
      b.set_bolt("split", make<test::SplitBolt>(), 3).shuffle_grouping("sentences");
      b.set_bolt("count", make<test::CountBolt>(), 2).fields_grouping("split", {"word"});
      RunOptions options;
      options.config.set(keys::topology_acker_executors, acking);
      if (wait == Wait::light_load) options.config.set(keys::topology_executor_spin_light_load, true);
      if (wait == Wait::never) options.config.set(keys::topology_executor_spin_micros, 0);
      auto result = complete_topology(b.build(), options);

      CHECK(result.emitted("sentences").size() == input.size());
      auto expected = test::expected_counts(input);
      std::int64_t words = 0;
      for (auto& [w, n] : expected) words += n;
      CHECK(result.emitted("split").size() == static_cast<std::size_t>(words));
      CHECK(result.emitted("count").size() == static_cast<std::size_t>(words));
      CHECK(test::final_counts(result.emitted("count")) == expected);
      auto spout = result.counts("sentences");
      CHECK(spout.acked == input.size());
      CHECK(spout.failed == 0);
      CHECK(result.counts("count").executed == static_cast<std::uint64_t>(words));
    }
  }

  TEST_CASE("more tasks than executors: every task runs and counts stay exact") {
    const auto input = test::sentences(50);
    TopologyBuilder b;
    b.set_spout("sentences", make<FixedTupleSpout>(Fields{"sentence"}, input), 1).set_num_tasks(3);
    b.set_bolt("split", make<test::SplitBolt>(), 2).set_num_tasks(5).shuffle_grouping("sentences");
    b.set_bolt("count", make<test::CountBolt>(), 1).set_num_tasks(4).fields_grouping("split", {"word"});
    auto result = complete_topology(b.build());
    CHECK(test::final_counts(result.emitted("count")) == test::expected_counts(input));
    CHECK(result.counts("sentences").acked == input.size());
  }
}
