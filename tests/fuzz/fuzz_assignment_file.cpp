// libFuzzer target: the assignment file a worker reads at start (cluster/assignment_file.hpp).
// For any bytes, decode_assignment_file returns or throws ProtocolError (nothing else), and what
// it returns encodes to bytes that decode to the same assignment, config and status.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cluster/assignment_file.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace cluster = gale::cluster;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  cluster::AssignmentFile file;
  try {
    file = cluster::decode_assignment_file(bytes);
  } catch (const cluster::ProtocolError&) {
    return 0;
  }
  const cluster::AssignmentFile again = cluster::decode_assignment_file(
      cluster::encode_assignment_file(file.assignment, file.config, file.status));
  FUZZ_CHECK(again.assignment == file.assignment);
  FUZZ_CHECK(again.config.entries() == file.config.entries());
  FUZZ_CHECK(again.status == file.status);
  return 0;
}
