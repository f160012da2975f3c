#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace gale::detail {

// Optimal string alignment distance: Levenshtein's insertions, deletions and substitutions plus
// the swap of two adjacent characters, the commonest typing slip ("wokrers"), each costing 1.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `key` by edit_distance, or "" when none is close enough to be a likely
// misspelling (at most 2 edits, or a fifth of the key's length for longer keys). Ties go to the
// first candidate, so pass them in the order a tie should prefer.
std::string closest_match(std::string_view key, const std::vector<std::string_view>& candidates);

}  // namespace gale::detail
