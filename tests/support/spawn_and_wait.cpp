// A process that starts `sleep 60` with cluster::spawn_child, prints its pid and waits to be
// killed: the child process test kills it and checks that the sleep dies with it. A process of its
// own (not a fork of the test) because ThreadSanitizer cannot start threads in the fork of a
// multithreaded process, and spawn_child forks from a thread of its own.

#include <unistd.h>

#include <cstdio>

#include "cluster/child_process.hpp"

int main() {
  const pid_t child = gale::cluster::spawn_child({"sleep", "60"});
  std::printf("%d\n", static_cast<int>(child));
  std::fflush(stdout);
  for (;;) ::pause();
}
