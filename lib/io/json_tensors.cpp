#include "io/json_tensors.h"

#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "io/json_util.h"

namespace mithril {
namespace {

enum class Kind { none, boolean, integer, floating };

struct Collector {
  const std::string& source;
  Shape shape;
  bool shape_known = false;
  Kind kind = Kind::none;
  std::vector<double> floats;
  std::vector<int64_t> ints;
  std::vector<bool> bools;

  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw Error(ErrorKind::schema, fmt::format("{}: {}: {}", source, path.empty() ? "(top level)" : path, what));
  }

  void promote(Kind seen, const std::string& path) {
    if (kind == Kind::none) {
      kind = seen;
      return;
    }
    if ((kind == Kind::boolean) != (seen == Kind::boolean))
      fail(path, "booleans mixed with numbers in one tensor");
    if (kind == Kind::integer && seen == Kind::floating) {
      for (int64_t i : ints) floats.push_back(static_cast<double>(i));
      ints.clear();
      kind = Kind::floating;
    }
  }

  void leaf(const rapidjson::Value& v, const std::string& path) {
    if (v.IsBool()) {
      promote(Kind::boolean, path);
      bools.push_back(v.GetBool());
    } else if (v.IsInt64() && kind != Kind::floating) {
      promote(Kind::integer, path);
      if (kind == Kind::integer) ints.push_back(v.GetInt64());
      else floats.push_back(static_cast<double>(v.GetInt64()));
    } else if (v.IsNumber()) {
      if (v.IsUint64() && !v.IsInt64() && kind != Kind::floating) fail(path, "integer " + json::compact(v) + " does not fit int64");
      promote(Kind::floating, path);
      floats.push_back(v.GetDouble());
    } else if (v.IsString()) {
      std::string s = v.GetString();
      double x = s == "nan" ? std::nan("") : s == "inf" ? INFINITY : s == "-inf" ? -INFINITY : 0;
      if (s != "nan" && s != "inf" && s != "-inf")
        fail(path, "expected a number, a bool or a list, got " + json::describe(v));
      promote(Kind::floating, path);
      floats.push_back(x);
    } else {
      fail(path, "expected a number, a bool or a list, got " + json::describe(v));
    }
  }

  // Walks the nested lists; the first path to each depth fixes the size there.
  void walk(const rapidjson::Value& v, const std::string& path, std::size_t depth, Shape& prefix) {
    if (!v.IsArray()) {
      if (!shape_known) {
        shape = prefix;
        shape_known = true;
      } else if (depth != shape.size()) {
        fail(path, fmt::format("ragged list: a scalar at depth {}, expected depth {}", depth, shape.size()));
      }
      leaf(v, path);
      return;
    }
    if (depth >= static_cast<std::size_t>(kMaxJsonTensorRank)) fail(path, fmt::format("nested deeper than {} levels", kMaxJsonTensorRank));
    int64_t size = v.Size();
    if (shape_known) {
      if (depth >= shape.size()) fail(path, fmt::format("ragged list: a list at depth {}, expected a scalar", depth));
      if (shape[depth] != size)
        fail(path, fmt::format("ragged list: {} items, expected {}", size, shape[depth]));
    }
    prefix.push_back(size);
    if (size == 0 && !shape_known) {
      shape = prefix;
      shape_known = true;
    }
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i) walk(v[i], json::child(path, i), depth + 1, prefix);
    prefix.pop_back();
  }

  Tensor tensor() const {
    if (kind == Kind::boolean) {
      Tensor t(DType::bool_, shape);
      bool* p = t.mutable_data_as<bool>();
      for (std::size_t i = 0; i < bools.size(); ++i) p[i] = bools[i];
      return t;
    }
    if (kind == Kind::integer) {
      Tensor t(DType::int64, shape);
      int64_t* p = t.mutable_data_as<int64_t>();
      for (std::size_t i = 0; i < ints.size(); ++i) p[i] = ints[i];
      return t;
    }
    Tensor t(DType::float64, shape);  // empty lists are float64, as in numpy
    double* p = t.mutable_data_as<double>();
    for (std::size_t i = 0; i < floats.size(); ++i) p[i] = floats[i];
    return t;
  }
};

Tensor to_tensor(const rapidjson::Value& v, const std::string& path, const std::string& source) {
  Collector c{source, {}, false, Kind::none, {}, {}, {}};
  Shape prefix;
  c.walk(v, path, 0, prefix);
  return c.tensor();
}

std::string number_text(double v) {
  if (std::isnan(v)) return "\"nan\"";
  if (std::isinf(v)) return v > 0 ? "\"inf\"" : "\"-inf\"";
  std::string text = fmt::format("{}", v);
  if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
  return text;
}

void write_items(std::string& out, const Tensor& t, std::size_t axis, int64_t& index) {
  if (axis == t.shape().size()) {
    visit_dtype(t.dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, bool>) out += t.data_as<bool>()[index] ? "true" : "false";
      else if constexpr (std::is_same_v<T, uint64_t>) out += std::to_string(t.data_as<uint64_t>()[index]);
      else if constexpr (std::is_integral_v<T>) out += std::to_string(static_cast<int64_t>(t.data_as<T>()[index]));
      else if constexpr (std::is_same_v<T, float>) {
        float f = t.data_as<float>()[index];
        if (!std::isfinite(f)) out += number_text(f);
        else {
          std::string text = fmt::format("{}", f);  // shortest text that reads back to the same float
          if (text.find_first_of(".eE") == std::string::npos) text += ".0";
          out += text;
        }
      } else {
        out += number_text(t.value_at(index));
      }
    });
    ++index;
    return;
  }
  out += "[";
  for (int64_t i = 0; i < t.shape()[axis]; ++i) {
    if (i) out += ", ";
    write_items(out, t, axis + 1, index);
  }
  out += "]";
}

}  // namespace

std::map<std::string, Tensor> read_json_tensors(std::string_view json, const std::string& source) {
  rapidjson::Document doc = json::parse(json, source);
  if (!doc.IsObject()) throw Error(ErrorKind::schema, source + ": expected an object of named tensors, got " + json::describe(doc));
  json::check_no_duplicate_keys(doc, source);
  std::map<std::string, Tensor> out;
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it)
    out[it->name.GetString()] = to_tensor(it->value, json::child("", it->name.GetString()), source);
  return out;
}

Tensor read_json_tensor(std::string_view json, const std::string& source) {
  rapidjson::Document doc = json::parse(json, source);
  return to_tensor(doc, "", source);
}

std::string write_json_tensor(const Tensor& tensor) {
  if (is_complex(tensor.dtype()))
    throw Error(ErrorKind::unsupported, "JSON tensors cannot hold complex values (" + describe(tensor) + ")");
  std::string out;
  int64_t index = 0;
  write_items(out, tensor, 0, index);
  return out;
}

std::string write_json_tensors(const std::map<std::string, Tensor>& tensors) {
  std::string out = "{";
  bool first = true;
  for (const auto& [name, tensor] : tensors) {
    rapidjson::Value key(name.c_str(), static_cast<rapidjson::SizeType>(name.size()));
    out += (first ? "\n  " : ",\n  ") + json::compact(key) + ": " + write_json_tensor(tensor);
    first = false;
  }
  out += first ? "}\n" : "\n}\n";
  return out;
}

}  // namespace mithril
