// Out-of-line virtual destructors and default callbacks of the component interfaces. Defining them
// here anchors each class's vtable and typeinfo in libgale, so that a plugin and the runtime agree
// on one copy (dynamic_cast and exception matching across the dlopen boundary depend on it).

#include <exception>
#include <gale/bolt.hpp>
#include <gale/collector.hpp>
#include <gale/errors.hpp>
#include <gale/spout.hpp>
#include <memory>
#include <utility>

namespace gale {

// ---- Spout: reliability and lifecycle callbacks default to doing nothing, as in Storm's
// BaseRichSpout, so an unreliable source only implements declare_outputs, open and next_tuple.

Spout::~Spout() = default;
void Spout::ack(const MessageId&) {}
void Spout::fail(const MessageId&) {}
void Spout::activate() {}
void Spout::deactivate() {}
void Spout::close() {}
Config Spout::component_config() const { return {}; }

// ---- Bolt

Bolt::~Bolt() = default;
void Bolt::prepare(const Context&, BoltCollector&) {}
void Bolt::cleanup() {}
Config Bolt::component_config() const { return {}; }

// ---- BasicBolt

BasicBolt::~BasicBolt() = default;
void BasicBolt::prepare(const Context&) {}
void BasicBolt::cleanup() {}
Config BasicBolt::component_config() const { return {}; }

// ---- Collectors

SpoutCollector::~SpoutCollector() = default;
BoltCollector::~BoltCollector() = default;

// ---- BasicBoltAdapter

BasicBoltAdapter::BasicBoltAdapter(std::unique_ptr<BasicBolt> bolt) : bolt_(std::move(bolt)) {
  // Every other method dereferences bolt_; failing here turns a broken factory into a build-time
  // TopologyError (the builder wraps factory exceptions) instead of a crash on the first tuple.
  if (!bolt_) throw TopologyError("BasicBoltAdapter needs a bolt, got null");
}

BasicBoltAdapter::~BasicBoltAdapter() = default;

void BasicBoltAdapter::declare_outputs(OutputDeclarer& declarer) {
  bolt_->declare_outputs(declarer);
}

void BasicBoltAdapter::prepare(const Context& context, BoltCollector&) {
  // The collector is not kept: execute() receives the same one for every tuple.
  bolt_->prepare(context);
}

void BasicBoltAdapter::execute(const Tuple& input, BoltCollector& out) {
  try {
    BasicCollector collector(out, input);
    bolt_->execute(input, collector);
  } catch (const FailedException&) {
    // A deliberate failure: fail the tree so the spout replays it, but it is not an error.
    out.fail(input);
    return;
  } catch (...) {
    // Any other exception fails the tree too; the runtime counts and logs it as an error.
    out.fail(input);
    throw;
  }
  // Outside the try block: should ack() itself throw, the input must not be failed after the fact.
  out.ack(input);
}

void BasicBoltAdapter::cleanup() { bolt_->cleanup(); }

Config BasicBoltAdapter::component_config() const { return bolt_->component_config(); }

}  // namespace gale
