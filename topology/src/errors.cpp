#include <gale/errors.hpp>

namespace gale {

// Out-of-line so that each exception class has a single key function: its vtable and typeinfo are
// emitted once, in libgale, and exported. A plugin that throws gale::FailedException and a worker
// that catches it then agree on the type even though both were loaded with RTLD_LOCAL.

Error::Error(const std::string& message) : std::runtime_error(message) {}
Error::~Error() = default;

TypeError::~TypeError() = default;
FieldError::~FieldError() = default;
TopologyError::~TopologyError() = default;
ConfigError::~ConfigError() = default;
PluginError::~PluginError() = default;
FailedException::~FailedException() = default;

}  // namespace gale
