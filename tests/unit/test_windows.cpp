#include <doctest/doctest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <gale/errors.hpp>
#include <gale/window.hpp>

#include "topology/src/window/session_windows.hpp"
#include "topology/src/window/window_manager.hpp"
#include "topology/src/window/window_spec.hpp"

// The window manager alone: which entries each window holds, which are new, which expired, and
// when windows close, with time given by the test (entries are ints, times milliseconds).

using gale::detail::WindowManager;
using gale::detail::WindowSpec;
using Manager = WindowManager<int>;
using Windows = std::vector<Manager::Window>;
using Ints = std::vector<int>;

namespace {

WindowSpec spec(std::optional<std::int64_t> length_count, std::optional<std::int64_t> length_ms,
                std::optional<std::int64_t> slide_count, std::optional<std::int64_t> slide_ms) {
  gale::Config c;
  if (length_count) c.set(gale::keys::window_length_count, *length_count);
  if (length_ms) c.set(gale::keys::window_length_duration_ms, *length_ms);
  if (slide_count) c.set(gale::keys::window_sliding_interval_count, *slide_count);
  if (slide_ms) c.set(gale::keys::window_sliding_interval_duration_ms, *slide_ms);
  return *WindowSpec::from(c);
}

}  // namespace

TEST_SUITE("windows") {
  TEST_CASE("a sliding count window of 3 every tuple") {
    Manager m(spec(3, {}, 1, {}));
    Windows w;
    for (int i = 1; i <= 5; ++i) m.add(i, 1000 + i, w);
    REQUIRE(w.size() == 5);
    CHECK(w[0].tuples == Ints{1});
    CHECK(w[2].tuples == Ints{1, 2, 3});
    CHECK(w[3].tuples == Ints{2, 3, 4});
    CHECK(w[3].fresh == Ints{4});
    CHECK(w[3].expired == Ints{1});
    CHECK(w[4].tuples == Ints{3, 4, 5});
    CHECK(w[4].expired == Ints{2});
    CHECK(w[4].start == 1003);  // the oldest tuple's arrival
    CHECK(w[4].end == 1006);    // just after the closing tuple's arrival
    CHECK(m.held() == 3);
  }

  TEST_CASE("a tumbling count window: its tuples expire when the next one closes") {
    Manager m(spec(3, {}, 3, {}));
    Windows w;
    for (int i = 1; i <= 8; ++i) m.add(i, 0, w);
    REQUIRE(w.size() == 2);
    CHECK(w[0].tuples == Ints{1, 2, 3});
    CHECK(w[0].fresh == Ints{1, 2, 3});
    CHECK(w[0].expired.empty());
    CHECK(w[1].tuples == Ints{4, 5, 6});
    CHECK(w[1].expired == Ints{1, 2, 3});
    CHECK(m.held() == 5);  // 4..6 in the last window, 7 and 8 waiting for theirs
  }

  TEST_CASE("a sliding window of 10 s every 2 s, by arrival time, closes on the clock") {
    Manager m(spec({}, 10'000, {}, 2'000));
    Windows w;
    m.advance(100'500, w);  // the first window ends at 102 000
    m.add(1, 100'500, w);
    m.add(2, 101'999, w);
    CHECK(w.empty());
    m.add(3, 102'000, w);  // arrives at the end of the first window, which closes first
    REQUIRE(w.size() == 1);
    m.advance(102'000, w);  // closed already
    REQUIRE(w.size() == 1);
    CHECK(w[0].tuples == Ints{1, 2});
    CHECK(w[0].start == 92'000);
    CHECK(w[0].end == 102'000);
    w.clear();
    m.add(4, 111'000, w);  // a late tick: the windows ending at 104 000 .. 110 000 close first
    REQUIRE(w.size() == 4);
    CHECK(w[0].end == 104'000);
    CHECK(w[0].tuples == Ints{1, 2, 3});
    CHECK(w[0].fresh == Ints{3});
    CHECK(w[3].end == 110'000);
    CHECK(w[3].tuples == Ints{1, 2, 3});
    CHECK(w[3].fresh.empty());
    w.clear();
    m.advance(112'000, w);  // [102 000, 112 000): 1 and 2 have left
    REQUIRE(w.size() == 1);
    CHECK(w[0].tuples == Ints{3, 4});
    CHECK(w[0].fresh == Ints{4});
    CHECK(w[0].expired == Ints{1, 2});
    w.clear();
    m.advance(200'000, w);  // 3 leaves at 114 000, 4 at 122 000; nothing after
    REQUIRE(w.size() == 5);
    CHECK(w[0].expired == Ints{3});
    CHECK(w[4].tuples.empty());
    CHECK(w[4].expired == Ints{4});
    CHECK(m.held() == 0);
    w.clear();
    m.advance(1'000'000, w);  // empty windows are skipped
    CHECK(w.empty());
  }

  TEST_CASE("a tumbling window of 5 s") {
    Manager m(spec({}, 5'000, {}, 5'000));
    Windows w;
    m.add(1, 1'000, w);
    m.add(2, 4'999, w);
    m.add(3, 5'000, w);
    m.advance(10'000, w);
    REQUIRE(w.size() == 2);
    CHECK(w[0].tuples == Ints{1, 2});
    CHECK(w[0].start == 0);
    CHECK(w[0].end == 5'000);
    CHECK(w[1].tuples == Ints{3});
    CHECK(w[1].expired == Ints{1, 2});
  }

  TEST_CASE("a count window evaluated on the clock, and a time window evaluated by count") {
    Manager by_clock(spec(2, {}, {}, 1'000));
    Windows w;
    by_clock.add(1, 100, w);
    by_clock.add(2, 200, w);
    by_clock.add(3, 300, w);
    by_clock.advance(1'000, w);
    REQUIRE(w.size() == 1);
    CHECK(w[0].tuples == Ints{2, 3});  // the last 2 before the end
    CHECK(w[0].expired == Ints{1});

    Manager by_count(spec({}, 1'000, 2, {}));
    w.clear();
    by_count.add(1, 0, w);
    by_count.add(2, 500, w);
    by_count.add(3, 1'200, w);
    by_count.add(4, 1'600, w);
    REQUIRE(w.size() == 2);
    CHECK(w[0].tuples == Ints{1, 2});
    CHECK(w[1].tuples == Ints{3, 4});  // [601, 1601): 2 arrived at 500
    CHECK(w[1].fresh == Ints{3, 4});
    CHECK(w[1].start == 601);
    CHECK(w[1].expired == Ints{1, 2});
  }

  TEST_CASE("session windows split on the gap, per key") {
    gale::detail::SessionWindows<int, std::string, std::hash<std::string>> s(1'000);
    Windows w;
    s.add("a", 1, 10'000, w);
    s.add("b", 2, 10'100, w);
    s.add("a", 3, 10'900, w);   // 900 ms after a's last: same session
    s.add("b", 4, 11'100, w);   // exactly the gap after b's last: b's session closes first
    REQUIRE(w.size() == 1);
    CHECK(w[0].tuples == Ints{2});
    CHECK(w[0].start == 10'100);
    CHECK(w[0].end == 11'100);
    CHECK(w[0].expired == Ints{2});  // its tuples leave with it
    s.advance(11'899, w);
    CHECK(w.size() == 1);
    s.advance(11'900, w);  // a: [10 000, 11 900)
    REQUIRE(w.size() == 2);
    CHECK(w[1].tuples == Ints{1, 3});
    CHECK(w[1].start == 10'000);
    CHECK(w[1].end == 11'900);
    CHECK(s.held() == 1);  // b's new session
    CHECK(s.sessions() == 1);
    s.add("a", 5, 20'000, w);  // a late tick: b's session closes before a's new one begins
    REQUIRE(w.size() == 3);
    CHECK(w[2].tuples == Ints{4});
    s.advance(30'000, w);
    REQUIRE(w.size() == 4);
    CHECK(w[3].tuples == Ints{5});
    CHECK(s.held() == 0);
  }

  TEST_CASE("sessions that end together close oldest first") {
    gale::detail::SessionWindows<int, int, std::hash<int>> s(500);
    Windows w;
    for (int key = 5; key > 0; --key) s.add(key, key, 1'000, w);
    s.advance(1'500, w);
    REQUIRE(w.size() == 5);
    for (int i = 0; i < 5; ++i) CHECK(w[static_cast<std::size_t>(i)].tuples == Ints{5 - i});
  }

  TEST_CASE("window settings are checked, naming the key or the limit") {
    using gale::ConfigError;
    gale::Config none;
    CHECK_FALSE(WindowSpec::from(none).has_value());
    gale::Config slide_only;
    slide_only.set(gale::keys::window_sliding_interval_count, 2);
    CHECK_THROWS_WITH_AS(WindowSpec::from(slide_only),
                         doctest::Contains("a window needs a length"), ConfigError);
    gale::Config negative;
    negative.set(gale::keys::window_length_count, 0);
    CHECK_THROWS_WITH_AS(WindowSpec::from(negative),
                         "config key 'topology.bolts.window.length.count': expected an int >= 1, "
                         "got 0",
                         ConfigError);
    CHECK_THROWS_WITH_AS(spec(3, {}, 4, {}),
                         "the sliding interval of 4 tuples is longer than the window of 3 tuples: "
                         "some tuples would be in no window",
                         ConfigError);
    CHECK_THROWS_AS(spec({}, 1'000, {}, 2'000), ConfigError);
    CHECK(spec(3, {}, {}, {}).slide_count == 1);  // slides by one tuple by default
    CHECK(spec(100, {}, 100, {}).describe() == "a tumbling window of 100 tuples");
    CHECK(spec({}, 10'000, {}, 2'000).describe() ==
          "a sliding window of 10000 ms every 2000 ms");

    CHECK_NOTHROW(gale::detail::check_window_limits(spec(600, {}, 400, {}), "w", 1000, "", 0));
    CHECK_THROWS_WITH_AS(
        gale::detail::check_window_limits(spec(800, {}, 400, {}), "w", 1000,
                                          "spout 's': 1 x topology.max.spout.pending 1000", 0),
        doctest::Contains("bolt 'w': a sliding window of 800 tuples every 400 tuples holds up to "
                          "1200 tuples (length + sliding interval), more than the 1000 tuple "
                          "trees the spouts may have pending"),
        ConfigError);
    gale::Config sessions;
    sessions.set(gale::keys::window_session_gap_ms, 40'000);
    CHECK_THROWS_WITH_AS(WindowSpec::from(sessions),
                         doctest::Contains("session windows need both"), ConfigError);
    sessions.set(gale::keys::window_session_key_fields, gale::Value(gale::List{gale::Value("user")}));
    const WindowSpec by_user = *WindowSpec::from(sessions);
    CHECK(by_user.describe() == "session windows by (user) with a gap of 40000 ms");
    CHECK_THROWS_WITH_AS(gale::detail::check_window_limits(by_user, "s", 0, "", 30'000),
                         doctest::Contains("holds every tuple for at least the gap"), ConfigError);
    sessions.set(gale::keys::window_length_count, 3);
    CHECK_THROWS_WITH_AS(WindowSpec::from(sessions),
                         "a window is either sessions or a sliding or tumbling window, not both",
                         ConfigError);
    gale::Config bad_key;
    bad_key.set(gale::keys::window_session_gap_ms, 1'000);
    bad_key.set(gale::keys::window_session_key_fields, "user");
    CHECK_THROWS_WITH_AS(WindowSpec::from(bad_key),
                         doctest::Contains("expected a non-empty list of field names"),
                         ConfigError);
    CHECK_THROWS_WITH_AS(
        gale::detail::check_window_limits(spec({}, 25'000, {}, 10'000), "w", 0, "", 30'000),
        doctest::Contains("holds tuples for up to 35000 ms (length + sliding interval), longer "
                          "than topology.message.timeout.secs (30 s)"),
        ConfigError);
  }
}
