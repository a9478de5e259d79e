// The table of Python Mithril's library models (see library_models.h).
#include "versioning/steps/python_mithril/library_models.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <numbers>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "io/json_util.h"

namespace mithril::versioning::python_mithril {

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
      "MaxPool1D", "MaxPool2D", "SquaredError", "AbsoluteError", "CrossEntropy", "BinaryCrossEntropy", "HingeLoss",
      "QuadHingeLoss", "QuantileLoss", "KLDivergence", "StableReciprocal", "FloorDivide", "ShiftLeft", "ShiftRight",
      "StopGradient", "LogisticRegression", "Square", "CartesianDifference", "RBFKernel",
      "PolynomialFeatures", "PolynomialRegression", "ToList", "ToTuple", "ToListOp", "ToTupleOp", "Sign", "Negate", "Floor", "Minimum",
      "Maximum", "Equal", "NotEqual", "Greater", "GreaterEqual", "Less", "LessEqual", "LogicalNot", "LogicalAnd",
      "LogicalOr", "LogicalXOr", "IsNan", "NormModifier", "DistanceMatrix", "EncoderDistanceMatrix", "MDSCore",
      "SiLU", "Clamp", "ArgMax", "ArgMin", "Reshape", "BroadcastTo", "AtLeast1D", "ZerosLike", "TransposedDiagonal",
      "Pad", "AvgPool2D", "PrimitiveAvgPool2D", "ElementWiseAffine", "PolynomialKernel", "LinearSVM", "KernelizedSVM",
      "Trapezoid", "Eye", "EyeComplement", "Ones", "Arange", "SwapAxes", "NanToNum", "Cast", "Indexer", "GroupNorm", "Squeeze", "ScaledDotProduct", "TsnePJoint", "TSNECore", "TSNE", "MDS",
      "Size", "Length", "Cholesky", "GPRAlpha", "GPRVOuter", "Eigvalsh", "GPRLoss", "GaussProcessRegressionCore",
      "LSTMCellBody", "LSTMCell", "RNNCell", "OneToMany", "ManyToOne", "EncoderDecoder", "PrimitiveConvolution1D",
      "PrimitiveConvolution2D", "PrimitiveMaxPool1D", "PrimitiveMaxPool2D", "Shape", "Slice", "Item", "TensorToList", "ToTensor", "Split"};
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
  if (s == "Constant.EPSILON") return kEpsilonJson;
  if (s == "Constant.LEFT_EPSILON") return "1.1102230246251565e-16";
  if (s == "Constant.STABLE_RECIPROCAL_THRESHOLD") return "1.4916681462400413e-153";
  if (s == "Constant.ZEROS") return "0.0";
  if (s == "Constant.ONES") return "1.0";
  return std::nullopt;
}

bool is_python_constant_name(const std::string& s) { return s.rfind("Constant.", 0) == 0; }

namespace {

std::string arg_json(const JValue* args, const char* name, const std::string& fallback) {
  const JValue* v = arg(args, name);
  return v ? compact(*v) : fallback;
}

bool arg_bool(const JValue* args, const char* name, bool fallback) {
  const JValue* v = arg(args, name);
  return v && v->IsBool() ? v->GetBool() : fallback;
}

KeyDef tensor(const std::string& name, KeyKind kind = KeyKind::floating, bool differentiable = false) {
  return KeyDef{name, kind, std::nullopt, differentiable, std::nullopt};
}
KeyDef valued(const std::string& name, std::string value, KeyKind kind = KeyKind::attribute) {
  return KeyDef{name, kind, std::move(value), false, std::nullopt};
}

// A trainable key with the shape Python declares for it.
KeyDef weight(const std::string& name, std::vector<std::string> shape) {
  return KeyDef{name, KeyKind::floating, std::nullopt, true, std::move(shape)};
}

// A size given in args (a positive integer) as a shape entry, or `symbol` when absent or null.
std::string size_or(const JValue* args, const char* name, const std::string& symbol) {
  const JValue* v = arg(args, name);
  return v && v->IsInt64() && v->GetInt64() > 0 ? std::to_string(v->GetInt64()) : symbol;
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
    e.bad(key + ": unknown padding type '" + s + "' (expected SAME or VALID)");
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
            if (!v[a][b].IsInt64()) e.bad(key + ": expected integer padding, got " + compact(v));
            out.push_back(v[a][b].GetInt64());
          }
        return out;
      }
    }
  }
  e.bad(key + ": padding " + compact(v) + " is not an integer, a pair, pairs per axis, SAME or VALID");
}

LibraryModel unary(const std::string& op, KeyKind kind = KeyKind::floating) {
  return {{tensor("input", kind)}, [op](Emit& e) { e.out(op, {e.in("input")}); }};
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

// A convolution's or pooling's stride, dilation and padding as Python gives them (`kernel` for
// SAME padding; empty when unknown, which only SAME needs).
Attributes window_attrs(Emit& e, std::size_t rank, const std::vector<int64_t>& kernel) {
  Attributes a;
  a["stride"] = e.ints_attr("stride", rank);
  a["dilation"] = e.ints_attr("dilation", rank);
  std::vector<int64_t> k = kernel;
  if (k.size() != rank) k.assign(rank, 1);
  a["padding"] = convert_padding(e, "padding", rank, k);
  return a;
}

// conv1d/conv2d of input and weight with attributes `a`, plus bias when the model has one.
void conv_out(Emit& e, std::size_t rank, const Attributes& a, bool use_bias) {
  std::string op = rank == 1 ? "conv1d" : "conv2d";
  if (!use_bias) {
    e.out(op, {e.in("input"), e.in("weight")}, a);
    return;
  }
  e.out("add", {e.apply(op, {e.in("input"), e.in("weight")}, a), e.in("bias")});
}

// Python's Linear: x @ w.T (+ bias); `last` makes it the model's output node.
Value linear(Emit& e, const Value& x, const Value& w, const std::optional<Value>& bias, bool last) {
  Value wt = e.apply("transpose", {w});
  if (!bias) return last ? e.out("matmul", {x, wt}) : e.apply("matmul", {x, wt});
  Value mm = e.apply("matmul", {x, wt});
  return last ? e.out("add", {mm, *bias}) : e.apply("add", {mm, *bias});
}

LibraryModel conv(const JValue* args, std::size_t rank, const std::string& path) {
  bool use_bias = arg_bool(args, "use_bias", true);
  const JValue* kernel_arg = arg(args, "kernel_size");
  std::string stride = arg_json(args, "stride", rank == 1 ? "1" : "[1,1]");
  std::string padding = arg_json(args, "padding", rank == 1 ? "0" : "[0,0]");
  std::string dilation = arg_json(args, "dilation", rank == 1 ? "1" : "[1,1]");
  // Python: weight [out_channels, C_in, k...]. Its bias is [1, out_channels, 1...], but dicts
  // also give it as [out_channels] and Python broadcasts it: that one keeps no declared shape.
  std::string out = size_or(args, "out_channels", "out");
  std::vector<std::string> weight_shape = {out, "in"};
  for (std::size_t i = 0; i < rank; ++i) {
    std::string k = std::to_string(i);
    k.insert(0, 1, 'k');  // (not "k" + ...: GCC 12 warns falsely about that, -Wrestrict)
    if (kernel_arg && kernel_arg->IsInt64() && kernel_arg->GetInt64() > 0) k = std::to_string(kernel_arg->GetInt64());
    else if (kernel_arg && kernel_arg->IsArray() && kernel_arg->Size() == rank && (*kernel_arg)[static_cast<rapidjson::SizeType>(i)].IsInt64())
      k = std::to_string((*kernel_arg)[static_cast<rapidjson::SizeType>(i)].GetInt64());
    weight_shape.push_back(k);
  }
  std::vector<KeyDef> keys;
  keys.push_back(weight("weight", weight_shape));
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
            Attributes a = window_attrs(e, rank, kernel);
            if (rank == 2) a["groups"] = e.int_attr("groups");
            conv_out(e, rank, a, use_bias);
          }};
}

// MaxPool1D/2D and AvgPool2D (`average`): Python's Pool models, which convert kernel_size, stride
// (None: the kernel size) and padding before the primitive. numpy's avg_pool2d takes the mean of
// each window of the zero-padded input, padding included.
LibraryModel pool(const JValue* args, std::size_t rank, bool average = false) {
  std::string kernel = arg_json(args, "kernel_size", "null");
  std::string stride = arg_json(args, "stride", "null");
  std::string padding = arg_json(args, "padding", rank == 1 ? "[0,0]" : "[0,0]");
  std::string dilation = arg_json(args, "dilation", "1");
  std::vector<KeyDef> keys;
  if (rank == 1) keys = {valued("stride", stride), valued("kernel_size", kernel), valued("padding", padding), tensor("input"),
                         valued("dilation", dilation)};
  else keys = {valued("kernel_size", kernel), valued("stride", stride), valued("padding", padding), valued("dilation", dilation),
               tensor("input")};
  return {keys, [rank, average](Emit& e) {
            Attributes a;
            std::vector<int64_t> k = e.ints_attr("kernel_size", rank);
            a["kernel_size"] = k;
            auto stride = e.attr("stride");
            a["stride"] = stride.IsNull() ? k : e.ints_attr("stride", rank);  // Python: stride None -> kernel_size
            a["dilation"] = e.ints_attr("dilation", rank);
            a["padding"] = convert_padding(e, "padding", rank, k);
            if (average) a["count_include_pad"] = true;
            e.out(average ? "avg_pool2d" : rank == 1 ? "max_pool1d" : "max_pool2d", {e.in("input")}, a);
          }};
}

// A convolution or pooling primitive's window_attrs. numpy's 2-D kernels step both axes by
// stride[0] but size the output by both: a stride that differs between the axes gives no defined
// result there, so it is refused.
Attributes primitive_window(Emit& e, std::size_t rank, const std::vector<int64_t>& kernel) {
  std::vector<int64_t> stride = e.ints_attr("stride", rank);
  if (rank == 2 && stride[0] != stride[1])
    e.fail(fmt::format("stride ({}, {}): Python's numpy backend steps both axes by stride[0]", stride[0], stride[1]));
  return window_attrs(e, rank, kernel);
}

// 2 for a 2-D primitive ("PrimitiveConvolution2D"), else 1.
std::size_t spatial_rank(const std::string& name) { return name.size() >= 2 && name.compare(name.size() - 2, 2, "2D") == 0 ? 2 : 1; }

// NormModifier, numpy's order: 4.0 * (1.0 - 2.0 * abs(((x - 1.0) % 8) / 8 - 0.5)) + 1.0.
Value norm_modifier(Emit& e, const Value& x) {
  Value inner = e.apply("subtract", {e.apply("divide", {e.apply("mod", {e.apply("subtract", {x, e.scalar(1.0)}), e.scalar(8.0)}),
                                                          e.scalar(8.0)}),
                                     e.scalar(0.5)});
  Value scaled = e.apply("subtract", {e.scalar(1.0), e.apply("multiply", {e.scalar(2.0), e.apply("abs", {inner})})});
  return e.apply("multiply", {e.scalar(4.0), scaled});
}

// DistanceMatrix: sum(|left[:, None, :] - right[None, :, :]| ** norm, axis=2).
Value distance_matrix(Emit& e, const Value& left, const Value& right, const Value& norm, bool last) {
  Value powered = e.apply("power", {e.apply("abs", {e.apply("cartesian_difference", {left, right})}), norm});
  Attributes a = {{"axes", std::vector<int64_t>{2}}, {"keepdims", false}};
  return last ? e.out("sum", {powered}, a) : e.apply("sum", {powered}, a);
}

// Python's Power(robust): robust_power with Constant.MIN_POSITIVE_NORMAL, or plain power; `last`
// makes it the model's output node.
Value power_of(Emit& e, bool robust, const Value& base, const Value& exponent, bool last = false) {
  std::vector<Value> in = {base, exponent};
  if (robust) in.push_back(e.scalar(kMinPositiveNormal));
  return last ? e.out(robust ? "robust_power" : "power", in) : e.apply(robust ? "robust_power" : "power", in);
}

Value stable_reciprocal(Emit& e, const Value& x) {
  return e.apply("stable_reciprocal", {x, e.scalar(1.4916681462400413e-153)});  // Constant.STABLE_RECIPROCAL_THRESHOLD
}


// A key that takes a constant (an attribute): its value in args when the dict gives one there,
// else none (Python's TBD: a connection must give it).
KeyDef attribute(const JValue* args, const std::string& name) {
  const JValue* v = arg(args, name.c_str());
  return KeyDef{name, KeyKind::attribute, v ? std::optional<std::string>(compact(*v)) : std::nullopt, false, std::nullopt};
}

// Python's array makers take a `dtype` key; only its default (None: the backend's float64, or
// Arange's int64 for integer arguments) is read here: Dtype values have no form in format 1.x.
void default_dtype_only(Emit& e) {
  if (e.has("dtype") && !e.attr("dtype").IsNull()) e.fail("dtype " + compact(e.attr("dtype")) + ": only the default dtype (null) is supported");
}

// A size from a key (N, M): a non-negative integer below a sane bound.
int64_t size_attr(Emit& e, const std::string& key) {
  int64_t n = e.int_attr(key);
  if (n < 0 || n > (int64_t{1} << 24)) e.bad(fmt::format("{}: expected a size from 0 to 2^24, got {}", key, n));
  return n;
}

// numpy.eye(N, M) (ones_with_zero_diag: 1 - eye) in float64.
Tensor eye_tensor(int64_t n, int64_t m, bool complement) {
  Tensor t(DType::float64, Shape{n, m});
  double* d = t.mutable_data_as<double>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) d[i * m + j] = (i == j) != complement ? 1.0 : 0.0;
  return t;
}

// einsum letters that swap axes a and b (numpy's swapaxes) without knowing the rank: both
// counted from the front ("abc...->cba...") or both from the back ("...abc->...cba").
std::optional<std::string> swap_equation(int64_t a, int64_t b) {
  if ((a < 0) != (b < 0)) return std::nullopt;
  bool back = a < 0;
  int64_t n = back ? -std::min(a, b) : std::max(a, b) + 1;
  if (n > 26) return std::nullopt;
  std::string in;
  for (int64_t i = 0; i < n; ++i) in.push_back(static_cast<char>('a' + i));
  std::string out = in;
  std::size_t ia = static_cast<std::size_t>(back ? n + a : a), ib = static_cast<std::size_t>(back ? n + b : b);
  std::swap(out[ia], out[ib]);
  return back ? "..." + in + "->..." + out : in + "...->" + out + "...";
}


// Python's Dtype enum (mithril.types.Dtype, an IntEnum written as its number, often as a string
// "4"): the dtype name of format 1.x, or nullopt.
std::optional<std::string> python_dtype(const JValue& v) {
  static const char* names[] = {"uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64", "bool"};
  int64_t n = -1;
  if (v.IsInt64()) n = v.GetInt64();
  else if (v.IsString() && is_dtype_value(v.GetString())) n = v.GetString()[0] - '0';
  if (n < 0 || n > 9) return std::nullopt;
  return std::string(names[n]);
}


// KLDivergence, numpy: target * (robust_log(target) - robust_log(input)); unless `intermediate`,
// the model's output node.
Value kl_divergence(Emit& e, const Value& input, const Value& target, const Value& threshold, bool intermediate) {
  Value diff = e.apply("subtract", {e.apply("robust_log", {target, threshold}), e.apply("robust_log", {input, threshold})});
  return intermediate ? e.apply("multiply", {target, diff}) : e.out("multiply", {target, diff});
}

}  // namespace

const JValue* arg(const JValue* args, const char* name) {
  if (!args || !args->IsObject()) return nullptr;
  auto it = args->FindMember(name);
  return it == args->MemberEnd() ? nullptr : &it->value;
}

std::vector<Value> Emit::numpy_promoted(const std::string& op, std::vector<Value> inputs) const {
  static const std::set<std::string> promoting = {
      "add", "subtract", "multiply", "divide", "power", "maximum", "minimum", "floor_divide", "mod", "equal", "less",
      "less_equal", "greater", "greater_equal", "matmul", "robust_power", "where", "concat"};
  if (!promoting.count(op)) return inputs;
  std::size_t first = op == "where" ? 1 : 0;  // where's condition stays bool
  std::size_t last = op == "robust_power" ? 2 : inputs.size();  // its threshold is its own
  if (last > inputs.size() || last < first + 2) return inputs;
  std::optional<DType> common = inputs[first].dtype();
  for (std::size_t i = first + 1; i < last && common; ++i) common = numpy_result_type(*common, inputs[i].dtype());
  if (!common) return inputs;
  // numpy's / is true division: integers and bools divide as float64.
  if (op == "divide" && !is_floating(*common)) common = DType::float64;
  for (std::size_t i = first; i < last; ++i)
    if (inputs[i].dtype() != *common)
      inputs[i] = model_.apply("cast", {inputs[i]}, {{"dtype", std::string(dtype_name(*common))}}, auto_name_("cast"));
  return inputs;
}

std::optional<LibraryModel> library_model(const std::string& name, const JValue* args, const std::string& path) {
  if (name == "Buffer") return unary("identity", KeyKind::any);  // passes any tensor through
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
  if (name == "StopGradient") return unary("identity");  // gradients aside, the identity
  if (name == "Sign") return unary("sign");
  if (name == "Negate") return unary("negate");
  if (name == "Floor") return unary("floor");
  if (name == "Minimum") return binary("minimum");
  if (name == "Maximum") return binary("maximum");
  if (name == "Equal") return binary("equal");
  if (name == "Greater") return binary("greater");
  if (name == "GreaterEqual") return binary("greater_equal");
  if (name == "Less") return binary("less");
  if (name == "LessEqual") return binary("less_equal");
  if (name == "IsNan") return unary("isnan");
  if (name == "NotEqual")
    return LibraryModel{{tensor("left"), tensor("right")},
                        [](Emit& e) { e.out("logical_not", {e.apply("equal", {e.in("left"), e.in("right")})}); }};
  // numpy's ~, |, &, ^ on bool tensors (the only kind taken here) are the logical operations.
  if (name == "LogicalNot")
    return LibraryModel{{tensor("input", KeyKind::boolean)}, [](Emit& e) { e.out("logical_not", {e.in("input")}); }};
  if (name == "LogicalAnd" || name == "LogicalOr" || name == "LogicalXOr") {
    std::string op = name == "LogicalAnd" ? "logical_and" : name == "LogicalOr" ? "logical_or" : "logical_xor";
    return LibraryModel{{tensor("left", KeyKind::boolean), tensor("right", KeyKind::boolean)},
                        [op](Emit& e) { e.out(op, {e.in("left"), e.in("right")}); }};
  }
  if (name == "NormModifier")
    return LibraryModel{{tensor("input")}, [](Emit& e) {
                          Value m = norm_modifier(e, e.in("input"));
                          e.out("add", {m, e.scalar(1.0)});
                        }};
  if (name == "DistanceMatrix")
    return LibraryModel{{tensor("left"), tensor("right"), tensor("norm")}, [](Emit& e) {
                          distance_matrix(e, e.in("left"), e.in("right"), e.in("norm"), true);
                        }};
  if (name == "EncoderDistanceMatrix") {
    bool final_distance = arg_bool(args, "get_final_distance", true), robust = arg_bool(args, "robust", true);
    return LibraryModel{{tensor("input1"), tensor("input2"), tensor("norm")}, [final_distance, robust](Emit& e) {
                          Value m = e.apply("add", {norm_modifier(e, e.in("norm")), e.scalar(1.0)});
                          Value distance = distance_matrix(e, e.in("input1"), e.in("input2"), m, !final_distance);
                          if (!final_distance) return;
                          // distance ** (1 / norm), with Python's Power(robust).
                          power_of(e, robust, distance, e.apply("divide", {e.scalar(1.0), m}), true);
                        }};
  }
  if (name == "MDSCore") {
    bool exact = arg_bool(args, "exact_distances", true), robust = arg_bool(args, "robust", true);
    return LibraryModel{{tensor("distances"), tensor("pred_distances"), tensor("norm")}, [exact, robust](Emit& e) {
                          Value m = e.apply("add", {norm_modifier(e, e.in("norm")), e.scalar(1.0)});
                          Value r = stable_reciprocal(e, m);
                          Value d = e.in("distances");
                          Value pred = power_of(e, robust, e.in("pred_distances"), r);
                          Value error, total;
                          if (exact) {
                            error = e.apply("sum", {power_of(e, robust, e.apply("abs", {e.apply("subtract", {d, pred})}), m)});
                            total = e.apply("sum", {power_of(e, robust, d, m)});
                          } else {
                            Value dr = power_of(e, robust, d, r);
                            error = e.apply("sum", {power_of(e, robust, e.apply("abs", {e.apply("subtract", {dr, pred})}), m)});
                            total = e.apply("sum", {d});
                          }
                          Value ratio = e.apply("multiply", {error, stable_reciprocal(e, total)});
                          power_of(e, robust, ratio, r, true);
                        }};
  }
  if (name == "FloorDivide") return binary("floor_divide", "numerator", "denominator");
  if (name == "ShiftLeft") return binary("shift_left", "input", "shift");
  if (name == "ShiftRight") return binary("shift_right", "input", "shift");
  if (name == "StableReciprocal")
    return LibraryModel{{tensor("input"), valued("threshold", "1.4916681462400413e-153", KeyKind::floating)},
                        [](Emit& e) { e.out("stable_reciprocal", {e.in("input"), e.in("threshold")}); }};
  if (name == "PolynomialFeatures")
    return LibraryModel{{tensor("input"), valued("degree", arg_json(args, "degree", "null"))}, [](Emit& e) {
                          e.out("polynomial_features", {e.in("input")}, {{"degree", e.int_attr("degree")}});
                        }};
  if (name == "Square")
    return LibraryModel{{tensor("input")}, [](Emit& e) { e.out("multiply", {e.in("input"), e.in("input")}); }};  // numpy: x * x
  if (name == "CartesianDifference") return binary("cartesian_difference");
  if (name == "RBFKernel")
    return LibraryModel{{tensor("input1"), tensor("input2"), tensor("l_scale"), tensor("sigma")}, [](Emit& e) {
                          // Python's composition: l_scale^2 * exp(sum((input1 - input2)^2 over pairs, axis 2)
                          // * -0.5 / sigma^2), each square x * x.
                          Value diff = e.apply("cartesian_difference", {e.in("input1"), e.in("input2")});
                          Value sq = e.apply("sum", {e.apply("multiply", {diff, diff})},
                                             {{"axes", std::vector<int64_t>{2}}, {"keepdims", false}});
                          Value scaled = e.apply("multiply", {sq, e.scalar(-0.5)});
                          Value sigma = e.in("sigma");
                          Value ex = e.apply("exp", {e.apply("divide", {scaled, e.apply("multiply", {sigma, sigma})})});
                          Value l = e.in("l_scale");
                          e.out("multiply", {e.apply("multiply", {l, l}), ex});
                        }};
  if (name == "HingeLoss" || name == "QuadHingeLoss")
    return LibraryModel{{tensor("input"), tensor("target")}, [quad = name == "QuadHingeLoss"](Emit& e) {
                          // numpy: maximum(0.0, 1.0 - target * input), squared (x * x) for QuadHingeLoss.
                          Value base = e.apply("subtract", {e.scalar(1.0), e.apply("multiply", {e.in("target"), e.in("input")})});
                          if (!quad) {
                            e.out("maximum", {e.scalar(0.0), base});
                            return;
                          }
                          Value hinge = e.apply("maximum", {e.scalar(0.0), base});
                          e.out("multiply", {hinge, hinge});
                        }};
  if (name == "QuantileLoss")
    return LibraryModel{{tensor("input"), tensor("target"), valued("quantile", arg_json(args, "quantile", "0.5"), KeyKind::floating)},
                        [](Emit& e) {
                          // numpy: error = target - input; maximum(quantile * error, (quantile - 1) * error).
                          Value error = e.apply("subtract", {e.in("target"), e.in("input")});
                          Value q = e.in("quantile");
                          Value low = e.apply("multiply", {e.apply("subtract", {q, e.scalar(1.0)}), error});
                          e.out("maximum", {e.apply("multiply", {q, error}), low});
                        }};
  if (name == "KLDivergence")
    return LibraryModel{{tensor("input"), tensor("target"), valued("threshold", fmt::format("{}", kMinPositiveNormal), KeyKind::floating)},
                        [](Emit& e) { kl_divergence(e, e.in("input"), e.in("target"), e.in("threshold"), false); }};
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
  if (name == "Concat") {
    auto axis_attr = [](Emit& e) -> AttrValue {
      auto axis = e.attr("axis");
      if (axis.IsNull()) return std::monostate{};  // numpy's axis=None: every input flattened
      return e.int_attr("axis");
    };
    // Older dicts: Concat(n) with keys input1..inputN; now one key holding a list of tensors.
    if (const JValue* n = arg(args, "n"); n && n->IsInt64() && n->GetInt64() > 0 && n->GetInt64() <= 4096) {
      std::vector<KeyDef> keys;
      for (int64_t i = 1; i <= n->GetInt64(); ++i) keys.push_back(tensor("input" + std::to_string(i), KeyKind::any));
      keys.push_back(valued("axis", arg_json(args, "axis", "0")));
      return LibraryModel{keys, [count = n->GetInt64(), axis_attr](Emit& e) {
                            std::vector<Value> inputs;
                            for (int64_t i = 1; i <= count; ++i) inputs.push_back(e.in("input" + std::to_string(i)));
                            e.out("concat", inputs, {{"axis", axis_attr(e)}});
                          }};
    }
    return LibraryModel{{tensor("input", KeyKind::tensor_list), valued("axis", arg_json(args, "axis", "0"))},
                        [axis_attr](Emit& e) { e.out("concat", e.list("input"), {{"axis", axis_attr(e)}}); }};
  }
  if (name == "Split")
    // Python's Split(split_size, axis): a list of split_size sections along axis, each
    // len // split_size long (its slices drop the rest). model_to_dict drops both args: a dict
    // holds them only when written by hand.
    return LibraryModel{{tensor("input", KeyKind::any), attribute(args, "split_size"), attribute(args, "axis")}, [](Emit& e) {
                          int64_t sections = e.int_attr("split_size"), axis = e.int_attr("axis");
                          if (sections < 1 || sections > 4096) e.bad(fmt::format("split_size: expected 1 to 4096 sections, got {}", sections));
                          std::vector<Value> items;
                          for (int64_t i = 0; i < sections; ++i)
                            items.push_back(e.apply("split_section", {e.in("input")}, {{"sections", sections}, {"index", i}, {"axis", axis}}));
                          e.out_list(items);
                        }};
  if (name == "ToList" || name == "ToTuple" || name == "ToListOp" || name == "ToTupleOp") {
    // Python builds one when a list of connections is given to a key (Concat's input);
    // model_to_dict writes it under its operator's class name, ToListOp.
    const JValue* n = arg(args, "n");
    if (!n || !n->IsInt64() || n->GetInt64() < 1 || n->GetInt64() > 4096)
      return LibraryModel{{}, [](Emit& e) { e.bad("args.n: expected the number of list items (1 to 4096)"); }};
    std::vector<KeyDef> keys;
    for (int64_t i = 1; i <= n->GetInt64(); ++i) keys.push_back(tensor("input" + std::to_string(i), KeyKind::any));
    return LibraryModel{keys, [count = n->GetInt64()](Emit& e) {
                          std::vector<Value> items;
                          for (int64_t i = 1; i <= count; ++i) items.push_back(e.in("input" + std::to_string(i)));
                          e.out_list(items);
                        }};
  }
  if (name == "Where")
    return LibraryModel{{tensor("cond", KeyKind::boolean), tensor("input1", KeyKind::any), tensor("input2", KeyKind::any)},
                        [](Emit& e) { e.out("where", {e.in("cond"), e.in("input1"), e.in("input2")}); }};
  if (name == "Linear") {
    bool use_bias = arg_bool(args, "use_bias", true);
    // Python: weight [dimension, d_in], bias [dimension]. "in_dimension" is set by MLP for the
    // layers after the first (the previous width).
    std::string out = size_or(args, "dimension", "out"), in = size_or(args, "in_dimension", "in");
    std::vector<KeyDef> keys = {weight("weight", {out, in}), tensor("input")};
    if (use_bias) keys.push_back(weight("bias", {out}));
    return LibraryModel{keys, [use_bias](Emit& e) {
                          linear(e, e.in("input"), e.in("weight"), use_bias ? std::optional<Value>(e.in("bias")) : std::nullopt, true);
                        }};
  }
  if (name == "LayerNorm") {
    bool use_scale = arg_bool(args, "use_scale", true), use_bias = arg_bool(args, "use_bias", true);
    std::vector<KeyDef> keys = {tensor("input"), valued("eps", arg_json(args, "eps", "1e-05"), KeyKind::floating)};
    if (use_scale) keys.push_back(weight("weight", {"d"}));  // Python: ["d"], the input's last axis
    if (use_bias) keys.push_back(weight("bias", {"d"}));
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
    return LibraryModel{{tensor("input", KeyKind::integer),
                         weight("weight", {size_or(args, "num_embeddings", "n"), size_or(args, "dim", "dim")})},
                        [](Emit& e) { e.out("gather", {e.in("weight"), e.in("input")}); }};
  if (name == "Convolution1D") return conv(args, 1, path);
  if (name == "Convolution2D") return conv(args, 2, path);
  if (name == "MaxPool1D") return pool(args, 1);
  if (name == "MaxPool2D") return pool(args, 2);
  if (name == "AvgPool2D") return pool(args, 2, true);
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
                              if (!x.IsNumber()) e.bad("weights: expected numbers, got " + compact(w));
                              weights.push_back(x.GetDouble());
                            }
                            a["weights"] = weights;
                          } else if (!(w.IsString() && std::string(w.GetString()).empty())) {
                            e.bad("weights: expected \"\", \"auto\" or a list of numbers, got " + compact(w));
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
  if (name == "SiLU")
    // Its constant 1 is a key of its own in Python ("$1"), which the auto-namer counts.
    return LibraryModel{{tensor("input"), valued("$1", "1.0", KeyKind::floating)}, [](Emit& e) {
                          // Python's composition: input / (1 + exp(-input)).
                          Value x = e.in("input");
                          e.out("divide", {x, e.apply("add", {e.in("$1"), e.apply("exp", {e.apply("negate", {x})})})});
                        }};
  if (name == "Clamp")
    return LibraryModel{{tensor("input"), attribute(args, "min_val"), attribute(args, "max_val")}, [](Emit& e) {
                          // numpy.clip(input, min_val, max_val).
                          e.out("clip", {e.in("input")}, {{"min", e.number_attr("min_val")}, {"max", e.number_attr("max_val")}});
                        }};
  if (name == "ArgMax" || name == "ArgMin")
    return LibraryModel{{tensor("input"), valued("axis", arg_json(args, "axis", "null")),
                         valued("keepdim", arg_json(args, "keepdim", "false"))},
                        [op = lower(name)](Emit& e) {
                          bool keep = e.bool_attr("keepdim");
                          if (e.attr("axis").IsNull()) {
                            // numpy's axis=None: the index into the flattened input.
                            if (keep) e.fail("axis null with keepdim true (the result's rank is the input's, unknown here)");
                            Value flat = e.apply("flatten", {e.in("input")});
                            e.out(op, {flat}, {{"axis", int64_t{0}}, {"keepdims", false}});
                            return;
                          }
                          e.out(op, {e.in("input")}, {{"axis", e.int_attr("axis")}, {"keepdims", keep}});
                        }};
  if (name == "Reshape")
    return LibraryModel{{tensor("input", KeyKind::any), attribute(args, "shape")},
                        [](Emit& e) { e.out("reshape", {e.in("input")}, {{"shape", e.int_list_attr("shape")}}); }};
  if (name == "BroadcastTo")
    return LibraryModel{{tensor("input", KeyKind::any), attribute(args, "shape")},
                        [](Emit& e) { e.out("expand", {e.in("input")}, {{"shape", e.int_list_attr("shape")}}); }};
  if (name == "Squeeze") return unary("squeeze");  // numpy.squeeze: every axis of size 1 goes
  if (name == "AtLeast1D")  // numpy.atleast_1d: a 0-d input becomes [1], others stay; flatten(0, 0) does both
    return LibraryModel{{tensor("input", KeyKind::any)},
                        [](Emit& e) { e.out("flatten", {e.in("input")}, {{"start_dim", int64_t{0}}, {"end_dim", int64_t{0}}}); }};
  if (name == "ZerosLike")
    return LibraryModel{{tensor("input")}, [](Emit& e) {
                          // numpy.zeros_like: zeros of the input's shape, whatever its values (input * 0
                          // would keep NaN and make NaN of infinities): where(isnan(x), 0, 0).
                          Value zero = e.scalar(0.0);
                          e.out("where", {e.apply("isnan", {e.in("input")}), zero, zero});
                        }};
  if (name == "TransposedDiagonal")
    return LibraryModel{{tensor("input", KeyKind::any)}, [](Emit& e) {
                          // numpy.diag(input)[:, None] of a square [N, N] input: its diagonal as [N, 1].
                          Value diag = e.apply("einsum", {e.in("input")}, {{"equation", std::string("ii->i")}});
                          e.out("reshape", {diag}, {{"shape", std::vector<int64_t>{-1, 1}}});
                        }};
  if (name == "Pad")
    return LibraryModel{{tensor("input", KeyKind::any), attribute(args, "pad_width")}, [](Emit& e) {
                          // numpy.pad(input, pad_width) with zeros: ((before, after), ...) per axis.
                          auto v = e.attr("pad_width");
                          std::vector<int64_t> before, after;
                          if (v.IsArray())
                            for (const auto& p : v.GetArray()) {
                              if (!p.IsArray() || p.Size() != 2 || !p[0].IsInt64() || !p[1].IsInt64() || p[0].GetInt64() < 0 ||
                                  p[1].GetInt64() < 0)
                                e.bad("pad_width: expected a pair of non-negative integers per axis, got " + compact(v));
                              before.push_back(p[0].GetInt64());
                              after.push_back(p[1].GetInt64());
                            }
                          else e.bad("pad_width: expected a pair of non-negative integers per axis, got " + compact(v));
                          before.insert(before.end(), after.begin(), after.end());
                          e.out("pad", {e.in("input")}, {{"pads", before}});
                        }};
  // The primitives Python's Convolution and MaxPool models wrap (dicts of models built from them,
  // and our own export, hold them): stride, padding and dilation in their final forms, given as
  // args or in the connections.
  if (name == "PrimitiveConvolution1D" || name == "PrimitiveConvolution2D") {
    std::size_t rank = spatial_rank(name);
    bool use_bias = arg_bool(args, "use_bias", true);
    // Unlike the Convolution models, the primitive does not make its weight and bias trainable:
    // Python's compile takes them as inputs unless the dict says they are differentiable.
    std::vector<KeyDef> keys = {tensor("input"), tensor("weight")};
    if (use_bias) keys.push_back(tensor("bias"));
    for (const char* k : {"stride", "padding", "dilation"}) keys.push_back(attribute(args, k));
    if (rank == 2) keys.push_back(attribute(args, "groups"));
    return LibraryModel{keys, [rank, use_bias](Emit& e) {
                          Attributes a = primitive_window(e, rank, {});
                          if (rank == 2) a["groups"] = e.int_attr("groups");
                          conv_out(e, rank, a, use_bias);
                        }};
  }
  if (name == "PrimitiveMaxPool1D" || name == "PrimitiveMaxPool2D") {
    std::size_t rank = spatial_rank(name);
    return LibraryModel{{tensor("input"), attribute(args, "kernel_size"), attribute(args, "stride"), attribute(args, "padding"),
                         attribute(args, "dilation")},
                        [rank](Emit& e) {
                          std::vector<int64_t> k = e.ints_attr("kernel_size", rank);
                          Attributes a = primitive_window(e, rank, k);
                          a["kernel_size"] = k;
                          e.out(rank == 1 ? "max_pool1d" : "max_pool2d", {e.in("input")}, a);
                        }};
  }
  if (name == "PrimitiveAvgPool2D")
    return LibraryModel{{tensor("input"), attribute(args, "kernel_size"), attribute(args, "stride"),
                         valued("padding", arg_json(args, "padding", "[0,0]")), valued("dilation", arg_json(args, "dilation", "[1,1]"))},
                        [](Emit& e) {
                          Attributes a;
                          std::vector<int64_t> k = e.ints_attr("kernel_size", 2), s = e.ints_attr("stride", 2);
                          // numpy's avg_pool2d steps both axes by stride[0].
                          a["kernel_size"] = k;
                          a["stride"] = std::vector<int64_t>{s[0], s[0]};
                          a["dilation"] = e.ints_attr("dilation", 2);
                          a["padding"] = convert_padding(e, "padding", 2, k);
                          a["count_include_pad"] = true;
                          e.out("avg_pool2d", {e.in("input")}, a);
                        }};
  if (name == "ElementWiseAffine")
    return LibraryModel{{tensor("input"), tensor("weight"), tensor("bias")},
                        [](Emit& e) { e.out("add", {e.apply("multiply", {e.in("input"), e.in("weight")}), e.in("bias")}); }};
  if (name == "PolynomialKernel")
    return LibraryModel{{tensor("input2"), tensor("input1"), tensor("poly_coef"), tensor("degree")},
                        [robust = arg_bool(args, "robust", true)](Emit& e) {
                          // (input1 @ input2.T + poly_coef) ** degree, with Python's Power(robust).
                          Value mm = e.apply("matmul", {e.in("input1"), e.apply("transpose", {e.in("input2")})});
                          power_of(e, robust, e.apply("add", {mm, e.in("poly_coef")}), e.in("degree"), true);
                        }};
  if (name == "Trapezoid")
    return LibraryModel{{tensor("y"), tensor("x")}, [](Emit& e) {
                          // numpy.trapezoid(y, x) along the last axis: (diff(x) * (y[1:] + y[:-1]) / 2.0).sum(-1).
                          auto tail = [&](const Value& v) {
                            return e.apply("slice", {v}, {{"starts", std::vector<int64_t>{1}},
                                                          {"ends", std::vector<int64_t>{std::numeric_limits<int64_t>::max()}},
                                                          {"axes", std::vector<int64_t>{-1}}});
                          };
                          auto head = [&](const Value& v) {
                            return e.apply("slice", {v}, {{"starts", std::vector<int64_t>{0}}, {"ends", std::vector<int64_t>{-1}},
                                                          {"axes", std::vector<int64_t>{-1}}});
                          };
                          Value y = e.in("y"), x = e.in("x");
                          Value d = e.apply("subtract", {tail(x), head(x)});
                          Value sum = e.apply("add", {tail(y), head(y)});
                          Value area = e.apply("divide", {e.apply("multiply", {d, sum}), e.scalar(2.0)});
                          e.out("sum", {area}, {{"axes", std::vector<int64_t>{-1}}, {"keepdims", false}});
                        }};
  if (name == "Eye" || name == "EyeComplement")
    return LibraryModel{{attribute(args, "N"), valued("M", "null"), valued("dtype", "null")}, [complement = name == "EyeComplement"](Emit& e) {
                          default_dtype_only(e);
                          if (e.dim("M")) e.fail("M from " + e.dim("M")->model + ": only a square array sized by one dimension is supported");
                          if (const DimRef* d = e.dim("N")) {
                            if (d->kind != DimRef::Kind::size) e.fail("N from " + d->model + ": " + d->what() + " is not a size");
                            // numpy.eye(input.shape[axis]) (GaussProcessRegressionCore's), from the
                            // shape; EyeComplement (TSNECore's) is 1 - that, exactly.
                            if (!e.attr("M").IsNull())
                              e.fail("N from " + d->model + ": only a square array (M null) sized by one dimension is supported");
                            Attributes a = {{"axis", d->axis_attr()}, {"dtype", std::string("float64")}};
                            if (complement) e.out("subtract", {e.scalar(1.0), e.apply("eye_of_dim", {d->tensor}, a)});
                            else e.out("eye_of_dim", {d->tensor}, a);
                            return;
                          }
                          int64_t n = size_attr(e, "N");
                          int64_t m = e.attr("M").IsNull() ? n : size_attr(e, "M");
                          e.out("identity", {e.constant(eye_tensor(n, m, complement))});
                        }};
  if (name == "Ones")
    return LibraryModel{{attribute(args, "shape"), valued("dtype", "null")}, [](Emit& e) {
                          default_dtype_only(e);
                          std::vector<int64_t> dims = e.int_list_attr("shape");
                          int64_t count = 1;
                          for (int64_t d : dims) {
                            if (d < 0 || d > (int64_t{1} << 24)) e.bad(fmt::format("shape: size {} out of range 0 to 2^24", d));
                            count *= d;
                            if (count > (int64_t{1} << 24)) e.bad("shape: more than 2^24 elements");
                          }
                          Tensor t(DType::float64, Shape(dims));
                          std::fill_n(t.mutable_data_as<double>(), count, 1.0);
                          e.out("identity", {e.constant(t)});
                        }};
  if (name == "Arange")
    return LibraryModel{{valued("start", "0"), attribute(args, "stop"), valued("step", "1"), valued("dtype", "null")}, [](Emit& e) {
                          default_dtype_only(e);
                          // numpy.arange: int64 when every argument is an integer, else float64 with the
                          // values numpy fills in: start + i * ((start + step) - start).
                          bool ints = e.attr("start").IsInt64() && e.attr("stop").IsInt64() && e.attr("step").IsInt64();
                          double start = e.number_attr("start"), stop = e.number_attr("stop"), step = e.number_attr("step");
                          if (step == 0 || !std::isfinite(start) || !std::isfinite(stop) || !std::isfinite(step))
                            e.bad("start, stop and step must be finite and step not 0");
                          double length = std::ceil((stop - start) / step);
                          if (length > double(int64_t{1} << 24)) e.bad("arange of more than 2^24 elements");
                          int64_t n = length > 0 ? static_cast<int64_t>(length) : 0;
                          Tensor t(ints ? DType::int64 : DType::float64, Shape{n});
                          if (ints) {
                            int64_t s = e.attr("start").GetInt64(), st = e.attr("step").GetInt64();
                            for (int64_t i = 0; i < n; ++i) t.mutable_data_as<int64_t>()[i] = s + i * st;
                          } else {
                            double delta = (start + step) - start;
                            for (int64_t i = 0; i < n; ++i) t.mutable_data_as<double>()[i] = i == 1 ? start + step : start + static_cast<double>(i) * delta;
                          }
                          e.out("identity", {e.constant(t)});
                        }};
  if (name == "SwapAxes")
    return LibraryModel{{tensor("input", KeyKind::any), attribute(args, "axis1"), attribute(args, "axis2")}, [](Emit& e) {
                          int64_t a = e.int_attr("axis1"), b = e.int_attr("axis2");
                          std::optional<std::string> eq = swap_equation(a, b);
                          if (!eq) e.fail(fmt::format("axes {} and {}: one counted from the front and one from the back "
                                                      "(that needs the input's rank, unknown here)", a, b));
                          e.out("einsum", {e.in("input")}, {{"equation", *eq}});
                        }};
  if (name == "NanToNum")
    return LibraryModel{{tensor("input"), valued("nan", arg_json(args, "nan", "0.0")), valued("posinf", arg_json(args, "posinf", "null")),
                         valued("neginf", arg_json(args, "neginf", "null"))},
                        [](Emit& e) {
                          // numpy.nan_to_num: NaN -> nan, +inf -> posinf, -inf -> neginf (None: the
                          // largest finite float64, negated for -inf); other values unchanged.
                          constexpr double kMax = std::numeric_limits<double>::max();
                          auto bound = [&](const char* key, double fallback) { return e.attr(key).IsNull() ? fallback : e.number_attr(key); };
                          Value x = e.in("input");
                          Value v = e.apply("where", {e.apply("isinf", {x}, {{"detect_positive", false}}), e.scalar(bound("neginf", -kMax)), x});
                          v = e.apply("where", {e.apply("isinf", {x}, {{"detect_negative", false}}), e.scalar(bound("posinf", kMax)), v});
                          e.out("where", {e.apply("isnan", {x}), e.scalar(e.number_attr("nan")), v});
                        }};
  if (name == "Cast")
    return LibraryModel{{tensor("input", KeyKind::any), attribute(args, "dtype")}, [](Emit& e) {
                          // input.astype(dtype), the dtype a number of Python's Dtype enum.
                          auto d = e.attr("dtype");
                          std::optional<std::string> dtype = python_dtype(d);
                          if (!dtype) e.bad("dtype: expected a number of Python Mithril's Dtype (0 uint8 to 9 bool), got " + compact(d));
                          e.out("cast", {e.in("input")}, {{"dtype", *dtype}});
                        }};
  if (name == "Indexer")
    return LibraryModel{{tensor("input", KeyKind::tensor_or_list), attribute(args, "index")}, [](Emit& e) {
                          // An element of a list (Split's, a ToList's), as Python indexes a list.
                          if (e.has_list("input")) {
                            std::vector<Value> items = e.list("input");
                            auto v = e.attr("index");
                            auto n = static_cast<int64_t>(items.size());
                            if (!v.IsInt64() || v.GetInt64() < -n || v.GetInt64() >= n)
                              e.fail(fmt::format("index {} of a list of {}: only an integer in range is supported", compact(v), n));
                            int64_t i = v.GetInt64() < 0 ? v.GetInt64() + n : v.GetInt64();
                            e.out("identity", {items[static_cast<std::size_t>(i)]});
                            return;
                          }
                          // A shape's entry: Python's int, kept as the shape's (see DimRef).
                          if (const DimRef* d = e.dim("input")) {
                            if (d->kind != DimRef::Kind::shape || e.dim("index") || !e.attr("index").IsInt64())
                              e.fail("input from " + d->model + " (" + d->what() + "): only a shape's entry, Shape()[i] with an integer i, is supported");
                            e.out_dim(DimRef{d->tensor, e.attr("index").GetInt64(), "Shape"});
                            return;
                          }
                          // input[:n] or input[n:] with n from a shape: slice_at_dim.
                          if (const DimRef* d = e.dim("index")) {
                            if (d->kind != DimRef::Kind::slice)
                              e.fail("index from " + d->model + " (" + d->what() + "): only a slice from or to a size is supported");
                            e.out("slice_at_dim", {e.in("input"), d->tensor},
                                  {{"keep", std::string(d->slice_to ? "before" : "after")}, {"like_axis", *d->axis}});
                            return;
                          }
                          // input[i] for an integer; a list (a tuple once written as JSON, which is
                          // what Python's dict_to_model reads) picks rows: input[[i, j, ...]].
                          // Other slices, None and Ellipsis have no constant form here.
                          auto v = e.attr("index");
                          std::vector<int64_t> index;
                          if (v.IsInt64()) index.push_back(v.GetInt64());
                          else if (v.IsArray() && !v.Empty())
                            for (const auto& i : v.GetArray()) {
                              if (!i.IsInt64()) e.fail("index " + compact(v) + ": only integers are supported (not slices, None or ...)");
                              index.push_back(i.GetInt64());
                            }
                          else e.fail("index " + compact(v) + ": only an integer or a list of integers is supported");
                          Tensor t(DType::int64, v.IsInt64() ? Shape{} : Shape{static_cast<int64_t>(index.size())});
                          std::copy(index.begin(), index.end(), t.mutable_data_as<int64_t>());
                          e.out("gather", {e.in("input"), e.constant(t)});
                        }};
  if (name == "GroupNorm") {
    bool use_scale = arg_bool(args, "use_scale", true), use_bias = arg_bool(args, "use_bias", true);
    int64_t groups = 32;  // Python's default; model_to_dict drops the constructor's num_groups
    if (const JValue* g = arg(args, "num_groups"); g && g->IsInt64()) groups = g->GetInt64();
    // Python: weight and bias [1, C, 1, 1] against input [B, C, H, W].
    std::vector<KeyDef> keys = {tensor("input")};
    if (use_scale) keys.push_back(weight("weight", {"1", "C", "1", "1"}));
    if (use_bias) keys.push_back(weight("bias", {"1", "C", "1", "1"}));
    keys.push_back(valued("eps", arg_json(args, "eps", "1e-05")));
    return LibraryModel{keys, [groups, use_scale, use_bias](Emit& e) {
                          // (x - mean) / sqrt(var + eps) over (B, num_groups, -1) runs, then * weight + bias.
                          Attributes a = {{"num_groups", groups}, {"epsilon", e.number_attr("eps")}};
                          if (!use_scale && !use_bias) {
                            e.out("group_norm", {e.in("input")}, a);
                            return;
                          }
                          Value v = e.apply("group_norm", {e.in("input")}, a);
                          if (use_scale) v = use_bias ? e.apply("multiply", {v, e.in("weight")}) : e.out("multiply", {v, e.in("weight")});
                          if (use_bias) e.out("add", {v, e.in("bias")});
                        }};
  }
  if (name == "ScaledDotProduct")
    return LibraryModel{{tensor("query"), tensor("key"), tensor("value"), valued("dropout_p", arg_json(args, "dropout_p", "0.0")),
                         valued("attn_mask", "null"), valued("is_causal", arg_json(args, "is_causal", "true")),
                         valued("scale", arg_json(args, "scale", "null"))},
                        [](Emit& e) {
                          // numpy's scaled_dot_product_attention; it refuses dropout, and a mask
                          // needs use_attn_mask, which model_to_dict does not write.
                          if (e.number_attr("dropout_p") != 0.0) e.fail("dropout_p other than 0 (numpy's attention has none)");
                          if (!e.attr("attn_mask").IsNull()) e.fail("attn_mask (use_attn_mask is not in Python's dict)");
                          AttrValue scale = std::monostate{};
                          if (!e.attr("scale").IsNull()) scale = e.number_attr("scale");
                          e.out("scaled_dot_product_attention", {e.in("query"), e.in("key"), e.in("value")},
                                {{"is_causal", e.bool_attr("is_causal")}, {"scale", scale}});
                        }};
  if (name == "TsnePJoint")
    return LibraryModel{{tensor("squared_distances"), tensor("target_perplexity"),
                         valued("threshold", kEpsilonJson, KeyKind::floating)},
                        [](Emit& e) {
                          e.out("tsne_p_joint", {e.in("squared_distances"), e.in("target_perplexity"), e.in("threshold")});
                        }};
  if (name == "TSNECore")
    // model_to_dict keeps exact_distances and perplexity, not calculate_p_joint: the dict means
    // p_joint is given (exact_distances then only squares what nothing reads).
    return LibraryModel{{tensor("distances"), tensor("pred_distances"), tensor("p_joint")}, [](Emit& e) {
                          // q = (1 / (1 + pred)) * (1 - I); loss = sum(KL(q / sum(q), p_joint)).
                          Value inverse = e.apply("divide", {e.scalar(1.0), e.apply("add", {e.scalar(1.0), e.in("pred_distances")})});
                          // EyeComplement(N = Size(dim=0)(distances)): 1 - eye, from the distances' shape.
                          Value eye = e.apply("eye_of_dim", {e.in("distances")}, {{"axis", int64_t{0}}, {"dtype", std::string("float64")}});
                          Value off_diagonal = e.apply("subtract", {e.scalar(1.0), eye});
                          Value q = e.apply("multiply", {inverse, off_diagonal});
                          Value normalized = e.apply("divide", {q, e.apply("sum", {q})});
                          Value kl = kl_divergence(e, normalized, e.in("p_joint"), e.scalar(kMinPositiveNormal), true);
                          e.out("sum", {kl});
                        }};
  if (name == "LSTMCellBody")
    // Keys in the order Python's __init__ makes them. The gates read [input, prev_hidden] joined on
    // the last axis; the output is [cell; hidden] joined on axis 0, which LSTMCell cuts apart.
    return LibraryModel{{tensor("input"), tensor("prev_hidden"), weight("w_f", {"d_hid", "d_sum"}),
                         weight("bias_f", {"d_hid"}), tensor("prev_cell"), weight("w_i", {"d_hid", "d_sum"}),
                         weight("bias_i", {"d_hid"}), weight("w_c", {"d_hid", "d_sum"}), weight("bias_c", {"d_hid"}),
                         weight("w_o", {"d_hid", "d_sum"}), weight("bias_o", {"d_hid"})},
                        [](Emit& e) {
                          Value joined = e.apply("concat", {e.in("input"), e.in("prev_hidden")}, {{"axis", int64_t{-1}}});
                          auto gate = [&](const char* w, const char* b) { return linear(e, joined, e.in(w), e.in(b), false); };
                          Value forget = e.apply("sigmoid", {gate("w_f", "bias_f")});
                          Value kept = e.apply("multiply", {e.in("prev_cell"), forget});
                          Value admitted = e.apply("multiply", {e.apply("sigmoid", {gate("w_i", "bias_i")}),
                                                                e.apply("tanh", {gate("w_c", "bias_c")})});
                          Value cell = e.apply("add", {kept, admitted});
                          Value hidden = e.apply("multiply", {e.apply("tanh", {cell}), e.apply("sigmoid", {gate("w_o", "bias_o")})});
                          e.out("concat", {cell, hidden}, {{"axis", int64_t{0}}});
                        }};
  // Not Python models (no dict can name them: canonical_name does not know them): what RNNCell
  // and LSTMCell make of Shape, Indexer(index=0), Slice and Indexer to cut a state at the input's
  // batch size, state[:len(input)] and state[len(input):].
  if (name == kCutBefore || name == kCutAfter)
    return LibraryModel{{tensor("input", KeyKind::any), tensor("like", KeyKind::any)}, [name](Emit& e) {
                          e.out("slice_at_dim", {e.in("input"), e.in("like")},
                                {{"keep", std::string(name == kCutBefore ? "before" : "after")}});
                        }};
  if (name == kJoinRows) {
    const JValue* count = arg(args, "count");
    std::vector<KeyDef> keys;
    for (int64_t i = 0; count && count->IsInt64() && i < count->GetInt64(); ++i) keys.push_back(tensor(fmt::format("input{}", i)));
    return LibraryModel{keys, [keys](Emit& e) {
                          std::vector<Value> parts;
                          for (const KeyDef& k : keys) parts.push_back(e.in(k.name));
                          e.out("concat", parts, {{"axis", int64_t{0}}});
                        }};
  }
  // Python ints from a tensor's shape: only a key that sizes an array takes them (see DimRef).
  if (name == "Size")
    return LibraryModel{{tensor("input", KeyKind::any), valued("dim", arg_json(args, "dim", "null"))}, [](Emit& e) {
                          // model_to_dict drops the constructor's dim: a dict means None (input.size)
                          // unless its connection gives one.
                          auto dim = e.attr("dim");
                          if (!dim.IsInt64() && !dim.IsNull())
                            e.fail("dim " + compact(dim) + ": only one axis or null is supported (a tuple gives a tuple of sizes)");
                          e.out_dim(DimRef{e.in("input"), dim.IsNull() ? std::nullopt : std::optional<int64_t>(dim.GetInt64()), "Size"});
                        }};
  if (name == "Shape")
    return LibraryModel{{tensor("input", KeyKind::any)},
                        [](Emit& e) { e.out_dim(DimRef{e.in("input"), std::nullopt, "Shape", DimRef::Kind::shape}); }};
  if (name == "Slice")
    // slice(None, n, None) or slice(n, None, None) with n a size from a shape (as Python's RNN
    // cells cut a state at the batch size); Python's model_to_dict drops the None given to the
    // constructor, so a dict holds them in args (as our export writes them) or connections.
    return LibraryModel{{attribute(args, "start"), attribute(args, "stop"), attribute(args, "step")}, [](Emit& e) {
                          const DimRef* start = e.dim("start");
                          const DimRef* stop = e.dim("stop");
                          const DimRef* n = start ? start : stop;
                          auto none = [&](const char* key) { return !e.dim(key) && e.has(key) && e.attr(key).IsNull(); };
                          bool unit_step = none("step") || (!e.dim("step") && e.has("step") && e.attr("step").IsInt64() && e.attr("step").GetInt64() == 1);
                          if (!n || (start && stop) || !none(start ? "stop" : "start") || !unit_step || n->kind != DimRef::Kind::size || !n->axis)
                            e.fail("only slice(None, n) or slice(n, None) with n one axis's size from a shape (Size, Length or Shape()[i]) is "
                                   "supported (constant slices, steps and element counts have no form here)");
                          e.out_dim(DimRef{n->tensor, n->axis, "Slice", DimRef::Kind::slice, stop != nullptr});
                        }};
  // Python values and tensors: Item gives the one element's Python number (here a 0-d tensor,
  // which numpy takes the same way in arithmetic), TensorToList the nested list (the same values:
  // numpy reads it back as the array), ToTensor an array of a value (of a size from a shape:
  // int64, numpy's array of a Python int).
  if (name == "Item")
    return LibraryModel{{tensor("input", KeyKind::any)}, [](Emit& e) { e.out("reshape", {e.in("input")}, {{"shape", std::vector<int64_t>{}}}); }};
  if (name == "TensorToList") return unary("identity", KeyKind::any);
  if (name == "ToTensor")
    return LibraryModel{{tensor("input", KeyKind::any), valued("dtype", "null")}, [](Emit& e) {
                          default_dtype_only(e);
                          if (const DimRef* d = e.dim("input"); d && d->kind == DimRef::Kind::size) {
                            e.out("dim_size", {d->tensor}, {{"axis", d->axis_attr()}, {"dtype", std::string("int64")}});
                            return;
                          }
                          e.out("identity", {e.in("input")});
                        }};
  if (name == "Length")  // len(input): the size of axis 0
    return LibraryModel{{tensor("input", KeyKind::any)}, [](Emit& e) { e.out_dim(DimRef{e.in("input"), 0, "Length"}); }};
  // The GPR family. Python's cholesky gives None for a matrix that is not positive definite; here
  // a matrix of NaN only, which gpr_alpha, gpr_eigvalsh and gpr_v_outer read as that None.
  if (name == "Cholesky") return unary("cholesky");
  if (name == "GPRAlpha")
    return LibraryModel{{tensor("label_mu_diff"), tensor("L"), tensor("K_term")},
                        [](Emit& e) { e.out("gpr_alpha", {e.in("label_mu_diff"), e.in("L"), e.in("K_term")}); }};
  if (name == "GPRVOuter")
    return LibraryModel{{tensor("K"), tensor("K_term"), tensor("L")}, [](Emit& e) { e.out("gpr_v_outer", {e.in("K"), e.in("K_term"), e.in("L")}); }};
  if (name == "Eigvalsh")
    return LibraryModel{{tensor("K_term"), tensor("L"), valued("threshold", kEpsilonJson, KeyKind::floating)},
                        [](Emit& e) { e.out("gpr_eigvalsh", {e.in("K_term"), e.in("L"), e.in("threshold")}); }};
  if (name == "GPRLoss")
    return LibraryModel{{tensor("labels"), tensor("mu"), tensor("alpha"), tensor("K_term"), tensor("L")},
                        [robust = arg_bool(args, "robust", false)](Emit& e) {
                          // 0.5 * squeeze((labels - mu).T @ alpha) + sum(log(eigvalsh(K_term, L)))
                          //   + len(labels) * log(2 pi) / 2, in Python's order.
                          Value diff = e.apply("subtract", {e.in("labels"), e.in("mu")});
                          Value dot = e.apply("matmul", {e.apply("transpose", {diff}), e.in("alpha")});
                          Value fit = e.apply("multiply", {e.apply("squeeze", {dot}), e.scalar(0.5)});
                          Value eig = e.apply("gpr_eigvalsh", {e.in("K_term"), e.in("L"), e.scalar(std::numeric_limits<double>::epsilon())});
                          Value log = robust ? e.apply("robust_log", {eig, e.scalar(kMinPositiveNormal)}) : e.apply("log", {eig});
                          Value length = e.apply("dim_size", {e.in("labels")}, {{"axis", int64_t{0}}, {"dtype", std::string("float64")}});
                          Value constant = e.apply("multiply", {length, e.scalar(std::log(2 * std::numbers::pi) / 2)});
                          e.out("add", {e.apply("add", {fit, e.apply("sum", {log})}), constant});
                        }};
  return std::nullopt;
}

}  // namespace mithril::versioning::python_mithril
