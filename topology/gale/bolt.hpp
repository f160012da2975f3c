#pragma once

#include <gale/collector.hpp>
#include <gale/config.hpp>
#include <gale/context.hpp>
#include <gale/export.hpp>
#include <gale/output_declarer.hpp>
#include <gale/tuple.hpp>

namespace gale {

// A processing step with explicit anchoring and acking (Storm's rich bolt). One instance per task.
//
// Threading: every callback of one task runs on that task's executor thread, never concurrently.
// Reliability: emit anchored to the input (out.emit(input, {...})) and then ack(input) or
// fail(input) exactly once; a tuple neither acked nor failed times out and is replayed.
// Errors: an exception thrown by execute() fails the input tuple, is counted and logged, and the
// task goes on with the next tuple. If prepare() throws (or the factory returns null), the error is
// logged and the task fails every input it gets. An exception from cleanup() is logged.
// Ownership: the runtime owns the instance and destroys it on the task thread after cleanup().
class GALE_API Bolt {
 public:
  virtual ~Bolt();

  // Declares the output streams. Called once when the topology is built, on a throwaway instance.
  virtual void declare_outputs(OutputDeclarer& declarer) = 0;
  // Called once before the first execute(). `out` stays valid until cleanup() returns.
  virtual void prepare(const Context& context, BoltCollector& out);
  // Processes one input tuple (or a tick tuple: input.is_tick()). `out` is the same collector
  // prepare() received.
  virtual void execute(const Tuple& input, BoltCollector& out) = 0;
  // Called once when the topology stops, after the last execute(). Not guaranteed on a crash.
  virtual void cleanup();
  // Component-specific configuration merged over the topology's (e.g. tick frequency).
  virtual Config component_config() const;
};

// A bolt whose emits are anchored to the input automatically, and whose input is acked when
// execute() returns or failed when it throws (Storm's IBasicBolt). Same threading, error and
// ownership rules as Bolt.
class GALE_API BasicBolt {
 public:
  virtual ~BasicBolt();

  virtual void declare_outputs(OutputDeclarer& declarer) = 0;
  virtual void prepare(const Context& context);
  // Throw (gale::FailedException to fail without logging an error) to fail the input.
  virtual void execute(const Tuple& input, BasicCollector& out) = 0;
  virtual void cleanup();
  virtual Config component_config() const;
};

// Runs a BasicBolt as a Bolt: anchors, acks on return, fails on exception and rethrows other
// exceptions than FailedException so the runtime counts and logs them.
class GALE_API BasicBoltAdapter final : public Bolt {
 public:
  explicit BasicBoltAdapter(std::unique_ptr<BasicBolt> bolt);
  ~BasicBoltAdapter() override;
  void declare_outputs(OutputDeclarer& declarer) override;
  void prepare(const Context& context, BoltCollector& out) override;
  void execute(const Tuple& input, BoltCollector& out) override;
  void cleanup() override;
  Config component_config() const override;

 private:
  std::unique_ptr<BasicBolt> bolt_;
};

}  // namespace gale
