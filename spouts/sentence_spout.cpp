#include <gale/spouts/sentence_spout.hpp>

#include <utility>

#include <gale/config.hpp>
#include <gale/context.hpp>
#include <gale/errors.hpp>

namespace gale::spouts {

namespace {

// New sentences per next_tuple() call: cheap to return, and the runtime checks max pending between
// calls.
constexpr int k_emits_per_call = 8;

}  // namespace

SentenceSpout::SentenceSpout(SentenceSpoutOptions options) : options_(std::move(options)) {
  if (options_.sentences.empty()) throw ConfigError("SentenceSpout: no sentences to emit");
  if (options_.limit < 0) {
    throw ConfigError("SentenceSpout: limit " + std::to_string(options_.limit) +
                      " is negative (0 means endless)");
  }
}

SentenceSpout::~SentenceSpout() = default;

void SentenceSpout::declare_outputs(OutputDeclarer& declarer) { declarer.declare({"sentence"}); }

void SentenceSpout::open(const Context& context, SpoutCollector& out) {
  out_ = &out;
  limit_ = limit(context);
  const Value* max_pending = context.config().find(keys::topology_max_spout_pending);
  max_pending_ = max_pending != nullptr && max_pending->is_int() ? max_pending->as_int() : 0;
  stride_ = static_cast<std::int64_t>(context.component_tasks(context.component_id()).size());
  next_ = context.task_index();
}

void SentenceSpout::next_tuple() {
  // Replays first, so that a failed sentence is not starved by new ones.
  for (int i = 0; i < k_emits_per_call && below_max_pending(); ++i) {
    if (!replay_.empty()) {
      emit(replay_.front());
      replay_.pop_front();
    } else if (limit_ == 0 || next_ < limit_) {
      emit(next_);
      next_ += stride_;
    } else {
      return;  // a finite spout that emitted everything
    }
  }
}

void SentenceSpout::fail(const MessageId& id) { replay_.push_back(id.as_int()); }

std::int64_t SentenceSpout::limit(const Context&) const { return options_.limit; }

// The runtime checks topology.max.spout.pending before each next_tuple() call; checking it per emit
// too keeps a call that emits several tuples from overshooting it.
bool SentenceSpout::below_max_pending() const {
  return max_pending_ <= 0 || out_->pending_count() < static_cast<std::size_t>(max_pending_);
}

void SentenceSpout::emit(std::int64_t number) {
  const auto count = static_cast<std::int64_t>(options_.sentences.size());
  out_->emit({options_.sentences[static_cast<std::size_t>(number % count)]}, MessageId(number));
}

}  // namespace gale::spouts
