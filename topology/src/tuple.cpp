#include <utility>

#include <gale/errors.hpp>
#include <gale/streams.hpp>
#include <gale/tuple.hpp>

#include "topology/src/tuple_data.hpp"

namespace gale {

namespace detail {

const StreamMeta& tick_stream_meta() {
  static const StreamMeta meta{system_component, tick_stream, Fields{}, -1, -1};
  return meta;
}

}  // namespace detail

namespace {

const Values& no_values() {
  static const Values empty{};
  return empty;
}

const Fields& no_fields() {
  static const Fields empty;
  return empty;
}

const std::string& no_name() {
  static const std::string empty;
  return empty;
}

}  // namespace

Tuple::Tuple() noexcept = default;

Tuple::~Tuple() {
  if (data_ != nullptr) detail::release_tuple_data(data_);
}

Tuple::Tuple(const Tuple& other) noexcept : data_(other.data_) {
  if (data_ != nullptr) data_->refs.fetch_add(1, std::memory_order_relaxed);
}

Tuple::Tuple(Tuple&& other) noexcept : data_(std::exchange(other.data_, nullptr)) {}

Tuple& Tuple::operator=(const Tuple& other) noexcept {
  Tuple copy(other);
  std::swap(data_, copy.data_);
  return *this;
}

Tuple& Tuple::operator=(Tuple&& other) noexcept {
  if (this != &other) {
    Tuple dropped(std::move(*this));
    data_ = std::exchange(other.data_, nullptr);
  }
  return *this;
}

Tuple::Tuple(detail::TupleData* data) noexcept : data_(data) {}

std::size_t Tuple::size() const noexcept { return data_ ? data_->values.size() : 0; }

const Values& Tuple::values() const noexcept { return data_ ? data_->values : no_values(); }

const Fields& Tuple::fields() const noexcept {
  return data_ && data_->meta ? data_->meta->fields : no_fields();
}

const Value& Tuple::get(std::size_t index) const {
  if (!data_) throw FieldError("get(" + std::to_string(index) + ") on an empty tuple");
  if (index >= data_->values.size()) {
    throw FieldError("tuple index " + std::to_string(index) + " out of range: tuple from " +
                     source_component() + ":" + source_stream() + " has " +
                     std::to_string(data_->values.size()) + " values");
  }
  return data_->values[index];
}

const Value& Tuple::get(std::string_view field) const {
  if (!data_) throw FieldError("get(\"" + std::string(field) + "\") on an empty tuple");
  std::size_t index = fields().index(field);  // throws FieldError naming the declared fields
  if (index >= data_->values.size()) {
    throw FieldError("tuple from " + source_component() + ":" + source_stream() + " declares field '" +
                     std::string(field) + "' but carries only " +
                     std::to_string(data_->values.size()) + " values");
  }
  return data_->values[index];
}

void Tuple::type_mismatch(const Value& value, Value::Type expected) const {
  // `value` is one of data_->values (the getters pass what get() returned): its index is its
  // offset. Out of line and cold: only a mismatch builds the message.
  const auto index = static_cast<std::size_t>(&value - data_->values.data());
  const Fields& names = fields();
  std::string where = index < names.size()
                          ? "field '" + names[index] + "' (index " + std::to_string(index) + ")"
                          : "index " + std::to_string(index);
  throw TypeError(where + " of tuple from " + source_component() + ":" + source_stream() +
                  ": expected " + type_name(expected) + ", got " + type_name(value.type()));
}

const std::string& Tuple::source_component() const noexcept {
  return data_ && data_->meta ? data_->meta->component : no_name();
}

const std::string& Tuple::source_stream() const noexcept {
  return data_ && data_->meta ? data_->meta->stream : no_name();
}

std::int32_t Tuple::source_task() const noexcept { return data_ ? data_->source_task : 0; }

bool Tuple::is_tick() const noexcept {
  return data_ && data_->meta == &detail::tick_stream_meta();
}

std::string Tuple::to_string() const {
  if (!data_) return "<empty tuple>";
  std::string out = source_component() + ":" + source_stream() + ":" +
                    std::to_string(data_->source_task) + " [";
  for (std::size_t i = 0; i < data_->values.size(); ++i) {
    if (i > 0) out += ", ";
    out += data_->values[i].to_string();
  }
  return out + "]";
}

}  // namespace gale
