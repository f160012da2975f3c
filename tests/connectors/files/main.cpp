// The connector_files test binary. With "--killable-topology DIR" it is instead the child
// process that the restart test starts and SIGKILLs (test_file_spout_restart.cpp): a fresh process,
// so that the kill hits a real, unprepared runtime.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstring>

#include "tests/connectors/files/files_test_support.hpp"

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--killable-topology") == 0) {
    return gale::test::files::run_killable_topology(argv[2]);
  }
  return doctest::Context(argc, argv).run();
}
