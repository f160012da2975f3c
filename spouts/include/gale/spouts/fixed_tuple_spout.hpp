#pragma once

// A finite, reliable spout over a fixed list of tuples: the source of most tests (Storm's
// FixedTupleSpout), e.g. with gale::testing::complete_topology. Part of libgale_components
// (pkg-config module gale-components).

#include <cstdint>
#include <string>
#include <vector>

#include <gale/fields.hpp>
#include <gale/spout.hpp>
#include <gale/streams.hpp>
#include <gale/value.hpp>

namespace gale::spouts {

// Emits each of `tuples` once on `stream` with message id = its index, and emits a tuple again
// when it fails (or times out). With several tasks, tuple i is emitted by the task whose index is
// i % tasks. One tuple per next_tuple() call, none once every tuple was emitted; it never blocks.
// Thread: all callbacks of one task run on that task's executor thread.
class FixedTupleSpout : public Spout {
 public:
  // `fields` names the fields of every tuple in `tuples`.
  FixedTupleSpout(Fields fields, std::vector<Values> tuples, std::string stream = default_stream);
  ~FixedTupleSpout() override;

  void declare_outputs(OutputDeclarer& declarer) override;
  void open(const Context& context, SpoutCollector& out) override;
  void next_tuple() override;
  void ack(const MessageId& id) override;
  void fail(const MessageId& id) override;

 private:
  // Constant after construction.
  Fields fields_;
  std::vector<Values> tuples_;
  std::string stream_;
  // Task state.
  SpoutCollector* out_ = nullptr;
  std::vector<std::int64_t> to_emit_;  // indices not yet emitted or failed, next at the back
};

}  // namespace gale::spouts
