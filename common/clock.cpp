#include "common/clock.hpp"

namespace gale::common {

Clock::~Clock() = default;
SteadyClock::~SteadyClock() = default;
ManualClock::~ManualClock() = default;

}  // namespace gale::common
