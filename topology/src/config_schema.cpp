#include <gale/config_schema.hpp>

#include <algorithm>
#include <sstream>
#include <utility>

#include <gale/errors.hpp>

#include "closest_match.hpp"

namespace gale {
namespace {

std::string quoted(const Value& v) {
  return v.is_string() ? "'" + v.as_string() + "'" : v.to_string();
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

// "a, b ,c" -> {"a", "b", "c"}; empty items are dropped.
std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, ',')) {
    const auto first = item.find_first_not_of(" \t");
    if (first == std::string::npos) continue;
    const auto last = item.find_last_not_of(" \t");
    out.push_back(item.substr(first, last - first + 1));
  }
  return out;
}

}  // namespace

ConfigSchema::ConfigSchema(std::string owner) : owner_(std::move(owner)) {}

ConfigSchema& ConfigSchema::add(Key key) {
  const bool duplicate = std::any_of(keys_.begin(), keys_.end(),
                                     [&](const Key& k) { return k.name == key.name; });
  if (duplicate) throw ConfigError(owner_ + ": config key '" + key.name + "' is declared twice");
  keys_.push_back(std::move(key));
  return *this;
}

ConfigSchema& ConfigSchema::required_string(std::string key, std::string doc) {
  Key k;
  k.name = std::move(key);
  k.kind = Kind::string;
  k.required = true;
  k.doc = std::move(doc);
  return add(std::move(k));
}

ConfigSchema& ConfigSchema::required_string_list(std::string key, std::string doc) {
  Key k;
  k.name = std::move(key);
  k.kind = Kind::string_list;
  k.required = true;
  k.doc = std::move(doc);
  return add(std::move(k));
}

ConfigSchema& ConfigSchema::string(std::string key, std::string fallback, std::string doc) {
  Key k;
  k.name = std::move(key);
  k.kind = Kind::string;
  k.fallback = std::move(fallback);
  k.doc = std::move(doc);
  return add(std::move(k));
}

ConfigSchema& ConfigSchema::string_list(std::string key, std::vector<std::string> fallback,
                                        std::string doc) {
  Key k;
  k.name = std::move(key);
  k.kind = Kind::string_list;
  k.fallback = List(fallback.begin(), fallback.end());
  k.doc = std::move(doc);
  return add(std::move(k));
}

ConfigSchema& ConfigSchema::integer(std::string key, std::int64_t fallback, std::int64_t min,
                                    std::int64_t max, std::string doc) {
  Key k;
  k.name = std::move(key);
  k.kind = Kind::integer;
  k.fallback = fallback;
  k.min = min;
  k.max = max;
  k.doc = std::move(doc);
  return add(std::move(k));
}

ConfigSchema& ConfigSchema::floating(std::string key, double fallback, double min, double max,
                                     std::string doc) {
  Key k;
  k.name = std::move(key);
  k.kind = Kind::floating;
  k.fallback = fallback;
  k.min_double = min;
  k.max_double = max;
  k.doc = std::move(doc);
  return add(std::move(k));
}

ConfigSchema& ConfigSchema::boolean(std::string key, bool fallback, std::string doc) {
  Key k;
  k.name = std::move(key);
  k.kind = Kind::boolean;
  k.fallback = fallback;
  k.doc = std::move(doc);
  return add(std::move(k));
}

ConfigSchema& ConfigSchema::choice(std::string key, std::string fallback,
                                   std::vector<std::string> choices, std::string doc) {
  if (std::find(choices.begin(), choices.end(), fallback) == choices.end()) {
    throw ConfigError(owner_ + ": the default of config key '" + key + "' is not one of " +
                      join(choices, ", "));
  }
  Key k;
  k.name = std::move(key);
  k.kind = Kind::choice;
  k.fallback = std::move(fallback);
  k.choices = std::move(choices);
  k.doc = std::move(doc);
  return add(std::move(k));
}

ConfigSchema& ConfigSchema::passthrough(std::string prefix, std::string doc) {
  prefixes_.emplace_back(std::move(prefix), std::move(doc));
  return *this;
}

Config ConfigSchema::resolve(const Config& given) const {
  Config out;
  const auto fail = [&](const Key& key, const std::string& expected, const Value& got) {
    throw ConfigError(owner_ + ": config key '" + key.name + "' must be " + expected + ", got " +
                      quoted(got));
  };
  for (const Key& key : keys_) {
    const Value* v = given.find(key.name);
    if (v == nullptr || v->is_null()) {
      if (key.required) {
        throw ConfigError(owner_ + ": config key '" + key.name + "' is required (" + key.doc + ")");
      }
      out.set(key.name, key.fallback);
      continue;
    }
    switch (key.kind) {
      case Kind::string:
        if (!v->is_string()) fail(key, "a string", *v);
        if (key.required && v->as_string().empty()) fail(key, "a non-empty string", *v);
        out.set(key.name, *v);
        break;
      case Kind::choice:
        if (!v->is_string() ||
            std::find(key.choices.begin(), key.choices.end(), v->as_string()) ==
                key.choices.end()) {
          fail(key, "one of " + join(key.choices, ", "), *v);
        }
        out.set(key.name, *v);
        break;
      case Kind::string_list: {
        List list;
        if (v->is_string()) {
          for (std::string& item : split_commas(v->as_string())) list.emplace_back(std::move(item));
        } else if (v->is_list()) {
          for (const Value& item : v->as_list()) {
            if (!item.is_string()) fail(key, "a list of strings", *v);
            list.push_back(item);
          }
        } else {
          fail(key, "a list of strings or a comma-separated string", *v);
        }
        if (key.required && list.empty()) fail(key, "a non-empty list", *v);
        out.set(key.name, std::move(list));
        break;
      }
      case Kind::integer:
        if (!v->is_int() || v->as_int() < key.min || v->as_int() > key.max) {
          fail(key, "an integer in [" + std::to_string(key.min) + ", " + std::to_string(key.max) +
                        "]", *v);
        }
        out.set(key.name, *v);
        break;
      case Kind::floating: {
        if (!v->is_int() && !v->is_double()) fail(key, "a number", *v);
        const double d = v->is_int() ? static_cast<double>(v->as_int()) : v->as_double();
        if (d < key.min_double || d > key.max_double) {
          fail(key, "a number in [" + Value(key.min_double).to_string() + ", " +
                        Value(key.max_double).to_string() + "]", *v);
        }
        out.set(key.name, d);
        break;
      }
      case Kind::boolean:
        if (!v->is_bool()) fail(key, "true or false", *v);
        out.set(key.name, *v);
        break;
    }
  }
  std::vector<std::string_view> names;
  for (const Key& key : keys_) names.push_back(key.name);
  std::sort(names.begin(), names.end());
  for (const auto& entry : given.entries()) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
    const std::string& name = entry.first;
    const Value& value = entry.second;
    if (keys::in_gale_namespace(name)) continue;
    if (std::any_of(keys_.begin(), keys_.end(), [&](const Key& k) { return k.name == name; })) {
      continue;
    }
    if (std::any_of(prefixes_.begin(), prefixes_.end(),
                    [&](const auto& p) { return name.starts_with(p.first); })) {
      out.set(name, value);
      continue;
    }
    std::string message = owner_ + ": unknown config key '" + name + "'";
    if (const std::string close = detail::closest_match(name, names); !close.empty()) {
      message += " (did you mean '" + close + "'?)";
    }
    throw ConfigError(message);
  }
  return out;
}

std::string ConfigSchema::markdown_table() const {
  std::string out = "| key | default | meaning |\n|---|---|---|\n";
  for (const Key& key : keys_) {
    std::string fallback = "required";
    if (!key.required) {
      if (key.fallback.is_list()) {
        std::vector<std::string> items;
        for (const Value& item : key.fallback.as_list()) items.push_back(item.as_string());
        fallback = items.empty() ? "(none)" : "`" + join(items, ",") + "`";
      } else if (key.fallback.is_string() && key.fallback.as_string().empty()) {
        fallback = "(empty)";
      } else {
        fallback = "`" + (key.fallback.is_string() ? key.fallback.as_string()
                                                   : key.fallback.to_string()) + "`";
      }
    }
    std::string doc = key.doc;
    if (key.kind == Kind::choice) doc += " (" + join(key.choices, ", ") + ")";
    out += "| `" + key.name + "` | " + fallback + " | " + doc + " |\n";
  }
  for (const auto& [prefix, doc] : prefixes_) {
    out += "| `" + prefix + "*` | | " + doc + " |\n";
  }
  return out;
}

std::vector<std::string> string_list(const Config& config, std::string_view key) {
  std::vector<std::string> out;
  const Value* v = config.find(key);
  if (v == nullptr || v->is_null()) return out;
  if (v->is_string()) return split_commas(v->as_string());
  for (const Value& item : v->as_list()) out.push_back(item.as_string());
  return out;
}

}  // namespace gale
