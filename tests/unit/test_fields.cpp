#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <gale/errors.hpp>
#include <gale/fields.hpp>

using gale::Fields;

TEST_SUITE("fields") {
  TEST_CASE("names keep their order") {
    Fields f{"word", "count"};
    REQUIRE(f.size() == 2);
    CHECK_FALSE(f.empty());
    CHECK(f[0] == "word");
    CHECK(f[1] == "count");
    CHECK(f.names() == std::vector<std::string>{"word", "count"});
    std::vector<std::string> seen(f.begin(), f.end());
    CHECK(seen == f.names());
  }

  TEST_CASE("default and empty") {
    Fields none;
    CHECK(none.empty());
    CHECK(none.size() == 0);
    CHECK(none.to_string() == "[]");
    CHECK(Fields(std::vector<std::string>{}).empty());
    CHECK_FALSE(none.contains("x"));
    CHECK_THROWS_WITH_AS(none.index("x"), "no field 'x' in []", gale::FieldError);
  }

  TEST_CASE("index and lookup") {
    Fields f(std::vector<std::string>{"a", "b", "c"});
    CHECK(f.index("a") == 0);
    CHECK(f.index("c") == 2);
    CHECK(f.index_of("b") == 1);
    CHECK_FALSE(f.index_of("d").has_value());
    CHECK(f.contains("b"));
    CHECK_FALSE(f.contains("B"));  // case-sensitive, as in Storm
    CHECK_FALSE(f.contains(""));
  }

  TEST_CASE("index of an absent field names it and the declared fields") {
    Fields f{"a", "b"};
    CHECK_THROWS_WITH_AS(f.index("x"), "no field 'x' in [a, b]", gale::FieldError);
    CHECK_THROWS_AS(f.index("x"), gale::Error);
  }

  TEST_CASE("empty names are rejected") {
    CHECK_THROWS_WITH_AS(Fields({"a", "", "b"}), doctest::Contains("empty field name"),
                         gale::FieldError);
    CHECK_THROWS_WITH_AS(Fields({"a", "", "b"}), doctest::Contains("position 1"), gale::FieldError);
    CHECK_THROWS_WITH_AS(Fields(std::vector<std::string>{""}),
                         doctest::Contains("empty field name"), gale::FieldError);
  }

  TEST_CASE("duplicate names are rejected, naming the field") {
    CHECK_THROWS_WITH_AS(Fields({"word", "count", "word"}),
                         "duplicate field 'word' in [word, count, word]", gale::FieldError);
    CHECK_THROWS_WITH_AS(Fields(std::vector<std::string>{"x", "x"}), doctest::Contains("'x'"),
                         gale::FieldError);
  }

  TEST_CASE("to_string and equality") {
    CHECK(Fields{"word"}.to_string() == "[word]");
    CHECK(Fields{"a", "b"}.to_string() == "[a, b]");
    CHECK(Fields{"a", "b"} == Fields(std::vector<std::string>{"a", "b"}));
    CHECK_FALSE(Fields{"a", "b"} == Fields{"b", "a"});
    CHECK_FALSE(Fields{"a"} == Fields{});
  }
}
