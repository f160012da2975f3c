#pragma once

// What the fuzz targets (tests/fuzz/fuzz_*.cpp) and the seed writer (seeds.cpp) share: an
// invariant check that aborts, so libFuzzer reports the input, and the streams the fuzzed "topology"
// declares for the batch decoders. See docs/fuzzing.md.

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include <gale/fields.hpp>

#include "topology/src/tuple_data.hpp"
#include "wire/codec.hpp"

// Aborts with the failed condition when `cond` is false: a broken decoder invariant is a finding,
// like a crash.
#define FUZZ_CHECK(cond)                                                                     \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (false)

namespace gale::fuzz {

// The streams of the batch targets' "topology", resolved the way a worker's plan resolves them.
// Their arities (1, 2, 0 and 3 fields) let mutated batches hit both matching and wrong counts.
struct Streams {
  detail::StreamMeta sentences{"sentences", "default", Fields{"sentence"}, 0, 0};
  detail::StreamMeta words{"split", "default", Fields{"word", "count"}, 1, 0};
  detail::StreamMeta signal{"split", "signal", Fields{}, 1, 1};
  detail::StreamMeta triples{"count", "default", Fields{"a", "b", "c"}, 2, 0};

  // Resolves (component index, stream index) to one of the above, or nullptr.
  wire::StreamResolver resolver() const {
    return [this](std::int32_t component, std::int32_t stream) -> const detail::StreamMeta* {
      for (const detail::StreamMeta* m : {&sentences, &words, &signal, &triples}) {
        if (m->component_index == component && m->stream_index == stream) return m;
      }
      return nullptr;
    };
  }
};

}  // namespace gale::fuzz
