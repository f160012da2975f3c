#pragma once

#include <map>
#include <string>

#include <gale/export.hpp>
#include <gale/fields.hpp>
#include <gale/streams.hpp>

namespace gale {

// A declared output stream: its fields, and whether tuples go to tasks chosen with emit_direct.
struct StreamDef {
  Fields fields;
  bool direct = false;
};

// Collects the streams a spout or bolt declares in declare_outputs(); owned by the caller of
// declare_outputs() (the builder), used on its thread only.
// Throws TopologyError when a stream is declared twice or its name is empty or reserved ("__...").
class GALE_API OutputDeclarer {
 public:
  // Declares the default stream.
  void declare(Fields fields);
  // Declares the default stream as a direct stream.
  void declare_direct(Fields fields);
  // Declares a named stream.
  void declare_stream(std::string stream, Fields fields);
  // Declares a named direct stream.
  void declare_direct_stream(std::string stream, Fields fields);

  const std::map<std::string, StreamDef, std::less<>>& streams() const noexcept { return streams_; }

 private:
  void add(std::string stream, Fields fields, bool direct);
  std::map<std::string, StreamDef, std::less<>> streams_;
};

}  // namespace gale
