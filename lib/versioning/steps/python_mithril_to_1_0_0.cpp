// Step: Python Mithril's unversioned model dict -> format 1.0.0.
//
// Python Mithril (`mithril.utils.dict_conversions.model_to_dict`) writes a model as a tree of
// library models ("Linear", "Relu", ...) and containers ("Model" with `submodels` and
// `connections`) whose keys form one flat namespace. This step flattens the tree into one 1.0.0
// model body, keeping Python's key names, so a test case's inputs apply unchanged:
//   - every Python key is an edge; `connect` and reused names join edges (union-find);
//   - trainable keys (Linear/Convolution/LayerNorm/Embedding weights and biases, keys marked
//     differentiable) without a value become parameters, other keys without a value inputs
//     (shape null: Python dicts declare no shapes, unless `assigned_shapes` gives one);
//   - keys with a value become constants (tensor keys) or node attributes (axis, slope, ...);
//   - each library model becomes one operator node, or a few for composites (Linear is
//     matmul(input, transpose(weight)) + bias, in numpy's order of operations);
//   - what 1.0.0 cannot express (assigned types, constraints, canonical keys...) is kept as
//     compact JSON strings under "python_mithril.*" metadata keys.
// The result is built with the graph API and written by to_dict(), so it is canonical. Semantics,
// key orders and defaults follow shared/reference/python-mithril-format.md.
#include <algorithm>
#include <cctype>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "graph/model.h"
#include "io/json_tensors.h"
#include "io/json_util.h"
#include "io/model_json.h"
#include "versioning/steps/steps.h"

namespace mithril::versioning {
namespace {

using JValue = rapidjson::Value;

// How a library model's key is used: a tensor of some element kind, or a node attribute.
enum class KeyKind { floating, integer, boolean, any, attribute, tensor_list };

struct KeyDef {
  std::string name;
  KeyKind kind = KeyKind::floating;
  std::optional<std::string> default_json;  // a value (compact JSON) when the key is valued
  bool differentiable = false;
};

struct Edge {
  int parent = -1;          // union-find; -1 for a root
  std::string name;         // the Python key name; empty when unnamed
  std::optional<std::string> value;  // explicit value (compact JSON)
  bool value_is_tensor = false;
  std::string value_path;
  std::optional<std::string> default_value;  // from a library key's default
  std::optional<bool> differentiable;
  bool library_differentiable = false;
  std::string first_key;    // the local key that created it, for naming unnamed keys
  std::string type_json;    // Python type annotation, if any
  std::optional<ValueInfo> shape;  // from assigned_shapes
  int producer = -1;        // the instance whose output it is
};

struct Instance;
class Flattener;
using Emitter = std::function<void(class Emit& e)>;

struct Instance {
  std::string model;  // canonical Python name
  std::string path;   // JSON path of its dict
  std::vector<KeyDef> keys;
  std::map<std::string, int> edges;  // key -> edge (inputs and "output")
  Emitter emit;
};

// Lazily resolved connection: the child creates edges in its own key order, like Python does.
using Binding = std::function<int()>;

const double kMinPositiveNormal = 2.2250738585072014e-308;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

const std::vector<std::string>& model_names() {
  static const std::vector<std::string> names = {
      "Model", "Linear", "Layer", "MLP", "Buffer", "Add", "Subtract", "Multiply", "Divide", "Power",
      "MatrixMultiply", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Gelu", "Softplus", "Softmax", "Sqrt", "Log",
      "Exponential", "Absolute", "Sine", "Cosine", "Sum", "Mean", "Max", "Min", "Prod", "Variance", "Transpose",
      "PermuteTensor", "Flatten", "Concat", "Where", "LayerNorm", "Embedding", "Convolution1D", "Convolution2D",
      "MaxPool1D", "MaxPool2D", "SquaredError", "AbsoluteError", "CrossEntropy", "BinaryCrossEntropy"};
  return names;
}

// Python's lookup ignores case.
std::optional<std::string> canonical_name(const std::string& name) {
  std::string key = lower(name);
  for (const std::string& n : model_names())
    if (lower(n) == key) return n;
  return std::nullopt;
}

std::string compact(const JValue& v) { return json::compact(v); }

// Python's value_dict: "Constant.X" and Dtype digits; nullopt for anything else.
std::optional<std::string> python_constant(const std::string& s) {
  if (s == "Constant.MIN_POSITIVE_NORMAL") return fmt::format("{}", kMinPositiveNormal);
  if (s == "Constant.MIN_POSITIVE_SUBNORMAL") return "5e-324";
  if (s == "Constant.EPSILON") return "2.220446049250313e-16";
  if (s == "Constant.ZEROS") return "0.0";
  if (s == "Constant.ONES") return "1.0";
  return std::nullopt;
}

bool is_python_constant_name(const std::string& s) { return s.rfind("Constant.", 0) == 0; }

// ------------------------------------------------------------------ emission context

class Emit {
 public:
  Emit(Model& model, const Instance& inst, const std::map<std::string, Value>& values,
       const std::map<std::string, std::string>& attrs, std::string final_name,
       std::function<std::string(const std::string&)> auto_name)
      : model_(model), inst_(inst), values_(values), attrs_(attrs), final_name_(std::move(final_name)),
        auto_name_(std::move(auto_name)) {}

  const Instance& instance() const { return inst_; }
  Value in(const std::string& key) const {
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
    return model_.apply(op, inputs, attrs, auto_name_(op));
  }
  Value out(const std::string& op, const std::vector<Value>& inputs, const Attributes& attrs = {}) {
    output_ = model_.apply(op, inputs, attrs, final_name_.empty() ? auto_name_(op) : final_name_);
    return *output_;
  }
  std::optional<Value> output() const { return output_; }
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorKind::unsupported, inst_.path + " (" + inst_.model + "): " + what);
  }

  // Attribute conversions with Python's rules.
  int64_t int_attr(const std::string& key) const {
    auto v = attr(key);
    if (!v.IsInt64()) fail(key + ": expected an integer, got " + json::describe(v));
    return v.GetInt64();
  }
  double number_attr(const std::string& key) const {
    auto v = attr(key);
    if (v.IsString()) {
      if (auto c = python_constant(v.GetString())) return std::stod(*c);
    }
    if (!v.IsNumber()) fail(key + ": expected a number, got " + json::describe(v));
    return v.GetDouble();
  }
  bool bool_attr(const std::string& key) const {
    auto v = attr(key);
    if (!v.IsBool()) fail(key + ": expected true or false, got " + json::describe(v));
    return v.GetBool();
  }
  // null, an int or a list of ints.
  AttrValue axes_attr(const std::string& key) const {
    auto v = attr(key);
    if (v.IsNull()) return std::monostate{};
    if (v.IsInt64()) return std::vector<int64_t>{v.GetInt64()};
    if (v.IsArray()) {
      std::vector<int64_t> axes;
      for (const auto& a : v.GetArray()) {
        if (!a.IsInt64()) fail(key + ": expected integer axes, got " + json::describe(a));
        axes.push_back(a.GetInt64());
      }
      return axes;
    }
    fail(key + ": expected null, an integer or a list of integers, got " + json::describe(v));
  }
  std::vector<int64_t> ints_attr(const std::string& key, std::size_t count) const {
    auto v = attr(key);
    if (v.IsInt64()) return std::vector<int64_t>(count, v.GetInt64());
    std::vector<int64_t> out;
    if (v.IsArray())
      for (const auto& a : v.GetArray()) {
        if (!a.IsInt64()) fail(key + ": expected integers, got " + json::describe(a));
        out.push_back(a.GetInt64());
      }
    if (out.size() != count) fail(fmt::format("{}: expected an integer or {} integers, got {}", key, count, compact(v)));
    return out;
  }

 private:
  Model& model_;
  const Instance& inst_;
  const std::map<std::string, Value>& values_;
  const std::map<std::string, std::string>& attrs_;
  std::string final_name_;
  std::function<std::string(const std::string&)> auto_name_;
  std::optional<Value> output_;
};

// ------------------------------------------------------------------ library models

const JValue* arg(const JValue* args, const char* name) {
  if (!args || !args->IsObject()) return nullptr;
  auto it = args->FindMember(name);
  return it == args->MemberEnd() ? nullptr : &it->value;
}

std::string arg_json(const JValue* args, const char* name, const std::string& fallback) {
  const JValue* v = arg(args, name);
  return v ? compact(*v) : fallback;
}

bool arg_bool(const JValue* args, const char* name, bool fallback) {
  const JValue* v = arg(args, name);
  return v && v->IsBool() ? v->GetBool() : fallback;
}

KeyDef tensor(const std::string& name, KeyKind kind = KeyKind::floating, bool differentiable = false) {
  return KeyDef{name, kind, std::nullopt, differentiable};
}
KeyDef valued(const std::string& name, std::string value, KeyKind kind = KeyKind::attribute) {
  return KeyDef{name, kind, std::move(value), false};
}

// Padding of a convolution or pooling in Python's forms -> [before, after] per spatial axis.
std::vector<int64_t> convert_padding(Emit& e, const std::string& key, std::size_t rank, const std::vector<int64_t>& kernel) {
  auto v = e.attr(key);
  auto same = [&] {
    for (std::size_t i = 0; i < rank; ++i) {
      // Python: SAME is k//2 on every side for odd kernels and raises for even ones; for a
      // non-square 2-D kernel it gives ((kh//2, kw//2), (kh//2, kw//2)).
      if (kernel[i] % 2 == 0) e.fail(key + ": padding SAME needs an odd kernel size, got " + std::to_string(kernel[i]));
    }
    if (rank == 1) return std::vector<int64_t>{kernel[0] / 2, kernel[0] / 2};
    return std::vector<int64_t>{kernel[0] / 2, kernel[1] / 2, kernel[0] / 2, kernel[1] / 2};
  };
  if (v.IsString()) {
    std::string s = v.GetString();
    if (s.rfind("PaddingType.", 0) == 0) s = s.substr(12);
    if (s == "SAME") return same();
    if (s == "VALID") return std::vector<int64_t>(2 * rank, 0);
    e.fail(key + ": unknown padding type '" + s + "' (expected SAME or VALID)");
  }
  if (v.IsInt64()) return std::vector<int64_t>(2 * rank, v.GetInt64());
  if (v.IsArray()) {
    std::vector<int64_t> out;
    if (rank == 1 && v.Size() == 2 && v[0].IsInt64() && v[1].IsInt64()) return {v[0].GetInt64(), v[1].GetInt64()};
    if (rank == 2 && v.Size() == 2) {
      if (v[0].IsInt64() && v[1].IsInt64())
        return {v[0].GetInt64(), v[0].GetInt64(), v[1].GetInt64(), v[1].GetInt64()};
      if (v[0].IsArray() && v[1].IsArray() && v[0].Size() == 2 && v[1].Size() == 2) {
        for (int a = 0; a < 2; ++a)
          for (int b = 0; b < 2; ++b) {
            if (!v[a][b].IsInt64()) e.fail(key + ": expected integer padding, got " + compact(v));
            out.push_back(v[a][b].GetInt64());
          }
        return out;
      }
    }
  }
  e.fail(key + ": padding " + compact(v) + " is not an integer, a pair, pairs per axis, SAME or VALID");
}

struct LibraryModel {
  std::vector<KeyDef> keys;
  Emitter emit;
};

LibraryModel unary(const std::string& op) {
  return {{tensor("input")}, [op](Emit& e) { e.out(op, {e.in("input")}); }};
}

LibraryModel binary(const std::string& op, const std::string& left = "left", const std::string& right = "right") {
  return {{tensor(left), tensor(right)}, [op, left, right](Emit& e) { e.out(op, {e.in(left), e.in(right)}); }};
}

LibraryModel reduction(const std::string& op, const JValue* args, bool variance) {
  std::vector<KeyDef> keys = {tensor("input"), valued("axis", arg_json(args, "axis", "null")),
                              valued("keepdim", arg_json(args, "keepdim", "false"))};
  if (variance) keys.push_back(valued("correction", arg_json(args, "correction", "0.0")));
  return {keys, [op, variance](Emit& e) {
            Attributes a = {{"axes", e.axes_attr("axis")}, {"keepdims", e.bool_attr("keepdim")}};
            if (variance) a["correction"] = e.number_attr("correction");
            e.out(op, {e.in("input")}, a);
          }};
}

// A robust variant takes a `threshold` key (Constant.MIN_POSITIVE_NORMAL by default).
LibraryModel maybe_robust(const JValue* args, const std::string& plain, const std::string& robust_op,
                          std::vector<std::string> inputs) {
  bool robust = arg_bool(args, "robust", false);
  std::vector<KeyDef> keys;
  for (const std::string& k : inputs) keys.push_back(tensor(k));
  if (!robust) return {keys, [plain, inputs](Emit& e) {
                         std::vector<Value> v;
                         for (const std::string& k : inputs) v.push_back(e.in(k));
                         e.out(plain, v);
                       }};
  std::string threshold = arg_json(args, "threshold", fmt::format("{}", kMinPositiveNormal));
  if (threshold == "\"Constant.MIN_POSITIVE_NORMAL\"") threshold = fmt::format("{}", kMinPositiveNormal);
  keys.push_back(valued("threshold", threshold, KeyKind::floating));
  return {keys, [robust_op, inputs](Emit& e) {
            std::vector<Value> v;
            for (const std::string& k : inputs) v.push_back(e.in(k));
            v.push_back(e.in("threshold"));
            e.out(robust_op, v);
          }};
}

LibraryModel conv(const JValue* args, std::size_t rank, const std::string& path) {
  bool use_bias = arg_bool(args, "use_bias", true);
  const JValue* kernel_arg = arg(args, "kernel_size");
  std::string stride = arg_json(args, "stride", rank == 1 ? "1" : "[1,1]");
  std::string padding = arg_json(args, "padding", rank == 1 ? "0" : "[0,0]");
  std::string dilation = arg_json(args, "dilation", rank == 1 ? "1" : "[1,1]");
  std::vector<KeyDef> keys;
  keys.push_back(tensor("weight", KeyKind::floating, true));
  keys.push_back(valued("padding", padding));
  if (rank == 1) {
    keys.push_back(tensor("input"));
    if (use_bias) keys.push_back(tensor("bias", KeyKind::floating, true));
    keys.push_back(valued("stride", stride));
    keys.push_back(valued("dilation", dilation));
  } else {
    keys.push_back(valued("stride", stride));
    keys.push_back(valued("dilation", dilation));
    keys.push_back(tensor("input"));
    if (use_bias) keys.push_back(tensor("bias", KeyKind::floating, true));
    keys.push_back(valued("groups", arg_json(args, "groups", "1")));
  }
  std::vector<int64_t> kernel;
  if (kernel_arg && kernel_arg->IsInt64()) kernel.assign(rank, kernel_arg->GetInt64());
  else if (kernel_arg && kernel_arg->IsArray() && kernel_arg->Size() == rank)
    for (const auto& k : kernel_arg->GetArray()) kernel.push_back(k.IsInt64() ? k.GetInt64() : 0);
  (void)path;
  return {keys, [rank, use_bias, kernel](Emit& e) {
            Attributes a;
            a["stride"] = e.ints_attr("stride", rank);
            a["dilation"] = e.ints_attr("dilation", rank);
            std::vector<int64_t> k = kernel;
            if (k.size() != rank) k.assign(rank, 1);  // only SAME padding needs it
            a["padding"] = convert_padding(e, "padding", rank, k);
            if (rank == 2) a["groups"] = e.int_attr("groups");
            std::string op = rank == 1 ? "conv1d" : "conv2d";
            if (!use_bias) {
              e.out(op, {e.in("input"), e.in("weight")}, a);
              return;
            }
            Value c = e.apply(op, {e.in("input"), e.in("weight")}, a);
            e.out("add", {c, e.in("bias")});
          }};
}

LibraryModel max_pool(const JValue* args, std::size_t rank) {
  std::string kernel = arg_json(args, "kernel_size", "null");
  std::string stride = arg_json(args, "stride", "null");
  std::string padding = arg_json(args, "padding", rank == 1 ? "[0,0]" : "[0,0]");
  std::string dilation = arg_json(args, "dilation", "1");
  std::vector<KeyDef> keys;
  if (rank == 1) keys = {valued("stride", stride), valued("kernel_size", kernel), valued("padding", padding), tensor("input"),
                         valued("dilation", dilation)};
  else keys = {valued("kernel_size", kernel), valued("stride", stride), valued("padding", padding), valued("dilation", dilation),
               tensor("input")};
  return {keys, [rank](Emit& e) {
            Attributes a;
            std::vector<int64_t> k = e.ints_attr("kernel_size", rank);
            a["kernel_size"] = k;
            auto stride = e.attr("stride");
            a["stride"] = stride.IsNull() ? k : e.ints_attr("stride", rank);  // Python: stride None -> kernel_size
            a["dilation"] = e.ints_attr("dilation", rank);
            a["padding"] = convert_padding(e, "padding", rank, k);
            e.out(rank == 1 ? "max_pool1d" : "max_pool2d", {e.in("input")}, a);
          }};
}

std::optional<LibraryModel> library_model(const std::string& name, const JValue* args, const std::string& path) {
  if (name == "Buffer") return unary("identity");
  if (name == "Add") return binary("add");
  if (name == "Subtract") return binary("subtract");
  if (name == "Multiply") return binary("multiply");
  if (name == "Divide") return binary("divide", "numerator", "denominator");
  if (name == "MatrixMultiply") return binary("matmul");
  if (name == "Power") return maybe_robust(args, "power", "robust_power", {"base", "exponent"});
  if (name == "Sqrt") return maybe_robust(args, "sqrt", "robust_sqrt", {"input"});
  if (name == "Log") return maybe_robust(args, "log", "robust_log", {"input"});
  if (name == "Relu") return unary("relu");
  if (name == "Sigmoid") return unary("sigmoid");
  if (name == "Tanh") return unary("tanh");
  if (name == "Softplus") return unary("softplus");
  if (name == "Exponential") return unary("exp");
  if (name == "Absolute") return unary("abs");
  if (name == "Sine") return unary("sin");
  if (name == "Cosine") return unary("cos");
  if (name == "LeakyRelu")
    return LibraryModel{{tensor("input"), valued("slope", arg_json(args, "slope", "0.01"))},
                        [](Emit& e) { e.out("leaky_relu", {e.in("input")}, {{"slope", e.number_attr("slope")}}); }};
  if (name == "Gelu")
    return LibraryModel{{tensor("input"), valued("approximate", arg_json(args, "approximate", "false"))},
                        [](Emit& e) { e.out("gelu", {e.in("input")}, {{"approximate", e.bool_attr("approximate")}}); }};
  if (name == "Softmax")
    return LibraryModel{{tensor("input"), valued("axis", arg_json(args, "axis", "-1"))}, [](Emit& e) {
                          auto axis = e.attr("axis");
                          if (!axis.IsNull()) {
                            e.out("softmax", {e.in("input")}, {{"axis", e.int_attr("axis")}});
                            return;
                          }
                          // axis None: over all elements, numpy's exp(x - max) / sum.
                          Value x = e.in("input");
                          Value m = e.apply("max", {x});
                          Value ex = e.apply("exp", {e.apply("subtract", {x, m})});
                          e.out("divide", {ex, e.apply("sum", {ex})});
                        }};
  if (name == "Sum" || name == "Mean" || name == "Max" || name == "Min" || name == "Prod")
    return reduction(lower(name), args, false);
  if (name == "Variance") return reduction("variance", args, true);
  if (name == "Transpose")
    return LibraryModel{{tensor("input", KeyKind::any), valued("axes", arg_json(args, "axes", "null"))},
                        [](Emit& e) { e.out("transpose", {e.in("input")}, {{"axes", e.axes_attr("axes")}}); }};
  if (name == "PermuteTensor")
    return LibraryModel{{tensor("input", KeyKind::any), tensor("indices", KeyKind::integer)},
                        [](Emit& e) { e.out("gather", {e.in("input"), e.in("indices")}); }};
  if (name == "Flatten")
    return LibraryModel{{tensor("input", KeyKind::any), valued("start_dim", arg_json(args, "start_dim", "0")),
                         valued("end_dim", arg_json(args, "end_dim", "-1"))},
                        [](Emit& e) {
                          e.out("flatten", {e.in("input")},
                                {{"start_dim", e.int_attr("start_dim")}, {"end_dim", e.int_attr("end_dim")}});
                        }};
  if (name == "Concat")
    return LibraryModel{{tensor("input", KeyKind::tensor_list), valued("axis", arg_json(args, "axis", "0"))},
                        [](Emit& e) { e.fail("unreachable"); }};
  if (name == "Where")
    return LibraryModel{{tensor("cond", KeyKind::boolean), tensor("input1", KeyKind::any), tensor("input2", KeyKind::any)},
                        [](Emit& e) { e.out("where", {e.in("cond"), e.in("input1"), e.in("input2")}); }};
  if (name == "Linear") {
    bool use_bias = arg_bool(args, "use_bias", true);
    std::vector<KeyDef> keys = {tensor("weight", KeyKind::floating, true), tensor("input")};
    if (use_bias) keys.push_back(tensor("bias", KeyKind::floating, true));
    return LibraryModel{keys, [use_bias](Emit& e) {
                          // output = input @ weight.T + bias, as Python's Linear composes it.
                          Value wt = e.apply("transpose", {e.in("weight")});
                          if (!use_bias) {
                            e.out("matmul", {e.in("input"), wt});
                            return;
                          }
                          Value mm = e.apply("matmul", {e.in("input"), wt});
                          e.out("add", {mm, e.in("bias")});
                        }};
  }
  if (name == "LayerNorm") {
    bool use_scale = arg_bool(args, "use_scale", true), use_bias = arg_bool(args, "use_bias", true);
    std::vector<KeyDef> keys = {tensor("input"), valued("eps", arg_json(args, "eps", "1e-05"), KeyKind::floating)};
    if (use_scale) keys.push_back(tensor("weight", KeyKind::floating, true));
    if (use_bias) keys.push_back(tensor("bias", KeyKind::floating, true));
    return LibraryModel{keys, [use_scale, use_bias](Emit& e) {
                          // (x - mean) / sqrt(var + eps) * weight + bias over the last axis, var with ddof 0.
                          Value x = e.in("input");
                          Attributes last = {{"axes", std::vector<int64_t>{-1}}, {"keepdims", true}};
                          Value mean = e.apply("mean", {x}, last);
                          Value centered = e.apply("subtract", {x, mean});
                          Attributes var_attrs = last;
                          var_attrs["correction"] = 0.0;
                          Value var = e.apply("variance", {x}, var_attrs);
                          Value denominator = e.apply("sqrt", {e.apply("add", {var, e.in("eps")})});
                          if (!use_scale && !use_bias) {
                            e.out("divide", {centered, denominator});
                            return;
                          }
                          Value normalized = e.apply("divide", {centered, denominator});
                          if (use_scale && !use_bias) {
                            e.out("multiply", {normalized, e.in("weight")});
                            return;
                          }
                          Value scaled = use_scale ? e.apply("multiply", {normalized, e.in("weight")}) : normalized;
                          e.out("add", {scaled, e.in("bias")});
                        }};
  }
  if (name == "Embedding")
    return LibraryModel{{tensor("input", KeyKind::integer), tensor("weight", KeyKind::floating, true)},
                        [](Emit& e) { e.out("gather", {e.in("weight"), e.in("input")}); }};
  if (name == "Convolution1D") return conv(args, 1, path);
  if (name == "Convolution2D") return conv(args, 2, path);
  if (name == "MaxPool1D") return max_pool(args, 1);
  if (name == "MaxPool2D") return max_pool(args, 2);
  if (name == "SquaredError")
    return LibraryModel{{tensor("input"), tensor("target")}, [](Emit& e) {
                          Value d = e.apply("subtract", {e.in("input"), e.in("target")});
                          e.out("multiply", {d, d});  // numpy's x ** 2 is x * x
                        }};
  if (name == "AbsoluteError")
    return LibraryModel{{tensor("input"), tensor("target")},
                        [](Emit& e) { e.out("abs", {e.apply("subtract", {e.in("input"), e.in("target")})}); }};
  if (name == "CrossEntropy") {
    std::string input_type = "logits";
    if (const JValue* t = arg(args, "input_type"); t && t->IsString()) input_type = t->GetString();
    bool categorical = arg_bool(args, "categorical", true);
    std::vector<KeyDef> keys = {tensor("input"), tensor("target", categorical ? KeyKind::integer : KeyKind::floating),
                                valued("weights", arg_json(args, "weights", "\"\"")),
                                valued("categorical", categorical ? "true" : "false")};
    if (input_type != "log_probs") {
      keys.push_back(valued("threshold", arg_json(args, "threshold", fmt::format("{}", kMinPositiveNormal))));
      keys.push_back(valued("robust", arg_json(args, "robust", "false")));
    }
    return LibraryModel{keys, [input_type](Emit& e) {
                          Attributes a = {{"input_type", input_type}, {"categorical", e.bool_attr("categorical")}};
                          if (e.has("robust")) {
                            a["robust"] = e.bool_attr("robust");
                            a["threshold"] = e.number_attr("threshold");
                          }
                          auto w = e.attr("weights");
                          if (w.IsString() && std::string(w.GetString()) == "auto") a["auto_weights"] = true;
                          else if (w.IsArray()) {
                            std::vector<double> weights;
                            for (const auto& x : w.GetArray()) {
                              if (!x.IsNumber()) e.fail("weights: expected numbers, got " + compact(w));
                              weights.push_back(x.GetDouble());
                            }
                            a["weights"] = weights;
                          } else if (!(w.IsString() && std::string(w.GetString()).empty())) {
                            e.fail("weights: expected \"\", \"auto\" or a list of numbers, got " + compact(w));
                          }
                          e.out("cross_entropy", {e.in("input"), e.in("target")}, a);
                        }};
  }
  if (name == "BinaryCrossEntropy") {
    std::string input_type = "logits";
    if (const JValue* t = arg(args, "input_type"); t && t->IsString()) input_type = t->GetString();
    std::vector<KeyDef> keys = {tensor("input"), tensor("target"), valued("pos_weight", arg_json(args, "pos_weight", "1.0")),
                                valued("threshold", arg_json(args, "threshold", fmt::format("{}", kMinPositiveNormal))),
                                valued("robust", arg_json(args, "robust", "false"))};
    return LibraryModel{keys, [input_type](Emit& e) {
                          Attributes a = {{"input_type", input_type}, {"robust", e.bool_attr("robust")},
                                          {"threshold", e.number_attr("threshold")}};
                          auto pw = e.attr("pos_weight");
                          if (pw.IsString() && std::string(pw.GetString()) == "auto") a["auto_pos_weight"] = true;
                          else a["pos_weight"] = e.number_attr("pos_weight");
                          e.out("binary_cross_entropy", {e.in("input"), e.in("target")}, a);
                        }};
  }
  return std::nullopt;
}

// ------------------------------------------------------------------ flattening

class Flattener {
 public:
  explicit Flattener(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw Error(ErrorKind::unsupported, fmt::format("{}: {}: {}", source_, path.empty() ? "(top level)" : path, what));
  }
  [[noreturn]] void bad(const std::string& path, const std::string& what) const {
    throw Error(ErrorKind::schema, fmt::format("{}: {}: {}", source_, path.empty() ? "(top level)" : path, what));
  }

  int find(int e) {
    while (edges_[static_cast<std::size_t>(e)].parent >= 0) e = edges_[static_cast<std::size_t>(e)].parent;
    return e;
  }
  Edge& edge(int e) { return edges_[static_cast<std::size_t>(find(e))]; }

  int new_edge(const std::string& name, const std::string& first_key) {
    Edge e;
    e.name = name;
    e.first_key = first_key;
    edges_.push_back(e);
    return static_cast<int>(edges_.size()) - 1;
  }

  void set_value(int e, const std::string& value, bool is_tensor, const std::string& path) {
    Edge& x = edge(e);
    if (x.value && *x.value != value) bad(path, "key already holds the value " + *x.value + ", got " + value);
    x.value = value;
    x.value_is_tensor = is_tensor;
    x.value_path = path;
  }

  // Joins two edges (Python merge_connections), keeping what each knew.
  int unite(int a, int b, const std::string& path) {
    a = find(a);
    b = find(b);
    if (a == b) return a;
    if (b < a) std::swap(a, b);  // the older edge survives, for stable naming
    Edge& x = edges_[static_cast<std::size_t>(a)];
    Edge y = edges_[static_cast<std::size_t>(b)];
    if (!x.name.empty() && !y.name.empty() && x.name != y.name)
      bad(path, "connects key '" + x.name + "' with key '" + y.name + "'");
    if (x.name.empty()) x.name = y.name;
    if (y.value) set_value(a, *y.value, y.value_is_tensor, y.value_path);
    if (!x.default_value) x.default_value = y.default_value;
    if (y.differentiable) x.differentiable = y.differentiable;
    x.library_differentiable = x.library_differentiable || y.library_differentiable;
    if (x.type_json.empty()) x.type_json = y.type_json;
    if (!x.shape) x.shape = y.shape;
    if (y.producer >= 0) {
      if (x.producer >= 0) bad(path, "joins the outputs of two models");
      x.producer = y.producer;
    }
    edges_[static_cast<std::size_t>(b)].parent = a;
    return a;
  }

  // Converts a Python connection value to a binding.
  Binding connection(const JValue& v, const std::string& key, const std::string& path, std::map<std::string, int>& ns,
                     const std::map<std::string, std::map<std::string, int>>& siblings, const std::set<std::string>& unnamed) {
    if (v.IsString()) {
      std::string s = v.GetString();
      if (auto c = python_constant(s)) {
        std::string value = *c;
        return [this, value, key, path] {
          int e = new_edge("", key);
          set_value(e, value, false, path);
          return e;
        };
      }
      if (is_python_constant_name(s)) fail(path, "unknown Python Mithril constant '" + s + "'");
      if (s.size() == 1 && s[0] >= '0' && s[0] <= '9')
        fail(path, "a dtype value ('" + s + "') cannot be converted: format 1.0.0 has no dtype-valued keys");
      if (unnamed.count(s)) return [this, key] { return new_edge("", key); };
      return [this, s, key, &ns] { return named(ns, s, key); };
    }
    if (v.IsObject() && v.HasMember("tensor")) {
      std::string value = compact(v["tensor"]);
      if (v["tensor"].IsString()) {
        auto c = python_constant(v["tensor"].GetString());
        if (!c) fail(json::child(path, "tensor"), "unknown constant " + value);
        value = *c;
      }
      return [this, value, key, path] {
        int e = new_edge("", key);
        set_value(e, value, true, path);
        return e;
      };
    }
    if (v.IsObject() && v.HasMember("key")) {
      const JValue& k = v["key"];
      std::string kpath = json::child(path, "key");
      if (!k.IsObject()) bad(kpath, "expected an object, got " + json::describe(k));
      std::optional<int> joined;
      if (auto c = k.FindMember("connect"); c != k.MemberEnd()) {
        if (!c->value.IsArray() || c->value.Empty()) bad(json::child(kpath, "connect"), "expected a list of [submodel, key] pairs");
        for (rapidjson::SizeType i = 0; i < c->value.Size(); ++i) {
          const JValue& pair = c->value[i];
          std::string ppath = json::child(json::child(kpath, "connect"), i);
          if (!pair.IsArray() || pair.Size() != 2 || !pair[0].IsString() || !pair[1].IsString())
            bad(ppath, "expected [submodel id, key name], got " + compact(pair));
          auto sib = siblings.find(pair[0].GetString());
          if (sib == siblings.end())
            bad(ppath, std::string("no earlier submodel '") + pair[0].GetString() + "' to connect to");
          auto ke = sib->second.find(pair[1].GetString());
          if (ke == sib->second.end())
            bad(ppath, std::string("submodel '") + pair[0].GetString() + "' has no key '" + pair[1].GetString() + "'");
          joined = joined ? unite(*joined, ke->second, ppath) : find(ke->second);
        }
      }
      std::optional<std::string> name;
      if (auto n = k.FindMember("name"); n != k.MemberEnd() && !joined) {
        if (!n->value.IsString()) bad(json::child(kpath, "name"), "expected a string, got " + json::describe(n->value));
        name = n->value.GetString();
        if (unnamed.count(*name)) name.reset();
      } else if (auto n2 = k.FindMember("name"); n2 != k.MemberEnd() && joined && n2->value.IsString()) {
        // With connect, Python ignores name except for exposing; keep it as the edge's name.
        if (edge(*joined).name.empty()) edge(*joined).name = n2->value.GetString();
      }
      std::optional<std::string> value;
      bool value_is_tensor = false;
      if (auto val = k.FindMember("value"); val != k.MemberEnd()) {
        const JValue& x = val->value;
        if (x.IsObject() && x.HasMember("tensor")) {
          value = compact(x["tensor"]);
          value_is_tensor = true;
        } else if (x.IsString() && python_constant(x.GetString())) {
          value = python_constant(x.GetString());
        } else {
          value = compact(x);
        }
      }
      std::optional<bool> differentiable;
      if (auto d = k.FindMember("differentiable"); d != k.MemberEnd() && d->value.IsBool()) differentiable = d->value.GetBool();
      std::string type;
      if (auto t = k.FindMember("type"); t != k.MemberEnd()) type = compact(t->value);
      return [=, this, &ns] {
        int e = joined ? *joined : name ? named(ns, *name, key) : new_edge("", key);
        if (value) set_value(e, *value, value_is_tensor, json::child(kpath, "value"));
        if (differentiable) edge(e).differentiable = differentiable;
        if (!type.empty()) {
          edge(e).type_json = type;
          if (!name_of(e).empty()) key_types_[name_of(e)] = type;
        }
        return e;
      };
    }
    if (v.IsObject()) bad(path, "expected a key name, a value, {\"tensor\": ...} or {\"key\": {...}}, got an object");
    std::string value = compact(v);  // a number, bool, list or null: a non-tensor value
    return [this, value, key, path] {
      int e = new_edge("", key);
      set_value(e, value, false, path);
      return e;
    };
  }

  std::string name_of(int e) { return edge(e).name; }

  int named(std::map<std::string, int>& ns, const std::string& name, const std::string& key) {
    auto it = ns.find(name);
    if (it != ns.end()) return find(it->second);
    int e = new_edge(name, key);
    ns[name] = e;
    return e;
  }

  // Expands a model (dict or name) bound by `bindings`; returns its keys -> edges.
  std::map<std::string, int> expand(const JValue& model, const std::string& path, const std::map<std::string, Binding>& bindings,
                                    bool top = false) {
    std::string name;
    const JValue* args = nullptr;
    if (model.IsString()) {
      name = model.GetString();
    } else {
      if (!model.IsObject()) bad(path, "expected a model dict or a model name, got " + json::describe(model));
      if (model.HasMember("is_train_model"))
        fail(path, "a TrainModel dict (losses, regularizations) is not a model: migrate its \"model\" entry");
      auto n = model.FindMember("name");
      if (n == model.MemberEnd() || !n->value.IsString()) bad(path, "a model dict needs a \"name\" string");
      name = n->value.GetString();
      if (auto a = model.FindMember("args"); a != model.MemberEnd()) args = &a->value;
    }
    std::string canonical = *canonical_name(name);  // unknown names were refused up front
    std::map<std::string, int> keys;
    // A bare name has no submodels or connections: only library models can be given that way.
    if (canonical == "Model" && !model.IsObject())
      bad(path, "a composite model must be a dict with \"submodels\" and \"connections\", not the bare name " +
                    json::describe(model));
    if (canonical == "Model") keys = expand_container(model, path, bindings, top);
    else if (canonical == "Layer") keys = expand_layer(args, path, bindings);
    else if (canonical == "MLP") keys = expand_mlp(args, path, bindings);
    else keys = expand_library(canonical, args, path, bindings);
    if (model.IsObject()) apply_assignments(model, path, keys, top);
    return keys;
  }

  std::map<std::string, int> expand_library(const std::string& name, const JValue* args, const std::string& path,
                                            const std::map<std::string, Binding>& bindings) {
    std::optional<LibraryModel> lib = library_model(name, args, path);
    Instance inst;
    inst.model = name;
    inst.path = path;
    inst.keys = lib->keys;
    inst.emit = lib->emit;
    int index = static_cast<int>(instances_.size());
    std::set<std::string> known;
    for (const KeyDef& k : inst.keys) known.insert(k.name);
    known.insert("output");
    for (const auto& [key, binding] : bindings)
      if (!known.count(key)) {
        std::string list;
        for (const KeyDef& k : inst.keys) list += k.name + ", ";
        bad(path, "model '" + name + "' has no key '" + key + "' (keys: " + list + "output)");
      }
    for (const KeyDef& k : inst.keys) {
      auto b = bindings.find(k.name);
      int e = b != bindings.end() ? b->second() : new_edge("", k.name);
      if (k.default_json && !edge(e).default_value) edge(e).default_value = k.default_json;
      if (k.differentiable) edge(e).library_differentiable = true;
      inst.edges[k.name] = find(e);
    }
    auto b = bindings.find("output");
    int out = b != bindings.end() ? b->second() : new_edge("", "output");
    if (edge(out).producer >= 0) bad(path, "its output is connected to a key that another model already writes");
    if (edge(out).value) bad(path, "its output is connected to a key holding a value");
    edge(out).producer = index;
    inst.edges["output"] = find(out);
    instances_.push_back(std::move(inst));
    std::map<std::string, int> keys;
    for (const auto& [k, e] : instances_.back().edges) keys[k] = e;
    return keys;
  }

  std::map<std::string, int> expand_layer(const JValue* args, const std::string& path, const std::map<std::string, Binding>& bindings) {
    const JValue* activation = arg(args, "activation");
    if (!activation) bad(path, "Layer needs args.activation");
    for (const auto& [key, b] : bindings)
      if (key != "weight" && key != "input" && key != "bias" && key != "output")
        bad(path, "model 'Layer' has no key '" + key + "' (keys: weight, input, bias, output)");
    std::map<std::string, Binding> linear;
    for (const char* k : {"weight", "input", "bias"})
      if (auto b = bindings.find(k); b != bindings.end()) linear[k] = b->second;
    int hidden = new_edge("", "output");
    linear["output"] = [hidden] { return hidden; };
    auto keys = expand_library("Linear", nullptr, path, linear);
    std::map<std::string, Binding> act = {{"input", [this, hidden] { return find(hidden); }}};
    if (auto b = bindings.find("output"); b != bindings.end()) act["output"] = b->second;
    auto act_keys = expand(*activation, json::child(json::child(path, "args"), "activation"), act);
    keys["output"] = act_keys.at("output");
    return keys;
  }

  std::map<std::string, int> expand_mlp(const JValue* args, const std::string& path, const std::map<std::string, Binding>& bindings) {
    const JValue* activations = arg(args, "activations");
    const JValue* dimensions = arg(args, "dimensions");
    if (!activations || !activations->IsArray()) bad(path, "MLP needs args.activations (a list)");
    // Without a layer the MLP would have no input and no output to connect.
    if (activations->Empty()) bad(path, "MLP needs at least one layer: args.activations is empty");
    if (dimensions && dimensions->IsArray() && dimensions->Size() != activations->Size())
      bad(path, "MLP: args.activations and args.dimensions differ in length");
    std::string w = "weight", b = "bias";
    if (const JValue* t = arg(args, "input_name_templates"); t && t->IsObject()) {
      if (t->HasMember("weight") && (*t)["weight"].IsString()) w = (*t)["weight"].GetString();
      if (t->HasMember("bias") && (*t)["bias"].IsString()) b = (*t)["bias"].GetString();
    }
    std::set<std::string> known = {"input", "output"};
    for (rapidjson::SizeType i = 0; i < activations->Size(); ++i) {
      known.insert(w + std::to_string(i));
      known.insert(b + std::to_string(i));
    }
    for (const auto& [key, binding] : bindings)
      if (!known.count(key)) bad(path, "model 'MLP' has no key '" + key + "'");
    std::map<std::string, int> keys;
    int previous = -1;
    for (rapidjson::SizeType i = 0; i < activations->Size(); ++i) {
      std::string wi = w + std::to_string(i), bi = b + std::to_string(i);
      std::map<std::string, Binding> layer;
      auto bound = [&](const std::string& key) -> Binding {
        if (auto it = bindings.find(key); it != bindings.end()) return it->second;
        return [this, key] { return new_edge("", key); };
      };
      layer["weight"] = bound(wi);
      if (i == 0) layer["input"] = bound("input");
      else layer["input"] = [this, previous] { return find(previous); };
      layer["bias"] = bound(bi);
      if (i + 1 == activations->Size() && bindings.count("output")) layer["output"] = bindings.at("output");
      std::map<std::string, Binding> layer_bindings = layer;
      std::map<std::string, int> lk;
      {
        // A Layer: Linear then the activation.
        rapidjson::Document args_doc;
        args_doc.SetObject();
        JValue act_copy((*activations)[i], args_doc.GetAllocator());
        args_doc.AddMember("activation", act_copy, args_doc.GetAllocator());
        lk = expand_layer(&args_doc, json::child(json::child(json::child(path, "args"), "activations"), i), layer_bindings);
      }
      keys[wi] = lk.at("weight");
      keys[bi] = lk.at("bias");
      if (i == 0) keys["input"] = lk.at("input");
      previous = lk.at("output");
    }
    if (previous >= 0) keys["output"] = previous;
    return keys;
  }

  std::map<std::string, int> expand_container(const JValue& model, const std::string& path,
                                              const std::map<std::string, Binding>& bindings, bool top) {
    std::map<std::string, int>& ns = namespaces_.emplace_back();
    // The parent's connections name this model's keys: they join the parent's edges.
    for (const auto& [key, binding] : bindings) ns[key] = binding();
    std::set<std::string> unnamed;
    if (auto u = model.FindMember("unnamed_keys"); u != model.MemberEnd() && u->value.IsArray())
      for (const auto& s : u->value.GetArray())
        if (s.IsString()) unnamed.insert(s.GetString());
    auto subs = model.FindMember("submodels");
    auto conns = model.FindMember("connections");
    std::map<std::string, std::map<std::string, int>> siblings;
    if (subs != model.MemberEnd()) {
      if (!subs->value.IsObject()) bad(json::child(path, "submodels"), "expected an object of submodels by id");
      if (conns != model.MemberEnd()) {
        if (!conns->value.IsObject()) bad(json::child(path, "connections"), "expected an object of connections by submodel id");
        for (auto c = conns->value.MemberBegin(); c != conns->value.MemberEnd(); ++c)
          if (!subs->value.HasMember(c->name))
            bad(json::child(json::child(path, "connections"), c->name.GetString()), "no submodel with this id");
      }
      for (auto s = subs->value.MemberBegin(); s != subs->value.MemberEnd(); ++s) {
        std::string id = s->name.GetString();
        std::string spath = json::child(json::child(path, "submodels"), id);
        std::map<std::string, Binding> sub_bindings;
        if (conns != model.MemberEnd() && conns->value.HasMember(s->name)) {
          const JValue& c = conns->value[s->name];
          std::string cpath = json::child(json::child(path, "connections"), id);
          if (!c.IsObject()) bad(cpath, "expected an object of key connections");
          for (auto k = c.MemberBegin(); k != c.MemberEnd(); ++k)
            sub_bindings[k->name.GetString()] =
                connection(k->value, k->name.GetString(), json::child(cpath, k->name.GetString()), ns, siblings, unnamed);
        }
        siblings[id] = expand(s->value, spath, sub_bindings);
      }
    }
    std::map<std::string, int> keys;
    for (const auto& [name, e] : ns) keys[name] = find(e);
    container_siblings_[&model] = siblings;
    if (top) {
      if (auto x = model.FindMember("exposed_keys"); x != model.MemberEnd()) {
        if (!x->value.IsArray()) bad(json::child(path, "exposed_keys"), "expected a list of key names");
        for (rapidjson::SizeType i = 0; i < x->value.Size(); ++i) {
          const JValue& k = x->value[i];
          if (!k.IsString()) bad(json::child(json::child(path, "exposed_keys"), i), "expected a key name");
          auto it = keys.find(k.GetString());
          if (it == keys.end()) bad(json::child(json::child(path, "exposed_keys"), i), std::string("no key named '") + k.GetString() + "'");
          exposed_.emplace_back(k.GetString(), it->second);
        }
      }
    }
    return keys;
  }

  // A keyref of assigned_*: a key name, or [owner, index into owner's external keys].
  int keyref(const JValue& ref, const std::string& path, const std::map<std::string, int>& keys, const JValue& model) {
    if (ref.IsString()) {
      auto it = keys.find(ref.GetString());
      if (it == keys.end()) bad(path, std::string("no key named '") + ref.GetString() + "'");
      return it->second;
    }
    if (ref.IsArray() && ref.Size() == 2 && ref[0].IsString() && ref[1].IsInt64()) {
      std::string owner = ref[0].GetString();
      int64_t index = ref[1].GetInt64();
      if (owner != "self") {
        auto sib = container_siblings_.find(&model);
        if (sib != container_siblings_.end()) {
          auto s = sib->second.find(owner);
          if (s != sib->second.end()) {
            std::vector<int> external = external_keys(s->second);
            if (index >= 0 && index < static_cast<int64_t>(external.size())) return external[static_cast<std::size_t>(index)];
          }
        }
      } else {
        std::vector<int> external = external_keys(keys);
        if (index >= 0 && index < static_cast<int64_t>(external.size())) return external[static_cast<std::size_t>(index)];
      }
      bad(path, "cannot resolve key reference " + compact(ref));
    }
    bad(path, "expected a key name or [owner, index], got " + compact(ref));
  }

  // Inputs (in first-use order) then outputs of a model's key map.
  std::vector<int> external_keys(const std::map<std::string, int>& keys) {
    std::vector<std::pair<int, int>> ins, outs;
    for (const auto& [k, e] : keys) {
      int root = find(e);
      (edge(root).producer >= 0 ? outs : ins).emplace_back(root, root);
    }
    std::sort(ins.begin(), ins.end());
    std::sort(outs.begin(), outs.end());
    std::vector<int> out;
    for (auto& p : ins) out.push_back(p.second);
    for (auto& p : outs) out.push_back(p.second);
    return out;
  }

  void apply_assignments(const JValue& model, const std::string& path, const std::map<std::string, int>& keys, bool top) {
    auto section = [&](const char* name) -> const JValue* {
      auto it = model.FindMember(name);
      if (it == model.MemberEnd()) return nullptr;
      if (!it->value.IsArray()) bad(json::child(path, name), "expected a list");
      if (!it->value.Empty()) metadata_lists_[name].push_back(compact(it->value));
      return &it->value;
    };
    if (const JValue* d = section("assigned_differentiabilities"))
      for (rapidjson::SizeType i = 0; i < d->Size(); ++i) {
        const JValue& item = (*d)[i];
        std::string ipath = json::child(json::child(path, "assigned_differentiabilities"), i);
        if (!item.IsArray() || item.Size() != 2 || !item[1].IsBool()) bad(ipath, "expected [key, true|false]");
        edge(keyref(item[0], ipath, keys, model)).differentiable = item[1].GetBool();
      }
    if (const JValue* t = section("assigned_types"))
      for (rapidjson::SizeType i = 0; i < t->Size(); ++i) {
        const JValue& item = (*t)[i];
        std::string ipath = json::child(json::child(path, "assigned_types"), i);
        if (!item.IsArray() || item.Size() != 2) bad(ipath, "expected [key, type]");
        edge(keyref(item[0], ipath, keys, model)).type_json = compact(item[1]);
      }
    if (const JValue* s = section("assigned_shapes"))
      for (rapidjson::SizeType g = 0; g < s->Size(); ++g) {
        const JValue& group = (*s)[g];
        std::string gpath = json::child(json::child(path, "assigned_shapes"), g);
        if (!group.IsArray()) bad(gpath, "expected a list of [key, shape] pairs");
        for (rapidjson::SizeType i = 0; i < group.Size(); ++i) {
          const JValue& item = group[i];
          std::string ipath = json::child(gpath, i);
          if (!item.IsArray() || item.Size() != 2 || !item[1].IsArray()) bad(ipath, "expected [key, shape]");
          int e = keyref(item[0], ipath, keys, model);
          ValueInfo info;
          bool variadic = false;
          for (const auto& d : item[1].GetArray()) {
            if (d.IsInt64() && d.GetInt64() >= 0) info.shape.push_back(Dim::known(d.GetInt64()));
            else if (d.IsNull()) info.shape.push_back(Dim::any());
            else if (d.IsString()) {
              std::string sym = d.GetString();
              if (sym.find("...") != std::string::npos) variadic = true;
              else {
                // Symbols are shared within one set_shapes group only: a name reused by a later
                // group is another symbol, so it gets the group's number.
                std::string id = identifier(sym);
                auto [it, fresh] = symbol_group_.emplace(id, shape_group_);
                info.shape.push_back(Dim::named(fresh || it->second == shape_group_ ? id : id + "_" + std::to_string(shape_group_)));
              }
            } else bad(ipath, "unsupported shape entry " + compact(d));
          }
          if (!variadic) edge(e).shape = info;  // a variadic ("V,...") shape is kept as metadata only
        }
        ++shape_group_;
      }
    for (const char* name : {"assigned_constraints", "assigned_cins", "assigned_couts"}) section(name);
    (void)top;
    if (auto x = model.FindMember("exposed_keys"); x != model.MemberEnd() && x->value.IsArray() && !x->value.Empty())
      metadata_lists_["exposed_keys"].push_back(compact(x->value));
  }

  static std::string identifier(const std::string& raw) {
    std::string s;
    for (char c : raw) s += std::isalnum(static_cast<unsigned char>(c)) || c == '_' ? c : '_';
    if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) s = "_" + s;
    return s;
  }

  std::string build(const JValue& root) {
    std::map<std::string, Binding> none;
    std::map<std::string, int> keys = expand(root, "", none, true);
    std::string top_name = root.IsString() ? root.GetString() : root["name"].GetString();
    bool container = *canonical_name(top_name) == "Model";
    // A library model at the top: its keys are named by their key names (it is frozen in Python).
    if (!container)
      for (const auto& [k, e] : keys)
        if (edge(e).name.empty()) edge(e).name = k;

    // Resolve each edge's role.
    std::vector<int> roots;
    for (std::size_t i = 0; i < edges_.size(); ++i)
      if (edges_[i].parent < 0) roots.push_back(static_cast<int>(i));
    std::map<int, KeyKind> kind;        // tensor element kind per edge
    std::map<int, bool> used_as_attr, used_as_tensor;
    std::map<int, std::string> first_key;
    std::vector<int> order;  // edges in first-use order (instances in order, keys in Python order)
    for (const Instance& inst : instances_) {
      for (const KeyDef& k : inst.keys) {
        int e = find(inst.edges.at(k.name));
        if (std::find(order.begin(), order.end(), e) == order.end()) order.push_back(e);
        if (k.kind == KeyKind::tensor_list)
          fail(inst.path, "Concat's 'input' is a list of tensors whose length is only known at run time; format 1.0.0 "
                          "has no list-valued inputs (rewrite the model with a fixed number of inputs)");
        if (k.kind == KeyKind::attribute) {
          used_as_attr[e] = true;
          continue;
        }
        used_as_tensor[e] = true;
        KeyKind& kk = kind.try_emplace(e, KeyKind::any).first->second;
        if (k.kind == KeyKind::integer || (k.kind == KeyKind::boolean && kk != KeyKind::integer)) kk = k.kind;
        else if (k.kind == KeyKind::floating && kk == KeyKind::any) kk = KeyKind::floating;
        first_key.try_emplace(e, k.name);
      }
      int out = find(inst.edges.at("output"));
      if (std::find(order.begin(), order.end(), out) == order.end()) order.push_back(out);
    }

    // Final names: Python names (sanitized), then names for unnamed keys.
    std::set<std::string> taken;
    std::map<int, std::string> final_name;
    for (int e : order)
      if (!edge(e).name.empty()) {
        std::string n = unique(identifier(edge(e).name), taken);
        final_name[e] = n;
      }
    auto dtype_of = [&](int e) {
      const Edge& x = edge(e);
      if (!x.type_json.empty()) {
        bool has_float = x.type_json.find("\"float\"") != std::string::npos;
        bool has_int = x.type_json.find("\"int\"") != std::string::npos;
        bool has_bool = x.type_json.find("\"bool\"") != std::string::npos;
        if (!has_float && has_int) return DType::int64;
        if (!has_float && !has_int && has_bool) return DType::bool_;
      }
      auto k = kind.find(e);
      KeyKind kk = k == kind.end() ? KeyKind::any : k->second;
      if (kk == KeyKind::integer) return DType::int64;
      if (kk == KeyKind::boolean) return DType::bool_;
      return DType::float64;
    };

    // Outputs.
    std::vector<std::pair<std::string, int>> outputs;
    if (!container) {
      outputs.emplace_back("output", keys.at("output"));
    } else if (!exposed_.empty()) {
      for (const auto& [name, e] : exposed_)
        if (edge(e).producer >= 0) outputs.emplace_back(name, find(e));
    } else {
      std::set<int> consumed;
      for (const Instance& inst : instances_)
        for (const KeyDef& k : inst.keys) consumed.insert(find(inst.edges.at(k.name)));
      for (const Instance& inst : instances_) {
        int out = find(inst.edges.at("output"));
        if (!consumed.count(out)) outputs.emplace_back(edge(out).name, out);
      }
    }
    if (outputs.empty()) fail("", "the model has no outputs");

    auto model = std::make_shared<Model>(identifier(top_name));
    std::map<int, Value> values;
    std::map<int, std::string> attr_values;
    // Declarations: inputs and parameters, then constants, in first-use order.
    for (int e : order) {
      Edge& x = edge(e);
      if (x.producer >= 0 || x.value || !used_as_tensor[e]) continue;
      if (x.default_value) continue;  // a valued key: a constant below
      std::string name = final_name.count(e) ? final_name[e] : final_name[e] = unique(identifier(first_key[e]), taken);
      ValueInfo info = x.shape ? *x.shape : ValueInfo{DType::float64, {}, false};
      info.dtype = dtype_of(e);
      bool trainable = x.differentiable ? *x.differentiable : x.library_differentiable;
      if (trainable) values[e] = model->parameter(name, info, Initializer::zeros());
      else values[e] = model->input(name, info);
    }
    for (int e : order) {
      Edge& x = edge(e);
      if (x.producer >= 0) continue;
      std::optional<std::string> v = x.value ? x.value : x.default_value;
      if (!v) {
        if (used_as_attr[e])
          fail(x.value_path, "key '" + (x.name.empty() ? first_key[e] : x.name) +
                                 "' is an input without a value, but format 1.0.0 needs a constant for it (an operator attribute)");
        continue;
      }
      attr_values[e] = *v;
      if (!used_as_tensor[e]) continue;
      std::string name = final_name.count(e) ? final_name[e] : final_name[e] = unique(identifier(first_key[e]), taken);
      Tensor t;
      try {
        t = read_json_tensor(*v, source_);
      } catch (const Error& err) {
        bad(x.value_path, std::string("value ") + *v + " is not a tensor: " + err.what());
      }
      DType dt = dtype_of(e);
      if (dt == DType::int64 && t.dtype() == DType::float64) bad(x.value_path, "expected integers, got " + *v);
      values[e] = model->constant(name, t.cast(dt).copy());
    }
    for (const auto& [name, e] : outputs)
      if (!final_name.count(e) && !name.empty()) final_name[e] = unique(identifier(name), taken);

    // Nodes in dependency order (ties: the order Python added them).
    std::vector<int> state(instances_.size(), 0);
    std::map<std::string, int> counters;
    auto auto_name = [&](const std::string& op) {
      for (int& n = counters[op];; ++n) {
        std::string candidate = op + "_" + std::to_string(n);
        if (!taken.count(candidate)) {
          taken.insert(candidate);
          return candidate;
        }
      }
    };
    std::function<void(int, const std::string&)> emit = [&](int i, const std::string& via) {
      if (state[static_cast<std::size_t>(i)] == 2) return;
      const Instance& inst = instances_[static_cast<std::size_t>(i)];
      if (state[static_cast<std::size_t>(i)] == 1) fail(inst.path, "the connections form a cycle (through " + via + ")");
      state[static_cast<std::size_t>(i)] = 1;
      std::map<std::string, Value> in;
      std::map<std::string, std::string> attrs;
      for (const KeyDef& k : inst.keys) {
        int e = find(inst.edges.at(k.name));
        if (edge(e).producer >= 0) emit(edge(e).producer, inst.path);
        if (k.kind == KeyKind::attribute) {
          auto a = attr_values.find(e);
          if (a == attr_values.end())
            fail(inst.path, "key '" + k.name + "' is connected to a computed value, but format 1.0.0 needs a constant for it");
          attrs[k.name] = a->second;
        } else {
          in[k.name] = values.at(e);
        }
      }
      int out = find(inst.edges.at("output"));
      Emit e(*model, inst, in, attrs, final_name.count(out) ? final_name[out] : "", auto_name);
      try {
        inst.emit(e);
      } catch (const Error& err) {
        std::string what = err.what();
        if (what.rfind(inst.path, 0) == 0 && !inst.path.empty()) fail("", what);
        fail(inst.path, inst.model + ": " + what);
      }
      values[out] = *e.output();
      state[static_cast<std::size_t>(i)] = 2;
    };
    for (std::size_t i = 0; i < instances_.size(); ++i) emit(static_cast<int>(i), "");

    std::set<std::string> output_names;
    for (const auto& [name, e] : outputs) {
      std::string n = name.empty() ? final_name.count(e) ? final_name[e] : "output" : identifier(name);
      while (output_names.count(n)) n += "_";
      output_names.insert(n);
      model->output(n, values.at(e));
    }

    model->set_metadata("migrated_from", "python-mithril");
    for (const auto& [name, lists] : metadata_lists_) {
      std::string text = lists.size() == 1 ? lists[0] : "[" + join(lists) + "]";
      model->set_metadata("python_mithril." + name, text);
    }
    if (!key_types_.empty()) {
      std::string text = "{";
      for (const auto& [k, t] : key_types_) {
        rapidjson::Value key(k.c_str(), static_cast<rapidjson::SizeType>(k.size()));
        text += (text.size() > 1 ? "," : "") + compact(key) + ":" + t;
      }
      model->set_metadata("python_mithril.key_types", text + "}");
    }
    return to_dict(*model, "1.0.0");
  }

 private:
  static std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& s : items) out += (out.empty() ? "" : ",") + s;
    return out;
  }
  static std::string unique(const std::string& base, std::set<std::string>& taken) {
    std::string name = base;
    for (int i = 0; taken.count(name); ++i) name = base + "_" + std::to_string(i);
    taken.insert(name);
    return name;
  }

  std::string source_;
  std::vector<Edge> edges_;
  std::vector<Instance> instances_;
  std::deque<std::map<std::string, int>> namespaces_;
  std::map<const JValue*, std::map<std::string, std::map<std::string, int>>> container_siblings_;
  std::vector<std::pair<std::string, int>> exposed_;
  std::map<std::string, std::vector<std::string>> metadata_lists_;
  std::map<std::string, std::string> key_types_;
  int shape_group_ = 0;
  std::map<std::string, int> symbol_group_;
};

// Every model name in the dict (names, Layer activations, MLP activations) with its JSON path.
void collect_names(const JValue& model, const std::string& path, std::vector<std::pair<std::string, std::string>>& out) {
  if (model.IsString()) {
    out.emplace_back(model.GetString(), path);
    return;
  }
  if (!model.IsObject()) return;
  auto n = model.FindMember("name");
  if (n != model.MemberEnd() && n->value.IsString()) out.emplace_back(n->value.GetString(), json::child(path, "name"));
  if (auto s = model.FindMember("submodels"); s != model.MemberEnd() && s->value.IsObject())
    for (auto it = s->value.MemberBegin(); it != s->value.MemberEnd(); ++it)
      collect_names(it->value, json::child(json::child(path, "submodels"), it->name.GetString()), out);
  if (auto a = model.FindMember("args"); a != model.MemberEnd() && a->value.IsObject()) {
    std::string apath = json::child(path, "args");
    if (auto act = a->value.FindMember("activation"); act != a->value.MemberEnd())
      collect_names(act->value, json::child(apath, "activation"), out);
    if (auto acts = a->value.FindMember("activations"); acts != a->value.MemberEnd() && acts->value.IsArray())
      for (rapidjson::SizeType i = 0; i < acts->value.Size(); ++i)
        collect_names(acts->value[i], json::child(json::child(apath, "activations"), i), out);
  }
}

}  // namespace

const std::vector<std::string>& python_mithril_model_names() { return model_names(); }

std::string python_mithril_to_1_0_0(const std::string& json, const std::string& source) {
  rapidjson::Document doc = json::parse(json, source);
  if (!doc.IsObject() && !doc.IsString())
    throw Error(ErrorKind::schema, source + ": expected a Python Mithril model dict, got " + json::describe(doc));
  if (doc.IsObject() && doc.HasMember("version"))
    throw Error(ErrorKind::schema, source + ": has a \"version\": not an unversioned Python Mithril dict");
  json::check_no_duplicate_keys(doc, source);
  if (doc.IsObject() && doc.HasMember("is_train_model"))
    throw Error(ErrorKind::unsupported, source + ": (top level): a TrainModel dict (losses, regularizations) is not a "
                                                 "model: migrate its \"model\" entry");
  std::vector<std::pair<std::string, std::string>> names;
  collect_names(doc, "", names);
  if (doc.IsObject() && !doc.HasMember("name"))
    throw Error(ErrorKind::schema, source + ": (top level): a Python Mithril model dict needs a \"name\"");
  std::vector<std::string> unknown;
  for (const auto& [name, path] : names)
    if (!canonical_name(name)) unknown.push_back(fmt::format("'{}' at {}", name, path));
  if (!unknown.empty())
    throw Error(ErrorKind::unsupported,
                fmt::format("{}: unknown Python Mithril model name{}: {} (the {} names the python-mithril step knows "
                            "are listed in schemas/VERSIONING.md)",
                            source, unknown.size() > 1 ? "s" : "", fmt::join(unknown, ", "), model_names().size()));
  Flattener flattener(source);
  return flattener.build(doc);
}

}  // namespace mithril::versioning
