#pragma once

#include <stdexcept>
#include <string>

#include <gale/export.hpp>

namespace gale {

// Base of every exception Gale throws at its user-facing boundary (builder, config, values, plugins).
class GALE_API Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message);
  ~Error() override;
};

// A value was read as the wrong type, e.g. get_string() on an integer.
class GALE_API TypeError : public Error {
 public:
  using Error::Error;
  ~TypeError() override;
};

// A field name or index does not exist in a tuple's fields.
class GALE_API FieldError : public Error {
 public:
  using Error::Error;
  ~FieldError() override;
};

// A topology is invalid (unknown component, undeclared field, bad parallelism, ...).
class GALE_API TopologyError : public Error {
 public:
  using Error::Error;
  ~TopologyError() override;
};

// A configuration key has a value of the wrong type or out of range, or an assignment is malformed.
class GALE_API ConfigError : public Error {
 public:
  using Error::Error;
  ~ConfigError() override;
};

// A plugin could not be loaded: not a shared library, no entry point, ABI mismatch, or its build
// function threw.
class GALE_API PluginError : public Error {
 public:
  using Error::Error;
  ~PluginError() override;
};

// Thrown by user code (typically a BasicBolt) to fail the current input tuple on purpose. Any other
// exception fails the tuple too, but is also counted and logged as an error.
class GALE_API FailedException : public Error {
 public:
  using Error::Error;
  ~FailedException() override;
};

}  // namespace gale
