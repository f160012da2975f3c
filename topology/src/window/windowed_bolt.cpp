// WindowedBolt, TupleWindow and the adapter that runs a WindowedBolt as a Bolt.

#include <algorithm>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <utility>

#include <gale/errors.hpp>
#include <gale/window.hpp>

#include "topology/src/window/session_windows.hpp"
#include "topology/src/window/window_manager.hpp"
#include "topology/src/window/window_spec.hpp"

namespace gale {

TupleWindow::TupleWindow(std::vector<Tuple> tuples, std::vector<Tuple> new_tuples,
                         std::vector<Tuple> expired, std::int64_t start_ms, std::int64_t end_ms)
    : tuples_(std::move(tuples)),
      new_(std::move(new_tuples)),
      expired_(std::move(expired)),
      start_(start_ms),
      end_(end_ms) {}

WindowedBolt::~WindowedBolt() = default;
void WindowedBolt::prepare(const Context&, BoltCollector&) {}
void WindowedBolt::cleanup() {}
Config WindowedBolt::component_config() const { return {}; }

WindowedBolt& WindowedBolt::set_window(Value length_count, Value length_ms, Value slide_count,
                                       Value slide_ms) {
  window_config_ = Config();
  auto put = [&](const char* key, Value& v) {
    if (!v.is_null()) window_config_.set(key, std::move(v));
  };
  put(keys::window_length_count, length_count);
  put(keys::window_length_duration_ms, length_ms);
  put(keys::window_sliding_interval_count, slide_count);
  put(keys::window_sliding_interval_duration_ms, slide_ms);
  return *this;
}

WindowedBolt& WindowedBolt::with_window(Count length, Count sliding_interval) {
  return set_window(length.value, Value(), sliding_interval.value, Value());
}
WindowedBolt& WindowedBolt::with_window(Count length, Duration sliding_interval) {
  return set_window(length.value, Value(), Value(), sliding_interval.count());
}
WindowedBolt& WindowedBolt::with_window(Duration length, Count sliding_interval) {
  return set_window(Value(), length.count(), sliding_interval.value, Value());
}
WindowedBolt& WindowedBolt::with_window(Duration length, Duration sliding_interval) {
  return set_window(Value(), length.count(), Value(), sliding_interval.count());
}
WindowedBolt& WindowedBolt::with_window(Count length) { return with_window(length, Count(1)); }
WindowedBolt& WindowedBolt::with_window(Duration length) { return with_window(length, Count(1)); }
WindowedBolt& WindowedBolt::with_tumbling_window(Count length) {
  return with_window(length, length);
}
WindowedBolt& WindowedBolt::with_tumbling_window(Duration length) {
  return with_window(length, length);
}
WindowedBolt& WindowedBolt::with_session_window(Fields key, Duration gap) {
  window_config_ = Config();
  List names;
  for (const std::string& name : key) names.emplace_back(name);
  window_config_.set(keys::window_session_key_fields, Value(std::move(names)));
  window_config_.set(keys::window_session_gap_ms, gap.count());
  return *this;
}

namespace {

// The collector execute() is given: anchors every emit without anchors of its own to the window's
// tuples; acks are the window's business.
// Thread: the bolt task's.
class WindowCollector final : public BoltCollector {
 public:
  explicit WindowCollector(BoltCollector& out) noexcept : out_(out) {}

  void set_window(const std::vector<Tuple>* tuples) noexcept { window_ = tuples; }
  void ack(const Tuple&) override {}  // acked when it leaves its last window
  void fail(const Tuple& input) override { out_.fail(input); }
  void report_error(std::string_view message) override { out_.report_error(message); }

 protected:
  void do_emit(std::string_view stream, std::span<const Tuple> anchors, Values&& values,
               std::int32_t direct_task) override {
    if (anchors.empty() && window_ != nullptr) anchors = *window_;
    const std::string_view to = stream.empty() ? std::string_view(default_stream) : stream;
    if (direct_task >= 0) {
      out_.emit_direct(direct_task, to, anchors, std::move(values));
    } else {
      out_.emit_to(to, anchors, std::move(values));
    }
  }

 private:
  BoltCollector& out_;
  const std::vector<Tuple>* window_ = nullptr;
};

// Hashes a session key: the values of the key fields.
struct KeyHash {
  std::size_t operator()(const Values& key) const noexcept {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (const Value& v : key) h = (h ^ v.hash()) * 0x100000001b3ULL;
    return static_cast<std::size_t>(h);
  }
};

// Runs a WindowedBolt: keeps the tuples of its windows (a WindowManager), closes windows as
// tuples and ticks arrive, calls execute() for each, and acks what left.
// Thread: the bolt task's.
class WindowedBoltAdapter final : public Bolt {
 public:
  explicit WindowedBoltAdapter(std::unique_ptr<WindowedBolt> bolt) : bolt_(std::move(bolt)) {}

  void declare_outputs(OutputDeclarer& declarer) override { bolt_->declare_outputs(declarer); }

  // The bolt's config with the window's keys, and ticks at the sliding interval when that is a
  // duration (the ticks close the windows).
  Config component_config() const override {
    Config c = bolt_->component_config();
    c.merge(bolt_->window_config());
    const std::optional<detail::WindowSpec> spec = detail::WindowSpec::from(c);
    if (!spec) {
      throw ConfigError(
          "a WindowedBolt needs a window: call with_window or with_tumbling_window in its "
          "constructor");
    }
    if (spec->slide_ms) {
      c.set(keys::topology_tick_tuple_freq_secs, static_cast<double>(*spec->slide_ms) / 1000.0);
    } else if (spec->sessions()) {
      // A session closes at most a quarter of its gap late.
      const double every_ms = std::max(1.0, static_cast<double>(*spec->session_gap_ms) / 4.0);
      c.set(keys::topology_tick_tuple_freq_secs, every_ms / 1000.0);
    }
    return c;
  }

  void prepare(const Context& context, BoltCollector& out) override {
    context_ = &context;
    std::optional<detail::WindowSpec> spec = detail::WindowSpec::from(context.config());
    if (!spec) throw ConfigError("the task's config has no window");
    if (spec->sessions()) {
      session_key_ = spec->session_key;
      sessions_.emplace(*spec->session_gap_ms);
    } else {
      manager_.emplace(std::move(*spec));
    }
    collector_.emplace(out);
    bolt_->prepare(context, *collector_);
  }

  void execute(const Tuple& input, BoltCollector& out) override {
    closed_.clear();
    const std::int64_t now = context_->now_ms();
    if (sessions_) {
      if (input.is_tick()) {
        sessions_->advance(now, closed_);
      } else {
        Values key;
        key.reserve(session_key_.size());
        for (const std::string& field : session_key_) key.push_back(input.get(field));
        sessions_->add(std::move(key), input, now, closed_);
      }
    } else if (input.is_tick()) {
      manager_->advance(now, closed_);
    } else {
      manager_->add(input, now, closed_);
    }
    run(out);
  }

  void cleanup() override { bolt_->cleanup(); }

 private:
  // Calls execute() for each closed window, then acks what left. An exception from the user's
  // execute() is reported (counted and logged like any error of the task) and keeps neither the
  // other windows from running nor the tuples from being acked; the tuple whose arrival closed the
  // window is not failed for it (it is in later windows).
  void run(BoltCollector& out) {
    for (auto& w : closed_) {
      TupleWindow window(std::move(w.tuples), std::move(w.fresh), std::move(w.expired), w.start,
                         w.end);
      collector_->set_window(&window.get());
      try {
        bolt_->execute(window, *collector_);
      } catch (const std::exception& e) {
        out.report_error(describe(window) + ": execute() threw: " + e.what());
      } catch (...) {
        out.report_error(describe(window) + ": execute() threw a non-standard exception");
      }
      collector_->set_window(nullptr);
      for (const Tuple& t : window.get_expired()) out.ack(t);
    }
    closed_.clear();
  }

  static std::string describe(const TupleWindow& w) {
    return "window [" + std::to_string(w.start()) + ", " + std::to_string(w.end()) + ") of " +
           std::to_string(w.get().size()) + " tuples";
  }

  std::unique_ptr<WindowedBolt> bolt_;
  const Context* context_ = nullptr;
  std::optional<detail::WindowManager<Tuple>> manager_;  // sliding or tumbling windows
  std::optional<detail::SessionWindows<Tuple, Values, KeyHash>> sessions_;
  std::vector<std::string> session_key_;
  std::optional<WindowCollector> collector_;
  std::vector<detail::WindowManager<Tuple>::Window> closed_;
};

}  // namespace

std::unique_ptr<Bolt> windowed_bolt_adapter(std::unique_ptr<WindowedBolt> bolt) {
  if (!bolt) throw TopologyError("windowed_bolt_adapter: null bolt");
  return std::make_unique<WindowedBoltAdapter>(std::move(bolt));
}

}  // namespace gale
