#include "worker/process/slot_runtime.hpp"

namespace gale::worker {

SlotRuntime::~SlotRuntime() = default;

}  // namespace gale::worker
