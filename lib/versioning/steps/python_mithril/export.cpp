// Step down: format 1.0.0 -> Python Mithril's model dict, the dict its `dict_to_model` reads.
//
// The model is flattened (submodels walked into their operator nodes) and written as one Python
// "Model" container: each operator node becomes a Python primitive model "m_<i>" (add -> Add,
// matmul -> MatrixMultiply, conv2d -> PrimitiveConvolution2D, ...) with its attributes as
// constructor args (lists Python must read as tuples listed in "tuples"). Inputs, parameters and
// constants are named keys under their own names, so a parameter file applies unchanged;
// parameters are marked differentiable (Python's compile then treats them as trainable), every
// declared key gets its tensor type and, when known, its shape. Intermediate values are joined
// with {"key": {"connect": [[id, "output"]]}} as Python's own writer does; outputs are named and
// exposed. A concat over a list input (format 1.2.0) becomes Concat with that key. Whatever
// Python Mithril cannot express, or its numpy backend computes differently
// (dotted names, unequal conv strides, groups, dilation, padded max pooling, casts...),
// is refused with every blocking node or value named (throw_blockers).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include "core/error.h"
#include "graph/walk.h"
#include "io/json_tensors.h"
#include "io/json_util.h"
#include "io/model_json.h"
#include "versioning/format_history.h"
#include "versioning/steps/steps.h"

namespace mithril::versioning {
namespace {

using JValue = rapidjson::Value;
constexpr double kDefaultThreshold = 2.2250738585072014e-308;  // Constant.MIN_POSITIVE_NORMAL
constexpr double kEpsilon = 2.220446049250313e-16;             // Constant.EPSILON

// One operator as a Python model: its name, the Python key of each operator input, its
// constructor args, and the args whose JSON lists must become tuples.
struct Translation {
  std::string model;
  std::vector<std::string> keys;
  std::vector<std::pair<std::string, AttrValue>> args;
  std::vector<std::string> tuples;
  /// For a last key "threshold": the value Python's model fixes for it.
  double threshold = kDefaultThreshold;
  /// Keys given a value in the connections (compact JSON) rather than as constructor args: a
  /// Dtype, which Python's constructors take only as its enum but its reader takes as "4".
  std::vector<std::pair<std::string, std::string>> connection_values = {};
};

bool is_identifier(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

bool all_equal(const std::vector<int64_t>& v, int64_t x) {
  for (int64_t e : v)
    if (e != x) return false;
  return true;
}

// The two axes an einsum equation of one input swaps ("abc...->cba...", "...ab->...ba"), as
// axis numbers from the front or (negative) from the back; nullopt for any other equation.
std::optional<std::pair<int64_t, int64_t>> swapped_axes(const std::string& equation) {
  auto arrow = equation.find("->");
  if (arrow == std::string::npos) return std::nullopt;
  std::string in = equation.substr(0, arrow), out = equation.substr(arrow + 2);
  bool back = in.rfind("...", 0) == 0 && out.rfind("...", 0) == 0;
  bool front = in.size() > 3 && in.compare(in.size() - 3, 3, "...") == 0 && out.size() > 3 && out.compare(out.size() - 3, 3, "...") == 0;
  if (back == front) return std::nullopt;
  in = back ? in.substr(3) : in.substr(0, in.size() - 3);
  out = back ? out.substr(3) : out.substr(0, out.size() - 3);
  if (in.size() != out.size() || in.empty()) return std::nullopt;
  std::vector<std::size_t> differ;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (!std::islower(static_cast<unsigned char>(in[i])) || in.find(in[i]) != i) return std::nullopt;  // distinct letters
    if (in[i] != out[i]) differ.push_back(i);
  }
  if (differ.size() != 2 || in[differ[0]] != out[differ[1]] || in[differ[1]] != out[differ[0]]) return std::nullopt;
  auto axis = [&](std::size_t i) { return back ? static_cast<int64_t>(i) - static_cast<int64_t>(in.size()) : static_cast<int64_t>(i); };
  return std::make_pair(axis(differ[0]), axis(differ[1]));
}

// The Python model for one node, or nullopt with `why` saying what blocks it.
// `data_is_parameter`: the first input is a parameter (for gather).
// Python's Indexer with the constant index `index_json` (an integer, or a list of them) given in
// its connection, as Python's own dicts give it.
Translation constant_indexer(const std::string& index_json) {
  Translation t{"Indexer", {"input"}, {}, {}};
  t.connection_values.emplace_back("index", index_json);
  return t;
}

// Python's Cast to our dtype `name`: its Dtype, an IntEnum, goes in the connection as its number.
std::optional<Translation> python_cast(const std::string& name) {
  static const std::vector<std::string> dtypes = {"uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64", "bool"};
  auto it = std::find(dtypes.begin(), dtypes.end(), name);
  if (it == dtypes.end()) return std::nullopt;
  Translation t{"Cast", {"input"}, {}, {}};
  t.connection_values.emplace_back("dtype", "\"" + std::to_string(it - dtypes.begin()) + "\"");
  return t;
}

std::optional<Translation> translate(const Step& step, const std::vector<ValueInfo>& in, const ValueInfo& out,
                                     bool data_is_parameter, std::string& why) {
  const std::string& op = step.op->name;
  const Attributes& a = step.attributes;
  if (!step.op->domain.empty()) {
    why = "operator '" + step.op->qualified_name() + "' is not a built-in";
    return std::nullopt;
  }
  static const std::map<std::string, std::string> unary = {
      {"relu", "Relu"}, {"sigmoid", "Sigmoid"}, {"tanh", "Tanh"}, {"softplus", "Softplus"}, {"identity", "Buffer"},
      {"negate", "Negate"}, {"abs", "Absolute"}, {"exp", "Exponential"}, {"log", "Log"}, {"sqrt", "Sqrt"},
      {"sin", "Sine"}, {"cos", "Cosine"}, {"sign", "Sign"}, {"floor", "Floor"}, {"logical_not", "LogicalNot"},
      {"isnan", "IsNan"}};
  static const std::map<std::string, std::string> binary = {
      {"add", "Add"}, {"subtract", "Subtract"}, {"multiply", "Multiply"}, {"maximum", "Maximum"},
      {"minimum", "Minimum"}, {"matmul", "MatrixMultiply"}, {"greater", "Greater"}, {"greater_equal", "GreaterEqual"},
      {"less", "Less"}, {"less_equal", "LessEqual"}, {"equal", "Equal"}, {"logical_and", "LogicalAnd"},
      {"logical_or", "LogicalOr"}, {"logical_xor", "LogicalXOr"}};
  if (auto u = unary.find(op); u != unary.end()) return Translation{u->second, {"input"}, {}, {}};
  if (auto b = binary.find(op); b != binary.end()) return Translation{b->second, {"left", "right"}, {}, {}};
  if (op == "divide") return Translation{"Divide", {"numerator", "denominator"}, {}, {}};
  if (op == "polynomial_features") return Translation{"PolynomialFeatures", {"input"}, {{"degree", a.at("degree")}}, {}};
  if (op == "cartesian_difference") return Translation{"CartesianDifference", {"left", "right"}, {}, {}};
  if (op == "floor_divide") return Translation{"FloorDivide", {"numerator", "denominator"}, {}, {}};
  if (op == "shift_left") return Translation{"ShiftLeft", {"input", "shift"}, {}, {}};
  if (op == "shift_right") return Translation{"ShiftRight", {"input", "shift"}, {}, {}};
  if (op == "stable_reciprocal")
    return Translation{"StableReciprocal", {"input", "threshold"}, {}, {}, 1.4916681462400413e-153};  // its fixed threshold
  if (op == "power") return Translation{"Power", {"base", "exponent"}, {}, {}};
  if (op == "robust_power") return Translation{"Power", {"base", "exponent", "threshold"}, {{"robust", true}}, {}};
  if (op == "robust_sqrt") return Translation{"Sqrt", {"input", "threshold"}, {{"robust", true}}, {}};
  if (op == "robust_log") return Translation{"Log", {"input", "threshold"}, {{"robust", true}}, {}};
  if (op == "leaky_relu") return Translation{"LeakyRelu", {"input"}, {{"slope", a.at("slope")}}, {}};
  if (op == "gelu") return Translation{"Gelu", {"input"}, {{"approximate", a.at("approximate")}}, {}};
  if (op == "softmax") return Translation{"Softmax", {"input"}, {{"axis", a.at("axis")}}, {}};
  if (op == "where") return Translation{"Where", {"cond", "input1", "input2"}, {}, {}};
  if (op == "gather") {
    if (auto axis = a.find("axis"); axis != a.end() && attr_str(axis->second) != "0") {
      why = "gather along axis " + attr_str(axis->second) + " (Python Mithril indexes axis 0 only)";
      return std::nullopt;
    }
    // Same numbers, different shape rules in Python: Embedding is weight[input] for a 2-D float
    // table and any indices; PermuteTensor is input[indices] for 1-D indices as long as input's
    // first axis. A table of unknown rank is taken for an Embedding when it is a parameter.
    bool table = in[0].rank_known ? in[0].shape.size() == 2 : data_is_parameter;
    if (table && is_floating(in[0].dtype)) return Translation{"Embedding", {"weight", "input"}, {}, {}};
    if (in[1].rank_known && in[1].shape.size() != 1) {
      why = "gather with indices of rank " + std::to_string(in[1].shape.size()) +
            " from a table that is not 2-D (Python has Embedding for 2-D tables, PermuteTensor for 1-D indices)";
      return std::nullopt;
    }
    return Translation{"PermuteTensor", {"input", "indices"}, {}, {}};
  }
  if (op == "cast") {
    std::optional<Translation> t = python_cast(attr_string(a, "dtype"));
    if (!t) why = "cast to " + attr_string(a, "dtype") + " (Python Mithril has no such Dtype)";
    return t;
  }
  if (op == "group_norm") {
    // Python's GroupNorm without its scale and bias; it declares a 4-D input [B, C, H, W].
    if (in[0].rank_known && in[0].shape.size() != 4) {
      why = "group_norm of a " + std::to_string(in[0].shape.size()) + "-D input (Python's GroupNorm takes [B, C, H, W])";
      return std::nullopt;
    }
    return Translation{"GroupNorm", {"input"},
                       {{"num_groups", a.at("num_groups")}, {"use_scale", false}, {"use_bias", false}, {"eps", a.at("epsilon")}}, {}};
  }
  if (op == "squeeze") {
    if (!std::holds_alternative<std::monostate>(a.at("axes"))) {
      why = "squeeze of given axes (Python's Squeeze drops every axis of size 1)";
      return std::nullopt;
    }
    return Translation{"Squeeze", {"input"}, {}, {}};
  }
  if (op == "scaled_dot_product_attention")
    return Translation{"ScaledDotProduct", {"query", "key", "value"}, {{"is_causal", a.at("is_causal")}, {"scale", a.at("scale")}}, {}};
  if (op == "tsne_p_joint")
    return Translation{"TsnePJoint", {"squared_distances", "target_perplexity", "threshold"}, {}, {}, kEpsilon};
  // The GPR family: our cholesky's NaN-only matrix is Python's None, which its models test for.
  if (op == "cholesky") return Translation{"Cholesky", {"input"}, {}, {}};
  if (op == "gpr_alpha") return Translation{"GPRAlpha", {"label_mu_diff", "L", "K_term"}, {}, {}};
  if (op == "gpr_v_outer") return Translation{"GPRVOuter", {"K", "K_term", "L"}, {}, {}};
  if (op == "gpr_eigvalsh") return Translation{"Eigvalsh", {"K_term", "L", "threshold"}, {}, {}, kEpsilon};
  // Python's Size gives an int, which its arithmetic takes as numpy takes a number of our dtype.

  if (op == "clip") {
    // Python's Clamp takes both bounds; numpy's clip of a bound that is missing is no bound.
    if (std::holds_alternative<std::monostate>(a.at("min")) || std::holds_alternative<std::monostate>(a.at("max"))) {
      why = "clip with a missing bound (Python's Clamp takes both min_val and max_val)";
      return std::nullopt;
    }
    return Translation{"Clamp", {"input"}, {{"min_val", a.at("min")}, {"max_val", a.at("max")}}, {}};
  }
  if (op == "argmax" || op == "argmin") {
    if (attr_bool(a, "select_last_index")) {
      why = "select_last_index (numpy's argmax and argmin take the first)";
      return std::nullopt;
    }
    return Translation{op == "argmax" ? "ArgMax" : "ArgMin", {"input"}, {{"axis", a.at("axis")}, {"keepdim", a.at("keepdims")}}, {}};
  }
  if (op == "expand") {
    // numpy.broadcast_to gives exactly `shape`; expand broadcasts both ways, the same only when
    // the result has that shape.
    // the result has that shape (otherwise numpy refuses: it never computes something else).
    std::vector<int64_t> shape = attr_ints(a, "shape");
    bool differs = out.rank_known && out.shape.size() != shape.size();
    for (std::size_t i = 0; out.rank_known && !differs && i < shape.size(); ++i)
      differs = out.shape[i].is_known() && out.shape[i].size != shape[i];
    if (differs) {
      why = "expand to a shape other than its shape attribute " + attr_str(a.at("shape")) +
            " (Python's BroadcastTo gives exactly that shape)";
      return std::nullopt;
    }
    return Translation{"BroadcastTo", {"input"}, {{"shape", a.at("shape")}}, {"shape"}};
  }
  if (op == "pad") {
    std::vector<int64_t> pads = attr_ints(a, "pads");
    if (attr_string(a, "mode") != "constant" || attr_number(a, "value") != 0.0 || !std::all_of(pads.begin(), pads.end(), [](int64_t p) { return p >= 0; })) {
      why = "pad other than with zeros and non-negative widths (Python's Pad is numpy.pad with zeros)";
      return std::nullopt;
    }
    // [before..., after...] -> ((before, after), ...): nested below.
    std::vector<int64_t> pairs;
    for (std::size_t i = 0; i < pads.size() / 2; ++i) {
      pairs.push_back(pads[i]);
      pairs.push_back(pads[i + pads.size() / 2]);
    }
    return Translation{"Pad", {"input"}, {{"pad_width", pairs}}, {"pad_width"}};
  }
  if (op == "einsum" && in.size() == 1) {
    // A swap of two axes (as SwapAxes migrates) is Python's SwapAxes.
    if (auto axes = swapped_axes(attr_string(a, "equation"))) {
      return Translation{"SwapAxes", {"input"}, {{"axis1", axes->first}, {"axis2", axes->second}}, {}};
    }
  }
  if (op == "transpose") return Translation{"Transpose", {"input"}, {{"axes", a.at("axes")}}, {}};
  // Python's Reshape takes no empty shape; a reshape to 0-d takes a value's one element: Item.
  if (op == "reshape" && attr_ints(a, "shape").empty()) return Translation{"Item", {"input"}, {}, {}};
  if (op == "reshape") return Translation{"Reshape", {"input"}, {{"shape", a.at("shape")}}, {"shape"}};
  // flatten(0, 0) is numpy.atleast_1d (as AtLeast1D migrates); Python's Flatten refuses 0-d input.
  if (op == "flatten" && attr_int(a, "start_dim") == 0 && attr_int(a, "end_dim") == 0) return Translation{"AtLeast1D", {"input"}, {}, {}};
  if (op == "flatten")
    return Translation{"Flatten", {"input"}, {{"start_dim", a.at("start_dim")}, {"end_dim", a.at("end_dim")}}, {}};
  if (op == "sum" || op == "mean" || op == "max" || op == "min" || op == "prod" || op == "variance") {
    std::string name = op == "variance" ? "Variance" : std::string(1, static_cast<char>(std::toupper(op[0]))) + op.substr(1);
    Translation t{name, {"input"}, {}, {}};
    AttrValue axes = a.at("axes");
    // Python takes one axis as an int and several as a tuple.
    if (auto* list = std::get_if<std::vector<int64_t>>(&axes); list && list->size() == 1) {
      int64_t axis = (*list)[0];
      axes = axis;
    } else if (list) {
      t.tuples.push_back("axis");
    }
    t.args = {{"axis", axes}, {"keepdim", a.at("keepdims")}};
    if (op == "variance") t.args.emplace_back("correction", a.at("correction"));
    return t;
  }
  if (op == "cross_entropy" || op == "binary_cross_entropy") {
    if (attr_number(a, "threshold") != kDefaultThreshold) {
      why = fmt::format("threshold {} (Python Mithril's dict sets only its default, Constant.MIN_POSITIVE_NORMAL)",
                        attr_number(a, "threshold"));
      return std::nullopt;
    }
    Translation t{op == "cross_entropy" ? "CrossEntropy" : "BinaryCrossEntropy", {"input", "target"}, {}, {}};
    t.args = {{"input_type", a.at("input_type")}, {"robust", a.at("robust")}};
    if (op == "cross_entropy") {
      t.args.emplace_back("categorical", a.at("categorical"));
      if (attr_bool(a, "auto_weights")) t.args.emplace_back("weights", std::string("auto"));
      else if (auto* w = std::get_if<std::vector<double>>(&a.at("weights")); w && !w->empty()) t.args.emplace_back("weights", *w);
    } else {
      if (attr_bool(a, "auto_pos_weight")) t.args.emplace_back("pos_weight", std::string("auto"));
      else t.args.emplace_back("pos_weight", a.at("pos_weight"));
    }
    return t;
  }
  if (op == "conv1d" || op == "conv2d" || op == "max_pool1d" || op == "max_pool2d" || op == "avg_pool2d") {
    bool conv = op[0] == 'c', two = op.back() == 'd' && op[op.size() - 2] == '2', average = op[0] == 'a';
    std::vector<int64_t> stride = attr_ints(a, "stride"), padding = attr_ints(a, "padding"),
                         dilation = attr_ints(a, "dilation");
    // Python's numpy backend steps both axes by stride[0], and knows no dilation or groups.
    if (!all_equal(stride, stride[0])) why = fmt::format("stride {} (Python's numpy backend uses stride[0] on both axes)", attr_str(a.at("stride")));
    else if (!all_equal(dilation, 1)) why = fmt::format("dilation {} (Python's numpy backend has none)", attr_str(a.at("dilation")));
    else if (conv && attr_int(a, "groups") != 1) why = fmt::format("groups {} (Python's numpy backend has none)", attr_int(a, "groups"));
    else if (!conv && (attr_bool(a, "ceil_mode") || (!average && attr_bool(a, "pad_with_neg_inf"))))
      why = "ceil_mode or pad_with_neg_inf (Python's numpy backend has neither)";
    else if (!conv && !average && two && !all_equal(padding, 0))
      why = fmt::format("padding {} (Python's numpy backend pads max pooling with 0, not -inf)", attr_str(a.at("padding")));
    else if (average && !attr_bool(a, "count_include_pad") && !all_equal(padding, 0))
      why = fmt::format("padding {} without count_include_pad (Python's numpy backend averages over the zero-padded window)",
                        attr_str(a.at("padding")));
    if (!why.empty()) return std::nullopt;
    Translation t{std::string(conv ? "PrimitiveConvolution" : average ? "PrimitiveAvgPool" : "PrimitiveMaxPool") + (two ? "2D" : "1D"),
                  {"input"}, {}, {}};
    if (conv) {
      t.keys.push_back("weight");
      t.args.emplace_back("use_bias", false);
    } else {
      std::vector<int64_t> k = attr_ints(a, "kernel_size");
      if (two) t.tuples.push_back("kernel_size");
      t.args.emplace_back("kernel_size", two ? AttrValue{k} : AttrValue{k[0]});
    }
    t.args.emplace_back("stride", two ? AttrValue{stride} : AttrValue{stride[0]});
    t.args.emplace_back("padding", padding);  // [before, after] per axis: nested below for 2-D
    t.args.emplace_back("dilation", two ? AttrValue{dilation} : AttrValue{dilation[0]});
    if (conv && two) t.args.emplace_back("groups", int64_t{1});
    for (const char* k : {"stride", "padding", "dilation"})
      if (two || std::string(k) == "padding") t.tuples.push_back(k);
    return t;
  }
  why = "operator '" + op + "' has no Python Mithril model this export writes";
  return std::nullopt;
}

class Exporter {
 public:
  Exporter(const Model& model, std::string source, std::string from)
      : model_(model), source_(std::move(source)), from_(std::move(from)) {
    doc_.SetObject();
  }

  std::string run() {
    collect();
    throw_blockers(source_, from_, kPythonMithrilVersion, blockers_);
    write();
    rapidjson::StringBuffer buffer;
    rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buffer);
    w.SetIndent(' ', 1);
    w.SetFormatOptions(rapidjson::kFormatSingleLineArray);
    doc_.Accept(w);
    return std::string(buffer.GetString()) + "\n";
  }

 private:
  struct Node {
    std::string path;
    Translation py;
    std::vector<std::string> inputs;  // flat value paths, one per Python key
  };

  auto& alloc() { return doc_.GetAllocator(); }
  JValue str(const std::string& s) { return JValue(s.c_str(), static_cast<rapidjson::SizeType>(s.size()), alloc()); }
  void block(const std::string& path, const std::string& what) { blockers_.push_back({path, what}); }

  static const char* type_name(DType d) {
    if (d == DType::bool_) return "bool";
    if (is_floating(d)) return "float";
    if (is_complex(d)) return nullptr;
    return "int";
  }

  // Walks the model: every input, parameter, constant and node with its flat path.
  void collect() {
    std::map<std::string, FlatValue> inputs;
    for (const InputDecl& in : model_.inputs()) {
      inputs[in.name] = FlatValue{in.name, in.info};
      infos_[in.name] = in.info;
      declared_.push_back({in.name, in.info, false, in.list});
      if (in.list) list_inputs_.insert(in.name);
      check_name("inputs." + in.name, in.name, in.info.dtype);
    }
    WalkCallbacks cb;
    cb.on_parameter = [&](const std::string& path, const ParameterDecl&, const ValueInfo& info) {
      declared_.push_back({path, info, true, false});
      infos_[path] = info;
      check_name("parameter " + path, path, info.dtype);
    };
    cb.on_constant = [&](const std::string& path, const ConstantDecl& decl, const ValueInfo&) {
      constants_[path] = decl.value;
      infos_[path] = ValueInfo{decl.value.dtype(), to_sym_shape(decl.value.shape())};
      check_name("constant " + path, path, decl.value.dtype());
      if (is_floating(decl.value.dtype()))
        for (int64_t i = 0; i < decl.value.numel(); ++i)
          if (!std::isfinite(decl.value.value_at(i))) {
            block("constant " + path, "a NaN or infinite value (JSON has none)");
            break;
          }
    };
    cb.on_node = [&](const std::string& path, const Step& step, const std::vector<std::string>& input_paths, const ValueInfo& info) {
      infos_[path] = info;
      std::vector<ValueInfo> in;
      for (const std::string& p : input_paths) in.push_back(infos_.at(p));
      std::string why;
      bool parameter = false;
      for (const Declared& d : declared_) parameter = parameter || (d.parameter && d.name == input_paths.at(0));
      std::optional<Translation> t;
      if (step.op->domain.empty() && step.op->name == "concat") {
        // Python's Concat takes one key holding a list: a list input. For a list of connections
        // Python's model_to_dict writes a ToList, which its own dict_to_model cannot read back
        // (a ToList is not a Model there), so a concat of several values is refused.
        if (step.inputs.size() == 1 && list_inputs_.count(step.inputs[0]))
          t = Translation{"Concat", {"input"}, {{"axis", step.attributes.at("axis")}}, {}};
        else
          why = "concat of several values (Python Mithril's dict_to_model cannot read the ToList of connections its "
                "Concat would need; a Concat over one list input can be written)";
      } else if (step.op->domain.empty() && step.op->name == "eye_of_dim") {
        // Python's Eye(N=Size(dim=axis)(input)): a Size model first, its output Eye's N.
        if (attr_string(step.attributes, "dtype") != "float64") {
          block("node " + path, "eye_of_dim of dtype " + attr_string(step.attributes, "dtype") + " (Python's Eye gives float64 here)");
          return;
        }
        nodes_.push_back({path + "#size", Translation{"Size", {"input"}, {{"dim", step.attributes.at("axis")}}, {}}, {input_paths.at(0)}});
        nodes_.push_back({path, Translation{"Eye", {"N"}, {}, {}}, {path + "#size"}});
        return;
      } else if (step.op->domain.empty() && step.op->name == "slice_at_dim") {
        // Python's RNN cells: Indexer(input, Slice(stop=Shape(like)[like_axis])) for input[:n], or
        // Slice(start=...) for input[n:]. Its Indexer cuts axis 0 with a slice.
        const ValueInfo& x = infos_.at(input_paths.at(0));
        int64_t axis = attr_int(step.attributes, "axis");
        if (axis != 0 && !(x.rank_known && axis == -static_cast<int64_t>(x.shape.size()))) {
          block("node " + path, "slice_at_dim along an axis other than 0 (Python's Indexer slices the first axis)");
          return;
        }
        bool before = attr_string(step.attributes, "keep") == "before";
        nodes_.push_back({path + "#shape", Translation{"Shape", {"input"}, {}, {}}, {input_paths.at(1)}});
        nodes_.push_back({path + "#size", constant_indexer(std::to_string(attr_int(step.attributes, "like_axis"))), {path + "#shape"}});
        nodes_.push_back({path + "#slice", Translation{"Slice", {before ? "stop" : "start"}, {{before ? "start" : "stop", AttrValue{}}, {"step", AttrValue{}}}, {}},
                          {path + "#size"}});
        nodes_.push_back({path, Translation{"Indexer", {"input", "index"}, {}, {}}, {input_paths.at(0), path + "#slice"}});
        return;
      } else if (step.op->domain.empty() && step.op->name == "split_section") {
        // Python's Split gives the list of sections; its Indexer picks one.
        nodes_.push_back({path + "#split", Translation{"Split", {"input"}, {{"split_size", step.attributes.at("sections")},
                                                                          {"axis", step.attributes.at("axis")}}, {}},
                          {input_paths.at(0)}});
        nodes_.push_back({path, constant_indexer(std::to_string(attr_int(step.attributes, "index"))), {path + "#split"}});
        return;
      } else if (step.op->domain.empty() && step.op->name == "dim_size") {
        // Python's Size gives an int: ToTensor makes it the int64 array numpy makes of it, Cast
        // the dtype ours has.
        std::optional<Translation> cast = python_cast(attr_string(step.attributes, "dtype"));
        if (!cast) {
          block("node " + path, "dim_size of dtype " + attr_string(step.attributes, "dtype") + " (Python Mithril has no such Dtype)");
          return;
        }
        bool int64 = attr_string(step.attributes, "dtype") == "int64";
        nodes_.push_back({path + "#size", Translation{"Size", {"input"}, {{"dim", step.attributes.at("axis")}}, {}}, {input_paths.at(0)}});
        nodes_.push_back({int64 ? path : path + "#tensor", Translation{"ToTensor", {"input"}, {}, {}}, {path + "#size"}});
        if (!int64) nodes_.push_back({path, *cast, {path + "#tensor"}});
        return;
      } else if (auto index = constant_index(step, input_paths)) {
        // input[i] (or input[[i, j]]) with constant integers: Python's Indexer.
        t = constant_indexer(*index);
      } else {
        t = translate(step, in, info, parameter, why);
      }
      // A robust model's threshold key already holds its constant in Python: it
      // stays unconnected when ours is that value, and cannot be another one.
      if (t && t->keys.back() == "threshold") {
        auto c = constants_.find(input_paths.back());
        if (c == constants_.end() || c->second.numel() != 1 || c->second.value_at(0) != t->threshold) {
          block("node " + path, fmt::format("a threshold other than the {} Python Mithril's model fixes", t->threshold));
          return;
        }
        t->keys.pop_back();
      }
      std::size_t keys = t ? t->keys.size() : 0;
      std::vector<std::string> wired(input_paths.begin(), input_paths.begin() + static_cast<std::ptrdiff_t>(keys));
      if (!t) {
        block("node " + path, why);
        return;
      }
      nodes_.push_back({path, *t, wired});
    };
    try {
      outputs_ = walk_model(model_, "", inputs, cb);
    } catch (const Error& e) {
      throw e.with_context(source_);
    }
    for (const OutputDecl& out : model_.outputs())
      if (!is_identifier(out.name)) block("outputs." + out.name, "not a Python identifier: Python Mithril generates code from key names");
  }

  // A gather along axis 0 of constant integer indices, 0-d or 1-D: them as JSON (an integer or a
  // list, as Python's own dicts write an Indexer's index: its reader takes a list as numpy's
  // input[[i, j]], rows picked).
  std::optional<std::string> constant_index(const Step& step, const std::vector<std::string>& input_paths) const {
    if (!step.op->domain.empty() || step.op->name != "gather" || input_paths.size() != 2) return std::nullopt;
    if (auto axis = step.attributes.find("axis"); axis != step.attributes.end() && attr_str(axis->second) != "0") return std::nullopt;
    auto c = constants_.find(input_paths[1]);
    if (c == constants_.end() || c->second.shape().size() > 1 || is_floating(c->second.dtype()) || c->second.dtype() == DType::bool_)
      return std::nullopt;
    if (c->second.shape().empty()) return fmt::format("{}", static_cast<int64_t>(c->second.value_at(0)));
    std::vector<int64_t> index;
    for (int64_t i = 0; i < c->second.numel(); ++i) index.push_back(static_cast<int64_t>(c->second.value_at(i)));
    if (index.empty()) return std::nullopt;
    return fmt::format("[{}]", fmt::join(index, ", "));
  }

  void check_name(const std::string& where, const std::string& name, DType dtype) {
    if (!is_identifier(name))
      block(where, "not a Python identifier: Python Mithril generates code from key names (a submodel's values have dotted ones)");
    if (!type_name(dtype)) block(where, std::string("dtype ") + std::string(dtype_name(dtype)) + " (Python Mithril has no complex tensors)");
  }

  JValue attr_json(const AttrValue& v, bool nested_pairs) {
    JValue out;
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, std::monostate>) out.SetNull();
          else if constexpr (std::is_same_v<T, bool>) out.SetBool(x);
          else if constexpr (std::is_same_v<T, int64_t>) out.SetInt64(x);
          else if constexpr (std::is_same_v<T, double>) out.SetDouble(x);
          else if constexpr (std::is_same_v<T, std::string>) out = str(x);
          else {
            out.SetArray();
            if (nested_pairs) {  // [a, b, c, d] -> [[a, b], [c, d]]
              for (std::size_t i = 0; i + 1 < x.size(); i += 2) {
                JValue pair(rapidjson::kArrayType);
                pair.PushBack(JValue(x[i]), alloc()).PushBack(JValue(x[i + 1]), alloc());
                out.PushBack(pair, alloc());
              }
            } else {
              for (const auto& e : x) out.PushBack(JValue(e), alloc());
            }
          }
        },
        v);
    return out;
  }

  JValue tensor_json(const Tensor& t) {
    rapidjson::Document parsed = json::parse(write_json_tensor(t), source_);
    return JValue(parsed, alloc());
  }

  JValue named_key(const std::string& name, const JValue* value = nullptr) {
    JValue key(rapidjson::kObjectType);
    key.AddMember("name", str(name), alloc());
    if (value) {
      JValue wrapped(rapidjson::kObjectType);
      wrapped.AddMember("tensor", JValue(*value, alloc()), alloc());
      key.AddMember("value", wrapped, alloc());
    }
    JValue c(rapidjson::kObjectType);
    c.AddMember("key", key, alloc());
    return c;
  }

  JValue connect_key(const std::string& id) {
    JValue pair(rapidjson::kArrayType);
    pair.PushBack(str(id), alloc()).PushBack(str("output"), alloc());
    JValue list(rapidjson::kArrayType);
    list.PushBack(pair, alloc());
    JValue key(rapidjson::kObjectType);
    key.AddMember("connect", list, alloc());
    JValue c(rapidjson::kObjectType);
    c.AddMember("key", key, alloc());
    return c;
  }

  void write() {
    // An output that is not a node's own value (an input, a parameter, a constant, or a node
    // already named by another output) is copied through a Buffer.
    std::map<std::string, std::string> producer;  // flat path -> submodel id
    for (std::size_t i = 0; i < nodes_.size(); ++i) producer[nodes_[i].path] = "m_" + std::to_string(i);
    std::map<std::string, std::string> output_of;  // node path -> output name
    for (const OutputDecl& out : model_.outputs()) {
      const std::string& path = outputs_.at(out.name).path;
      if (producer.count(path) && !output_of.count(path)) {
        output_of[path] = out.name;
      } else {
        Translation buffer{"Buffer", {"input"}, {}, {}};
        std::string node_path = "(output " + out.name + ")";
        producer[node_path] = "m_" + std::to_string(nodes_.size());
        nodes_.push_back({node_path, buffer, {path}});
        output_of[node_path] = out.name;
      }
    }
    JValue submodels(rapidjson::kObjectType), connections(rapidjson::kObjectType);
    std::set<std::string> constants_written;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      const Node& n = nodes_[i];
      std::string id = "m_" + std::to_string(i);
      JValue sub(rapidjson::kObjectType);
      sub.AddMember("name", str(n.py.model), alloc());
      JValue args(rapidjson::kObjectType);
      for (const auto& [k, v] : n.py.args) {
        bool nested = (k == "padding" && n.py.model.back() == 'D' && n.py.model[n.py.model.size() - 2] == '2') || k == "pad_width";
        args.AddMember(str(k), attr_json(v, nested), alloc());
      }
      sub.AddMember("args", args, alloc());
      if (!n.py.tuples.empty()) {
        JValue tuples(rapidjson::kArrayType);
        for (const std::string& t : n.py.tuples) tuples.PushBack(str(t), alloc());
        sub.AddMember("tuples", tuples, alloc());
      }
      JValue conns(rapidjson::kObjectType);
      for (std::size_t j = 0; j < n.inputs.size(); ++j) {
        const std::string& value = n.inputs[j];
        used_.insert(value);
        JValue c;
        if (auto p = producer.find(value); p != producer.end()) {
          c = connect_key(p->second);
        } else if (auto k = constants_.find(value); k != constants_.end() && !constants_written.count(value)) {
          JValue v = tensor_json(k->second);
          c = named_key(value, &v);
          constants_written.insert(value);
        } else {
          c = named_key(value);
        }
        conns.AddMember(str(n.py.keys[j]), c, alloc());
      }
      for (const auto& [key, value] : n.py.connection_values) {
        rapidjson::Document parsed = json::parse(value, source_);
        conns.AddMember(str(key), JValue(parsed, alloc()), alloc());
      }
      if (auto o = output_of.find(n.path); o != output_of.end()) conns.AddMember("output", named_key(o->second), alloc());
      submodels.AddMember(str(id), sub, alloc());
      connections.AddMember(str(id), conns, alloc());
    }
    doc_.AddMember("name", "Model", alloc());
    doc_.AddMember("args", JValue(rapidjson::kObjectType), alloc());
    doc_.AddMember("submodels", submodels, alloc());
    doc_.AddMember("connections", connections, alloc());
    JValue exposed(rapidjson::kArrayType);
    for (const OutputDecl& out : model_.outputs()) exposed.PushBack(str(out.name), alloc());
    doc_.AddMember("exposed_keys", exposed, alloc());
    // Types, shapes and trainability of the declared keys.
    JValue types(rapidjson::kArrayType), shapes(rapidjson::kArrayType), diffs(rapidjson::kArrayType);
    for (const Declared& d : declared_) {
      if (!used_.count(d.name) || d.list) continue;  // a key no node reads does not exist in Python
      JValue tensor_type(rapidjson::kObjectType), items(rapidjson::kArrayType);
      items.PushBack(str(type_name(d.info.dtype)), alloc());
      tensor_type.AddMember("Tensor", items, alloc());
      JValue pair(rapidjson::kArrayType);
      pair.PushBack(str(d.name), alloc()).PushBack(tensor_type, alloc());
      types.PushBack(pair, alloc());
      if (d.info.rank_known) {
        JValue shape(rapidjson::kArrayType);
        for (const Dim& dim : d.info.shape) {
          if (dim.is_known()) shape.PushBack(JValue(dim.size), alloc());
          else if (dim.is_named()) shape.PushBack(str(dim.symbol), alloc());
          else shape.PushBack(JValue(), alloc());
        }
        JValue s(rapidjson::kArrayType);
        s.PushBack(str(d.name), alloc()).PushBack(shape, alloc());
        shapes.PushBack(s, alloc());
      }
      if (d.parameter) {
        JValue p(rapidjson::kArrayType);
        p.PushBack(str(d.name), alloc()).PushBack(true, alloc());
        diffs.PushBack(p, alloc());
      }
    }
    JValue shape_groups(rapidjson::kArrayType);
    if (!shapes.Empty()) shape_groups.PushBack(shapes, alloc());  // one group: symbols are shared
    doc_.AddMember("assigned_shapes", shape_groups, alloc());
    doc_.AddMember("assigned_types", types, alloc());
    doc_.AddMember("assigned_differentiabilities", diffs, alloc());
  }

  struct Declared {
    std::string name;
    ValueInfo info;
    bool parameter;
    bool list = false;  // a list input: Concat's key declares its type
  };

  const Model& model_;
  std::string source_;
  std::string from_;  // the format version read
  rapidjson::Document doc_;
  std::vector<Blocker> blockers_;
  std::vector<Declared> declared_;
  std::map<std::string, Tensor> constants_;
  std::map<std::string, ValueInfo> infos_;  // every flat value's info
  std::vector<Node> nodes_;
  std::map<std::string, FlatValue> outputs_;
  std::set<std::string> used_;  // declared keys some node reads
  std::set<std::string> list_inputs_;
};

}  // namespace

std::string python_mithril_from_1_0_0(const std::string& json, const std::string& source) {
  std::shared_ptr<Model> model = from_dict(json, source);
  return Exporter(*model, source, detect_format_version(json, source)).run();
}

}  // namespace mithril::versioning
