#pragma once
// Internal to the python-mithril step: the table of Python Mithril's library models. Each entry
// gives a model's keys in Python's order (with defaults and what kind of value each takes) and how
// it emits operator nodes of format 1.0.0 with numpy's order of operations. The flattener
// (flatten.h) joins the keys into edges; Emit is what an entry sees when its nodes are written.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <rapidjson/document.h>

#include "core/error.h"
#include "graph/model.h"
#include "io/json_util.h"

namespace mithril::versioning::python_mithril {

using JValue = rapidjson::Value;

// How a library model's key is used: a tensor of some element kind, or a node attribute.
// tensor_list: a list of tensors (Concat's input), from a ToList or a list input (format 1.2.0).
// tensor_or_list: a tensor, or the list a ToList or Split makes (Indexer's input: Python indexes
// either).
enum class KeyKind { floating, integer, boolean, any, attribute, tensor_list, tensor_or_list };

struct KeyDef {
  std::string name;
  KeyKind kind = KeyKind::floating;
  std::optional<std::string> default_json;  // a value (compact JSON) when the key is valued
  bool differentiable = false;
  /// The shape Python's model declares for a trainable key, when it has one: each entry a size
  /// ("8") or a symbol local to the instance ("in"); the flattener makes the symbols unique.
  std::optional<std::vector<std::string>> shape;
};

using Emitter = std::function<void(class Emit& e)>;

inline constexpr double kMinPositiveNormal = 2.2250738585072014e-308;
inline constexpr const char* kEpsilonJson = "2.220446049250313e-16";  // Constant.EPSILON

std::string lower(std::string s);
/// Every model name the step knows, in the spelling Python Mithril writes.
const std::vector<std::string>& model_names();
/// The canonical spelling of `name` (Python's lookup ignores case), or nullopt if unknown.
std::optional<std::string> canonical_name(const std::string& name);
/// Python's value_dict: "Constant.X" -> its value as JSON text; nullopt for anything else.
std::optional<std::string> python_constant(const std::string& s);
bool is_python_constant_name(const std::string& s);
/// A Dtype of Python Mithril as written by str(): its enum number, one digit ("4" is int64).
inline bool is_dtype_value(const std::string& s) { return s.size() == 1 && s[0] >= '0' && s[0] <= '9'; }

/// A library model's keys and emitter. Instance ties them to the edges of one use.
struct LibraryModel {
  std::vector<KeyDef> keys;
  Emitter emit;
};

/// Internal entries, not Python models: a state cut at another value's size along axis 0
/// (state[:len(like)], state[len(like):]), as RNNCell and LSTMCell do with Shape, Indexer and Slice.
inline constexpr const char* kCutBefore = "%CutBefore";
inline constexpr const char* kCutAfter = "%CutAfter";
/// And args.count values joined on axis 0 (ManyToOne's hidden_concat): keys input0, input1, ...
inline constexpr const char* kJoinRows = "%JoinRows";

/// The entry for the canonical `name` with constructor `args` (may be null), or nullopt.
std::optional<LibraryModel> library_model(const std::string& name, const JValue* args, const std::string& path);

/// args[name], or null when absent or args is not an object.
const JValue* arg(const JValue* args, const char* name);

// ------------------------------------------------------------------ emission context

std::string compact(const JValue& v);

/// A Python value read from a tensor's shape, which format 1.x has no value for: an int (Size,
/// Length, Shape()[i]: the size of `tensor` along `axis`; nullopt: its element count), a shape
/// tuple (Shape), or a slice from or to such an int (Slice(stop=n): x[:n]; Slice(start=n): x[n:]).
/// Each becomes operators on the tensor's shape where it is used: an int that sizes an array
/// (Eye's N) makes it from the shape (eye_of_dim), an int in arithmetic is dim_size, an Indexer
/// with such a slice is slice_at_dim. `model` names its maker for errors.
struct DimRef {
  enum class Kind { size, shape, slice };
  Value tensor;
  std::optional<int64_t> axis;
  std::string model;
  Kind kind = Kind::size;
  bool slice_to = false;  ///< a slice: true for x[:n] (n its stop), false for x[n:] (n its start)

  /// The axis as an operator attribute (null for the element count).
  AttrValue axis_attr() const { return axis ? AttrValue{*axis} : AttrValue{}; }
  /// "a Python int", "a Python tuple", "a Python slice": for errors.
  const char* what() const { return kind == Kind::size ? "a Python int" : kind == Kind::shape ? "a Python tuple" : "a Python slice"; }
};

class Emit {
 public:
  /// `model_name` and `path` (the instance's canonical name and JSON path) are for errors.
  Emit(Model& model, std::string model_name, std::string path, const std::map<std::string, Value>& values,
       const std::map<std::string, std::string>& attrs, std::string final_name,
       std::function<std::string(const std::string&)> auto_name,
       const std::map<std::string, std::vector<Value>>& lists = {}, const std::map<std::string, DimRef>& dims = {})
      : model_(model), model_name_(std::move(model_name)), path_(std::move(path)), values_(values), attrs_(attrs), final_name_(std::move(final_name)),
        auto_name_(std::move(auto_name)), lists_(lists), dims_(dims) {}

  /// The size an attribute key is connected to (the output of a Size or Length), or null.
  const DimRef* dim(const std::string& key) const {
    auto it = dims_.find(key);
    return it == dims_.end() ? nullptr : &it->second;
  }
  /// Makes this model's output a size (Size, Length), not an operator node.
  void out_dim(DimRef d) { output_dim_ = std::move(d); }
  const std::optional<DimRef>& output_dim() const { return output_dim_; }

  /// A list key's values (KeyKind::tensor_list): the elements a ToList made, or one list input
  /// (which a variadic operator input takes as its elements).
  std::vector<Value> list(const std::string& key) const {
    auto it = lists_.find(key);
    if (it == lists_.end()) fail("key '" + key + "' has no list value");
    return it->second;
  }
  /// Whether a key (KeyKind::tensor_or_list) holds a list.
  bool has_list(const std::string& key) const { return lists_.count(key) > 0; }
  /// Makes this model's output a list of values (ToList), not an operator node.
  void out_list(std::vector<Value> values) { output_list_ = std::move(values); }
  const std::optional<std::vector<Value>>& output_list() const { return output_list_; }

  /// A tensor key's value. A Python int from a shape given there (Length(x) + x) is numpy's: the
  /// size as a number, float64 (the dtype Python's float tensors have), read from the shape.
  Value in(const std::string& key) const {
    if (const DimRef* d = dim(key)) {
      if (d->kind != DimRef::Kind::size)
        fail("key '" + key + "' is connected to the output of " + d->model + ", " + d->what() + ": a tensor is expected there");
      return model_.apply("dim_size", {d->tensor}, {{"axis", d->axis_attr()}, {"dtype", std::string("float64")}}, auto_name_("dim_size"));
    }
    auto it = values_.find(key);
    if (it == values_.end()) fail("key '" + key + "' has no tensor value");
    return it->second;
  }
  bool has(const std::string& key) const { return values_.count(key) > 0 || attrs_.count(key) > 0; }
  // The value of an attribute key, parsed.
  rapidjson::Document attr(const std::string& key) const {
    auto it = attrs_.find(key);
    if (it == attrs_.end()) fail("key '" + key + "' has no value");
    return json::parse(it->second, "attribute");
  }
  Value apply(const std::string& op, const std::vector<Value>& inputs, const Attributes& attrs = {}) {
    return model_.apply(op, numpy_promoted(op, inputs), attrs, auto_name_(op));
  }
  /// A float64 scalar constant (Python's literals such as the 1.0 of hinge_loss).
  Value scalar(double value) {
    Tensor t(DType::float64, Shape{});
    *t.mutable_data_as<double>() = value;
    return model_.constant(auto_name_("const"), t);
  }
  /// A constant tensor computed here (the arrays Eye, Ones and Arange make from constant args).
  Value constant(const Tensor& t) { return model_.constant(auto_name_("const"), t); }
  Value out(const std::string& op, const std::vector<Value>& inputs, const Attributes& attrs = {}) {
    output_ = model_.apply(op, numpy_promoted(op, inputs), attrs, final_name_.empty() ? auto_name_(op) : final_name_);
    return *output_;
  }
  /// numpy promotes the operands of its arithmetic, comparisons, matmul, where and concatenate to
  /// one dtype (an int64 tensor plus a float64 one is float64; / divides integers as float64); our
  /// operators take one dtype, so the operands of `op` whose dtype differs are cast to numpy's.
  std::vector<Value> numpy_promoted(const std::string& op, std::vector<Value> inputs) const;
  std::optional<Value> output() const { return output_; }
  /// A value of the wrong type or form: Error(schema).
  [[noreturn]] void bad(const std::string& what) const {
    throw Error(ErrorKind::schema, path_ + " (" + model_name_ + "): " + what);
  }
  /// A construct the format cannot express: Error(unsupported).
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorKind::unsupported, path_ + " (" + model_name_ + "): " + what);
  }

  // Attribute conversions with Python's rules.
  int64_t int_attr(const std::string& key) const {
    auto v = attr(key);
    if (!v.IsInt64()) bad(key + ": expected an integer, got " + json::describe(v));
    return v.GetInt64();
  }
  double number_attr(const std::string& key) const {
    auto v = attr(key);
    if (v.IsString()) {
      if (auto c = python_constant(v.GetString())) return std::stod(*c);
    }
    if (!v.IsNumber()) bad(key + ": expected a number, got " + json::describe(v));
    return v.GetDouble();
  }
  bool bool_attr(const std::string& key) const {
    auto v = attr(key);
    if (!v.IsBool()) bad(key + ": expected true or false, got " + json::describe(v));
    return v.GetBool();
  }
  /// A list of integers (Reshape's shape, Ones' shape).
  std::vector<int64_t> int_list_attr(const std::string& key) const {
    auto v = attr(key);
    std::vector<int64_t> out;
    if (!v.IsArray()) bad(key + ": expected a list of integers, got " + json::describe(v));
    for (const auto& a : v.GetArray()) {
      if (!a.IsInt64()) bad(key + ": expected a list of integers, got " + compact(v));
      out.push_back(a.GetInt64());
    }
    return out;
  }
  // null, an int or a list of ints.
  AttrValue axes_attr(const std::string& key) const {
    auto v = attr(key);
    if (v.IsNull()) return std::monostate{};
    if (v.IsInt64()) return std::vector<int64_t>{v.GetInt64()};
    if (v.IsArray()) {
      std::vector<int64_t> axes;
      for (const auto& a : v.GetArray()) {
        if (!a.IsInt64()) bad(key + ": expected integer axes, got " + json::describe(a));
        axes.push_back(a.GetInt64());
      }
      return axes;
    }
    bad(key + ": expected null, an integer or a list of integers, got " + json::describe(v));
  }
  std::vector<int64_t> ints_attr(const std::string& key, std::size_t count) const {
    auto v = attr(key);
    if (v.IsInt64()) return std::vector<int64_t>(count, v.GetInt64());
    std::vector<int64_t> out;
    if (v.IsArray())
      for (const auto& a : v.GetArray()) {
        if (!a.IsInt64()) bad(key + ": expected integers, got " + json::describe(a));
        out.push_back(a.GetInt64());
      }
    if (out.size() != count) bad(fmt::format("{}: expected an integer or {} integers, got {}", key, count, compact(v)));
    return out;
  }

 private:
  Model& model_;
  std::string model_name_;
  std::string path_;
  const std::map<std::string, Value>& values_;
  const std::map<std::string, std::string>& attrs_;
  std::string final_name_;
  std::function<std::string(const std::string&)> auto_name_;
  std::map<std::string, std::vector<Value>> lists_;
  std::map<std::string, DimRef> dims_;
  std::optional<Value> output_;
  std::optional<std::vector<Value>> output_list_;
  std::optional<DimRef> output_dim_;
};

}  // namespace mithril::versioning::python_mithril
