#include <gale/spouts/fixed_tuple_spout.hpp>

#include <utility>

#include <gale/context.hpp>

namespace gale::spouts {

FixedTupleSpout::FixedTupleSpout(Fields fields, std::vector<Values> tuples, std::string stream)
    : fields_(std::move(fields)), tuples_(std::move(tuples)), stream_(std::move(stream)) {}

FixedTupleSpout::~FixedTupleSpout() = default;

void FixedTupleSpout::declare_outputs(OutputDeclarer& declarer) {
  if (stream_ == default_stream) {
    declarer.declare(fields_);
  } else {
    declarer.declare_stream(stream_, fields_);
  }
}

void FixedTupleSpout::open(const Context& context, SpoutCollector& out) {
  out_ = &out;
  const auto tasks =
      static_cast<std::int64_t>(context.component_tasks(context.component_id()).size());
  for (auto i = static_cast<std::int64_t>(tuples_.size()) - 1; i >= 0; --i) {
    if (i % tasks == context.task_index()) to_emit_.push_back(i);
  }
}

void FixedTupleSpout::next_tuple() {
  if (to_emit_.empty()) return;
  std::int64_t i = to_emit_.back();
  to_emit_.pop_back();
  out_->emit_to(stream_, tuples_[static_cast<std::size_t>(i)], MessageId(i));
}

void FixedTupleSpout::ack(const MessageId&) {}

void FixedTupleSpout::fail(const MessageId& id) { to_emit_.push_back(id.as_int()); }

}  // namespace gale::spouts
