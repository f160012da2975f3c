#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "cluster/child_process.hpp"
#include "tests/support/support.hpp"

// cluster::spawn_child, which starts every helper process of the tests and the benchmark: its
// children die with the process that started them, whichever thread started them.

using namespace std::chrono_literals;

namespace {

// `pid` is gone or a zombie nobody reaped yet (an orphan's reaper may be slow).
bool gone(pid_t pid) {
  if (::kill(pid, 0) != 0) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto paren = line.rfind(')');
  return paren == std::string::npos || line.substr(paren + 2, 1) == "Z";
}

}  // namespace

TEST_SUITE("components") {
  TEST_CASE("a child started from a thread that has ended keeps running until killed") {
    pid_t child = -1;
    std::thread([&] { child = gale::cluster::spawn_child({"sleep", "60"}); }).join();
    REQUIRE(child > 0);
    // PR_SET_PDEATHSIG fires when the forking thread exits: forked by the spawner's own thread,
    // the child outlives the thread that asked.
    CHECK_FALSE(gale::cluster::wait_child(child, 300ms).has_value());
    gale::cluster::kill_child(child);
    CHECK(gone(child));
  }

  TEST_CASE("a child dies with the process that started it") {
    // spawn_and_wait starts `sleep 60` and prints its pid; killing it must take the sleep along.
    int report[2];
    REQUIRE(::pipe2(report, O_CLOEXEC) == 0);
    gale::cluster::ChildOptions options;
    options.stdout_fd = report[1];
    const pid_t starter = gale::cluster::spawn_child({GALE_SPAWN_AND_WAIT}, options);
    ::close(report[1]);
    char text[32] = {};
    std::size_t got = 0;
    while (got < sizeof text - 1) {
      pollfd p{report[0], POLLIN, 0};
      if (::poll(&p, 1, 10'000) <= 0) break;  // bounded: the helper prints at once
      const ssize_t n = ::read(report[0], text + got, sizeof text - 1 - got);
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
      if (std::string(text, got).find('\n') != std::string::npos) break;
    }
    ::close(report[0]);
    const pid_t child = static_cast<pid_t>(std::atoi(text));
    gale::cluster::kill_child(starter);
    REQUIRE(child > 0);
    CHECK(gale::test::wait_until([&] { return gone(child); }, 10s));
    if (!gone(child)) ::kill(child, SIGKILL);
  }

  TEST_CASE("a program that cannot be run exits with 127, and its output goes to the file") {
    const pid_t missing = gale::cluster::spawn_child({"/nonexistent/gale-no-such-program"});
    const auto status = gale::cluster::wait_child(missing, 10s);
    REQUIRE(status.has_value());
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 127);

    char dir[] = "/tmp/gale-child-XXXXXX";
    REQUIRE(::mkdtemp(dir) != nullptr);
    gale::cluster::ChildOptions options;
    options.output = std::string(dir) + "/out.log";
    const pid_t echo = gale::cluster::spawn_child({"sh", "-c", "echo out; echo err >&2"}, options);
    const auto done = gale::cluster::wait_child(echo, 10s);
    REQUIRE(done.has_value());
    std::ifstream log(options.output);
    std::string all((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    CHECK(all == "out\nerr\n");
    std::filesystem::remove_all(dir);
  }
}
