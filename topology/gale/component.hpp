#pragma once

#include <functional>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

#include <gale/bolt.hpp>
#include <gale/spout.hpp>

namespace gale {

class WindowedBolt;
// Runs a WindowedBolt as a Bolt (<gale/window.hpp>).
[[nodiscard]] GALE_API std::unique_ptr<Bolt> windowed_bolt_adapter(
    std::unique_ptr<WindowedBolt> bolt);

// Factories create one component instance per task (and one at build time to read its declared
// outputs). They may be called on any thread, so they must not share mutable state unguarded.
using SpoutFactory = std::function<std::unique_ptr<Spout>()>;
using BoltFactory = std::function<std::unique_ptr<Bolt>()>;

// make<T>(args...) returns a factory that constructs T(args...) for every task; the arguments are
// copied into the factory. T derives from Spout, Bolt, WindowedBolt (wrapped in
// windowed_bolt_adapter) or BasicBolt (wrapped in BasicBoltAdapter).
template <class T, class... Args>
[[nodiscard]] auto make(Args&&... args) {
  auto make_one = [tuple = std::make_tuple(std::forward<Args>(args)...)]() {
    return std::apply([](const auto&... a) { return std::make_unique<T>(a...); }, tuple);
  };
  if constexpr (std::is_base_of_v<Spout, T>) {
    return SpoutFactory([make_one]() -> std::unique_ptr<Spout> { return make_one(); });
  } else if constexpr (std::is_base_of_v<Bolt, T>) {
    return BoltFactory([make_one]() -> std::unique_ptr<Bolt> { return make_one(); });
  } else if constexpr (std::is_base_of_v<WindowedBolt, T>) {
    return BoltFactory(
        [make_one]() -> std::unique_ptr<Bolt> { return windowed_bolt_adapter(make_one()); });
  } else {
    static_assert(std::is_base_of_v<BasicBolt, T>, "make<T>: T must derive from Spout, Bolt, WindowedBolt or BasicBolt");
    return BoltFactory(
        [make_one]() -> std::unique_ptr<Bolt> { return std::make_unique<BasicBoltAdapter>(make_one()); });
  }
}

}  // namespace gale
