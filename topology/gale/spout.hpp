#pragma once

#include <gale/collector.hpp>
#include <gale/config.hpp>
#include <gale/context.hpp>
#include <gale/export.hpp>
#include <gale/output_declarer.hpp>
#include <gale/value.hpp>

namespace gale {

// A source of tuples. One instance per task, created by the component's factory.
//
// Threading: every callback of one task runs on that task's executor thread, never concurrently,
// so a spout needs no locks for its own state. next_tuple() must not block: emit what is ready
// (a few tuples at most) and return; when nothing is ready, return without emitting and the runtime
// backs off for topology.sleep.spout.wait.strategy.time.ms.
//
// Errors: an exception from any callback is caught, counted and logged; the task keeps running,
// except after open() threw (or the factory returned null): that task is never called again.
// Ownership: the runtime owns the instance and destroys it on the task thread after close().
class GALE_API Spout {
 public:
  virtual ~Spout();

  // Declares the output streams. Called once when the topology is built, on a throwaway instance.
  virtual void declare_outputs(OutputDeclarer& declarer) = 0;
  // Called once before anything else on the task thread. `out` stays valid until close() returns.
  virtual void open(const Context& context, SpoutCollector& out) = 0;
  // Emits zero or more tuples. Never called while the topology is deactivated or while the task
  // has topology.max.spout.pending tuples pending.
  virtual void next_tuple() = 0;
  // The tree of the tuple emitted with `id` was fully processed.
  virtual void ack(const MessageId& id);
  // The tree of the tuple emitted with `id` failed or timed out; a reliable spout re-emits it.
  virtual void fail(const MessageId& id);
  // The topology was activated (also after open() when it starts active).
  virtual void activate();
  // The topology was deactivated: next_tuple() will not be called until activate().
  virtual void deactivate();
  // Called once when the topology stops, after the last callback. Not guaranteed on a crash.
  virtual void close();
  // Component-specific configuration merged over the topology's (e.g. tick frequency).
  virtual Config component_config() const;
};

}  // namespace gale
