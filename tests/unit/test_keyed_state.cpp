// The in-memory keyed state table: each key sees its own entries, kinds do not mix, and a snapshot
// restores exactly what was there.

#include <doctest/doctest.h>

#include <string>

#include "state/checkpoint_store.hpp"
#include "state/keyed_state.hpp"
#include "wire/codec.hpp"

using gale::Value;
using gale::Values;
using gale::state::KeyedStateTable;

TEST_SUITE("state") {
  TEST_CASE("reads and writes go to the current key's entry") {
    KeyedStateTable t;
    t.set_current_key({"cow"});
    CHECK(t.value("count") == nullptr);
    t.set_value("count", 3);
    t.map_put("seen", "mon", 1);
    t.list_add("log", "a");
    t.set_current_key({"dog"});
    CHECK(t.value("count") == nullptr);
    CHECK(t.map_get("seen", "mon") == nullptr);
    CHECK(t.list("log").empty());
    t.set_value("count", 5);
    t.set_current_key({"cow"});
    REQUIRE(t.value("count") != nullptr);
    CHECK(t.value("count")->as_int() == 3);
    CHECK(t.map_get("seen", "mon")->as_int() == 1);
    CHECK(t.list("log") == std::vector<Value>{Value("a")});
    CHECK(t.keys("count") == 2);

    t.map_put("seen", "tue", 2);
    CHECK(t.map_size("seen") == 2);
    t.map_remove("seen", "mon");
    t.map_remove("seen", "tue");
    CHECK(t.keys("seen") == 0);  // an emptied map leaves no entry behind
    t.clear("count");
    CHECK(t.value("count") == nullptr);
    CHECK(t.keys("count") == 1);
    // Keys of several fields, of other types.
    t.set_current_key({"cow", 7});
    t.set_value("count", 1);
    t.set_current_key({"cow", 8});
    CHECK(t.value("count") == nullptr);
  }

  TEST_CASE("a state of one kind used as another is an error naming it") {
    KeyedStateTable t;
    t.set_current_key({1});
    t.set_value("count", 1);
    CHECK_THROWS_WITH_AS(t.map_put("count", "a", 1),
                         "state 'count' is a value state, used as a map state", gale::Error);
    CHECK_THROWS_WITH_AS((void)t.list("count"),
                         "state 'count' is a value state, used as a list state", gale::Error);
  }

  TEST_CASE("a snapshot restores every state of every key") {
    KeyedStateTable t;
    for (int k = 0; k < 200; ++k) {
      t.set_current_key({"key-" + std::to_string(k), k % 3});
      t.set_value("count", k);
      t.map_put("by-day", "mon", k * 2);
      t.map_put("by-day", 7, Value(gale::List{Value(1), Value("x")}));
      for (int i = 0; i < k % 4; ++i) t.list_add("events", i);
    }
    const std::string bytes = t.snapshot();
    KeyedStateTable r = KeyedStateTable::restore(bytes, "snapshot of task 3");
    CHECK(r.keys("count") == 200);
    for (int k = 0; k < 200; ++k) {
      r.set_current_key({"key-" + std::to_string(k), k % 3});
      REQUIRE(r.value("count") != nullptr);
      CHECK(r.value("count")->as_int() == k);
      CHECK(r.map_get("by-day", "mon")->as_int() == k * 2);
      CHECK(r.map_get("by-day", 7)->as_list().size() == 2);
      CHECK(r.list("events").size() == static_cast<std::size_t>(k % 4));
    }
    // And the restored table snapshots to the same content.
    CHECK(KeyedStateTable::restore(r.snapshot(), "again").keys("events") == t.keys("events"));
    CHECK(KeyedStateTable::restore(KeyedStateTable().snapshot(), "empty").keys("count") == 0);
  }

  TEST_CASE("bytes that are not a keyed state snapshot are refused by name") {
    CHECK_THROWS_WITH_AS((void)KeyedStateTable::restore("\xc1garbage", "snapshot of task 3"),
                         doctest::Contains("snapshot of task 3: not a keyed state snapshot"),
                         gale::state::CheckpointError);
    const std::string wrong_shape = gale::wire::encode_values(Values{Value("just a string")});
    CHECK_THROWS_WITH_AS((void)KeyedStateTable::restore(wrong_shape, "snapshot of task 3"),
                         doctest::Contains("not a keyed state snapshot"),
                         gale::state::CheckpointError);
    const std::string bad_kind = gale::wire::encode_values(
        Values{Value(gale::List{Value("count"), Value("tree"), Value(gale::List{})})});
    CHECK_THROWS_WITH_AS((void)KeyedStateTable::restore(bad_kind, "snapshot of task 3"),
                         "snapshot of task 3: unknown state kind 'tree'",
                         gale::state::CheckpointError);
  }
}
