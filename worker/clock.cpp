#include "worker/clock.hpp"
#include "worker/transport.hpp"

namespace gale::worker {

Clock::~Clock() = default;
SteadyClock::~SteadyClock() = default;
ManualClock::~ManualClock() = default;
RemoteTransport::~RemoteTransport() = default;

}  // namespace gale::worker
