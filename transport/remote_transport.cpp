#include "transport/remote_transport.hpp"

namespace gale::transport {

RemoteTransport::~RemoteTransport() = default;

}  // namespace gale::transport
