#pragma once

namespace gale {

// The stream a component emits to when it names none, as in Storm.
inline constexpr const char* default_stream = "default";
// Tick tuples come from this component on this stream (see Tuple::is_tick()).
inline constexpr const char* system_component = "__system";
inline constexpr const char* tick_stream = "__tick";
// Event time: the stream on which a component that feeds an event-time windowed bolt sends that
// bolt's tasks the highest timestamp it has emitted (one field, "watermark"), added by the
// builder (see <gale/window.hpp>).
inline constexpr const char* watermark_stream = "__watermark";
// The component name of the acker tasks.
inline constexpr const char* acker_component = "__acker";

}  // namespace gale
