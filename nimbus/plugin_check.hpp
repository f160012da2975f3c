#pragma once

// Validates a submitted plugin in a child process, so that a plugin that crashes, hangs or
// corrupts memory while it loads cannot take nimbus down.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <gale/value.hpp>

namespace gale::nimbus {

struct PluginCheck {
  bool ok = false;
  std::string error;  // when !ok: one line for the user
  // When ok:
  std::vector<std::vector<std::int32_t>> executors;  // Plan::executors() task lists
  std::vector<std::string> task_components;          // component of task t at [t - 1]
  Map config;                                        // merged and validated
  // One line per unknown key in Gale's namespaces that the plugin's build function sets
  // (keys::unknown_key_warning); the submit overrides are the client's to warn about.
  std::vector<std::string> warnings;
};

// Forks a child that loads the plugin at `path` (plugin::load_plugin, whose build function reads
// `overrides`), merges its config with `overrides` (overrides win) and sets topology.name to
// `name`, validates the config, computes the plan's executors, reports them over a pipe and
// exits. The parent waits up to `timeout` for the answer and the child's end, and kills and reaps
// a child that takes longer. The child dies with the calling thread (PR_SET_PDEATHSIG), so a
// SIGKILLed nimbus leaves no check behind. Failures are values: a loader error (with `path`
// replaced by a mention of the topology), "plugin crashed while loading (signal N)", or "plugin
// check of topology 'x' did not finish within N s".
// Throws gale::Error only when the pipe or the child cannot be created.
// REQUIRES: the caller's other threads hold no lock the child needs (fork copies only this one).
PluginCheck check_plugin(const std::string& path, const std::string& name, const Map& overrides,
                         std::chrono::milliseconds timeout);

}  // namespace gale::nimbus
