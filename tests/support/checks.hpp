#pragma once

// Check helpers for doctest tests.

#include <doctest/doctest.h>

#include <string>

namespace gale::test {

// The message of the E thrown by fn; fails the test when fn throws nothing. Another exception type
// propagates and fails the test as well.
template <class E, class Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  }
  FAIL("no exception was thrown");
  return {};
}

inline bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace gale::test
