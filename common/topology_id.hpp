#pragma once

// The deployment id of a topology run in one process (`gale local`, the test kit): the
// topology.id of a run that no nimbus submitted.

#include <string>
#include <string_view>

#include <gale/export.hpp>

namespace gale::common {

// "<name>-local-<pid>-<n>-<unix secs>", n counting the calls in this process: unique per run,
// also for runs of one name started in the same second by one process or by several. Nimbus
// makes its own ids ("<name>-<n>-<unix secs>") when a topology is submitted. Thread: any.
[[nodiscard]] GALE_API std::string local_topology_id(std::string_view name);

}  // namespace gale::common
