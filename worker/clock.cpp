#include "worker/clock.hpp"

namespace gale::worker {

Clock::~Clock() = default;
SteadyClock::~SteadyClock() = default;
ManualClock::~ManualClock() = default;

}  // namespace gale::worker
