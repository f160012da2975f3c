#include <doctest/doctest.h>
#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "supervisor/cgroup_tree.hpp"
#include "supervisor/launcher.hpp"
#include "tests/support/support.hpp"
#include "tests/unit/fake_cgroupfs.hpp"

// The cgroup v2 path of the per-worker memory limit against a directory that mimics cgroupfs
// (this machine may run cgroup v1, and the tests must not touch the host's cgroups).

namespace {

namespace fs = std::filesystem;
using gale::supervisor::CgroupTree;
using gale::testing::FakeCgroupFiles;
using gale::testing::FakeCgroupfs;

CgroupTree::SetUp set_up(const FakeCgroupfs& cgroupfs, bool swap = true) {
  return CgroupTree::set_up(cgroupfs.options(),
                            std::make_unique<FakeCgroupFiles>(cgroupfs.root, swap));
}

std::string text(const fs::path& file) { return FakeCgroupFiles::text_of(file); }

}  // namespace

TEST_SUITE("supervisor") {
  TEST_CASE("cgroup tree: an empty own cgroup gets memory for its children without moving anyone") {
    FakeCgroupfs cgroupfs;
    const CgroupTree::SetUp s = set_up(cgroupfs);
    REQUIRE_MESSAGE(s.tree, s.reason);
    CHECK(s.tree->workers_dir() == cgroupfs.own_dir / "workers");
    CHECK(text(cgroupfs.own_dir / "cgroup.subtree_control") == "memory\n");
    CHECK(text(cgroupfs.own_dir / "workers" / "cgroup.subtree_control") == "memory\n");
    CHECK_FALSE(fs::exists(cgroupfs.own_dir / "supervisor"));
  }

  TEST_CASE(
      "cgroup tree: a supervisor in its own cgroup moves into <own>/supervisor first (EBUSY)") {
    FakeCgroupfs cgroupfs("cpu memory pids", "4242\n");
    const CgroupTree::SetUp s = set_up(cgroupfs);
    REQUIRE_MESSAGE(s.tree, s.reason);
    CHECK(text(cgroupfs.own_dir / "supervisor" / "cgroup.procs") == "4242\n");
    CHECK(text(cgroupfs.own_dir / "cgroup.procs").empty());
    CHECK(text(cgroupfs.own_dir / "cgroup.subtree_control") == "memory\n");
    CHECK(fs::is_directory(cgroupfs.own_dir / "workers"));
  }

  TEST_CASE("cgroup tree: a worker's cgroup holds its limit in bytes and tells its OOM kills") {
    FakeCgroupfs cgroupfs;
    CgroupTree::SetUp s = set_up(cgroupfs);
    REQUIRE_MESSAGE(s.tree, s.reason);
    CgroupTree& tree = *s.tree;
    const fs::path dir = cgroupfs.own_dir / "workers" / "worker-6700";
    CHECK(tree.slot_dir(6700) == dir);
    CHECK_FALSE(tree.prepare(6700, 300));
    CHECK(text(dir / "memory.max") == "314572800\n");
    CHECK(text(dir / "memory.swap.max") == "0\n");
    CHECK(text(dir / "memory.oom.group") == "1\n");  // an OOM kill takes the whole worker
    // Prepared again (a restart whose cgroup could not be removed): the same directory.
    CHECK_FALSE(tree.prepare(6700, 200));
    CHECK(text(dir / "memory.max") == "209715200\n");

    CHECK(tree.oom_kills(6700) == 0);
    std::ofstream(dir / "memory.events", std::ios::trunc)
        << "low 0\nhigh 0\nmax 7\noom 2\noom_kill 2\noom_group_kill 1\n";
    CHECK(tree.oom_kills(6700) == 3);
    CHECK_FALSE(tree.oom_kills(6701));  // no cgroup: unknown, not zero

    // A cgroup with a process in it stays; an empty one goes, and so does the tree at the end.
    CHECK_FALSE(tree.prepare(6701, 100));
    std::ofstream(tree.slot_dir(6701) / "cgroup.procs") << "777\n";
    const auto busy = tree.remove(6701);
    REQUIRE(busy);
    CHECK(busy->find("cannot remove cgroup " + tree.slot_dir(6701).string()) != std::string::npos);
    CHECK_FALSE(tree.remove(6700));
    CHECK_FALSE(fs::exists(dir));
    CHECK_FALSE(tree.remove(6700));  // already gone: nothing to do
    CHECK(tree.remove_all().size() == 1);
    std::ofstream(tree.slot_dir(6701) / "cgroup.procs", std::ios::trunc);
    CHECK(tree.remove_all().empty());
    CHECK_FALSE(fs::exists(cgroupfs.own_dir / "workers"));
  }

  TEST_CASE("cgroup tree: no memory.swap.max (no swap accounting) is no problem") {
    FakeCgroupfs cgroupfs;
    CgroupTree::SetUp s = set_up(cgroupfs, false);
    REQUIRE_MESSAGE(s.tree, s.reason);
    CHECK_FALSE(s.tree->prepare(6700, 64));
    CHECK(text(s.tree->slot_dir(6700) / "memory.max") == "67108864\n");
    CHECK_FALSE(fs::exists(s.tree->slot_dir(6700) / "memory.swap.max"));
  }

  TEST_CASE("cgroup tree: falls back to RLIMIT_AS, saying why") {
    SUBCASE("no cgroup v2 at the mount point") {
      FakeCgroupfs cgroupfs;
      fs::remove(cgroupfs.root / "cgroup.controllers");
      const CgroupTree::SetUp s = set_up(cgroupfs);
      CHECK_FALSE(s.tree);
      CHECK(s.reason == "no cgroup v2 at " + cgroupfs.root.string());
    }
    SUBCASE("no mount point configured") {
      const CgroupTree::SetUp s =
          CgroupTree::set_up(gale::supervisor::CgroupTreeOptions{"", "", 0});
      CHECK_FALSE(s.tree);
      CHECK(s.reason == "no cgroup mount point configured");
    }
    SUBCASE("no memory controller in the supervisor's cgroup") {
      FakeCgroupfs cgroupfs("cpu pids");
      const CgroupTree::SetUp s = set_up(cgroupfs);
      CHECK_FALSE(s.tree);
      CHECK(s.reason == "the memory controller is not available in " + cgroupfs.own_dir.string());
    }
    SUBCASE("the supervisor's cgroup is not writable") {
      FakeCgroupfs cgroupfs;
      auto files = std::make_unique<FakeCgroupFiles>(cgroupfs.root, true);
      files->deny(cgroupfs.own_dir);
      const CgroupTree::SetUp s = CgroupTree::set_up(cgroupfs.options(), std::move(files));
      CHECK_FALSE(s.tree);
      CHECK(s.reason.starts_with(cgroupfs.own_dir.string() + " is not writable by the supervisor"));
      CHECK(s.reason.find("Permission denied") != std::string::npos);
      CHECK_FALSE(fs::exists(cgroupfs.own_dir / "workers"));
    }
    SUBCASE("other processes share the supervisor's cgroup") {
      FakeCgroupfs cgroupfs("cpu memory pids", "4242\n4343\n");
      const CgroupTree::SetUp s = set_up(cgroupfs);
      CHECK_FALSE(s.tree);
      CHECK(s.reason ==
            "cannot enable memory in " + (cgroupfs.own_dir / "cgroup.subtree_control").string() +
                ": other processes than the supervisor are in " + cgroupfs.own_dir.string());
    }
  }

  TEST_CASE("cgroup tree: the supervisor's cgroup is the 0:: line of /proc/self/cgroup") {
    using gale::supervisor::cgroup_v2_path;
    CHECK(cgroup_v2_path("0::/system.slice/gale.service\n") == "/system.slice/gale.service");
    CHECK(cgroup_v2_path("12:memory:/x\n1:name=systemd:/y\n0::/\n") == "/");
    CHECK_FALSE(cgroup_v2_path("9:name=systemd:/\n8:pids:/\n"));
  }

  TEST_CASE("launcher: a worker with a cgroup is moved into it right after the spawn") {
    FakeCgroupfs cgroupfs;
    const fs::path cgroup = cgroupfs.own_dir / "worker-6700";
    fs::create_directories(cgroup);
    std::ofstream(cgroup / "cgroup.procs");
    gale::supervisor::PosixLauncher launcher;
    gale::supervisor::LaunchSpec spec;
    spec.program = "/bin/true";
    spec.output_path = (cgroupfs.root / "out").string();
    spec.memory_limit_mb = 300;
    spec.cgroup_dir = cgroup.string();
    const gale::supervisor::LaunchResult started = launcher.launch(spec);
    REQUIRE_MESSAGE(started.pid > 0, started.error);
    std::optional<gale::supervisor::ExitStatus> status;
    CHECK(
        gale::test::wait_until([&] { return (status = launcher.reap(started.pid)).has_value(); }));
    if (!status) launcher.signal(started.pid, SIGKILL);
    CHECK(text(cgroup / "cgroup.procs") == std::to_string(started.pid));

    // A cgroup that cannot take it: the process is not left running, and the error names it.
    spec.cgroup_dir = (cgroupfs.own_dir / "absent").string();
    const gale::supervisor::LaunchResult refused = launcher.launch(spec);
    CHECK(refused.pid <= 0);
    CHECK(refused.error.find("into the cgroup " + spec.cgroup_dir +
                             ": No such file or directory") != std::string::npos);
  }
}  // TEST_SUITE
