#include <gale/errors.hpp>
#include <gale/output_declarer.hpp>
#include <string>
#include <utility>

namespace gale {

void OutputDeclarer::declare(Fields fields) { add(default_stream, std::move(fields), false); }

void OutputDeclarer::declare_direct(Fields fields) { add(default_stream, std::move(fields), true); }

void OutputDeclarer::declare_stream(std::string stream, Fields fields) {
  add(std::move(stream), std::move(fields), false);
}

void OutputDeclarer::declare_direct_stream(std::string stream, Fields fields) {
  add(std::move(stream), std::move(fields), true);
}

void OutputDeclarer::add(std::string stream, Fields fields, bool direct) {
  if (stream.empty()) throw TopologyError("cannot declare a stream with an empty name");
  // "__" names belong to the system (tick tuples on "__tick", the acker's streams): a user stream
  // with such a name could be mistaken for one of them by the runtime.
  if (stream.starts_with("__")) {
    throw TopologyError("cannot declare stream '" + stream +
                        "': names starting with \"__\" are reserved for Gale");
  }
  if (streams_.contains(stream)) {
    // Naming both field lists helps when the same stream is declared from two code paths.
    throw TopologyError("stream '" + stream + "' is declared twice (first as " +
                        streams_.find(stream)->second.fields.to_string() + ", then as " +
                        fields.to_string() + ")");
  }
  streams_.emplace(std::move(stream), StreamDef{std::move(fields), direct});
}

}  // namespace gale
