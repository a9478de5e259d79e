// Elementwise operators: binary arithmetic with numpy broadcasting, unary math, where, cast;
// comparisons and logical operators (bool results), clip and mod (ONNX's element-wise math).
#include <string>

#include "core/error.h"
#include "ops/families.h"
#include "ops/shape_inference.h"

namespace mithril {

namespace {

enum class Domain { numeric, floating, integer, boolean, numeric_or_bool };

void require_domain(const std::string& op, Domain domain, DType dtype) {
  if (domain == Domain::floating) require_floating(op, dtype);
  else if (domain == Domain::boolean && dtype != DType::bool_)
    throw Error(ErrorKind::shape, op + " needs bool inputs, got " + std::string(dtype_name(dtype)));
  else if (domain == Domain::numeric_or_bool && dtype != DType::bool_) require_numeric(op, dtype);
  else if (domain == Domain::boolean || domain == Domain::numeric_or_bool) return;
  else if (domain == Domain::integer && !is_integer(dtype))
    throw Error(ErrorKind::shape, op + " needs integer inputs, got " + std::string(dtype_name(dtype)));
  else require_numeric(op, dtype);
}

void add_binary(OpRegistry& registry, const std::string& name, Domain domain, const std::string& doc) {
  registry.add(builtin_schema(
      name, doc + " Numpy broadcasting; both inputs have the same dtype, which the output keeps.",
      {{"left"}, {"right"}}, {}, [name, domain](const std::vector<ValueInfo>& in, const Attributes&) {
        require_same_dtype(in[0].dtype, in[1].dtype);
        require_domain(name, domain, in[0].dtype);
        return ValueInfo{in[0].dtype, broadcast_shapes({in[0].shape, in[1].shape})};
      }));
}

void add_unary(OpRegistry& registry, const std::string& name, Domain domain, const std::string& doc) {
  registry.add(builtin_schema(name, doc + " Output has the input's dtype and shape.", {{"input"}}, {},
                              [name, domain](const std::vector<ValueInfo>& in, const Attributes&) {
                                require_domain(name, domain, in[0].dtype);
                                return in[0];
                              }));
}

// A binary operator whose output is bool: comparisons and logical operators.
void add_predicate(OpRegistry& registry, const std::string& name, Domain domain, const std::string& doc) {
  registry.add(builtin_schema(
      name, doc + " Numpy broadcasting; both inputs have the same dtype; the output is bool.", {{"left"}, {"right"}}, {},
      [name, domain](const std::vector<ValueInfo>& in, const Attributes&) {
        require_same_dtype(in[0].dtype, in[1].dtype);
        require_domain(name, domain, in[0].dtype);
        return ValueInfo{DType::bool_, broadcast_shapes({in[0].shape, in[1].shape})};
      }));
}

// A unary floating-point test with a bool output (isnan, isinf).
void add_unary_test(OpRegistry& registry, const std::string& name, std::vector<AttrSpec> attributes, const std::string& doc) {
  registry.add(builtin_schema(name, doc + " The output is bool with the input's shape.", {{"input"}}, std::move(attributes),
                              [name](const std::vector<ValueInfo>& in, const Attributes&) {
                                require_floating(name, in[0].dtype);
                                return ValueInfo{DType::bool_, in[0].shape};
                              }));
}

ValueInfo infer_where(const std::vector<ValueInfo>& in, const Attributes&) {
  if (in[0].dtype != DType::bool_)
    throw Error(ErrorKind::shape, "where: condition must be bool, got " + std::string(dtype_name(in[0].dtype)));
  require_same_dtype(in[1].dtype, in[2].dtype);
  return ValueInfo{in[1].dtype, broadcast_shapes({in[0].shape, in[1].shape, in[2].shape})};
}

ValueInfo infer_cast(const std::vector<ValueInfo>& in, const Attributes& attrs) {
  const std::string& name = attr_string(attrs, "dtype");
  std::optional<DType> target = dtype_from_name(name);
  if (!target) throw Error(ErrorKind::schema, "cast: unknown dtype '" + name + "'");
  if (is_complex(in[0].dtype) && !is_complex(*target))
    throw Error(ErrorKind::unsupported, "cast from " + std::string(dtype_name(in[0].dtype)) + " to " + name +
                                            " would drop the imaginary part; take the real part explicitly");
  return ValueInfo{*target, in[0].shape};
}

}  // namespace

void register_elementwise_ops(OpRegistry& registry) {
  add_binary(registry, "add", Domain::numeric, "left + right.");
  add_binary(registry, "subtract", Domain::numeric, "left - right.");
  add_binary(registry, "multiply", Domain::numeric, "left * right.");
  add_binary(registry, "divide", Domain::floating, "left / right (true division; floating-point only).");
  add_binary(registry, "power", Domain::floating, "left ** right (floating-point only).");
  add_binary(registry, "maximum", Domain::numeric, "Elementwise maximum; NaN propagates as in numpy.");
  add_binary(registry, "minimum", Domain::numeric, "Elementwise minimum; NaN propagates as in numpy.");
  add_binary(registry, "floor_divide", Domain::numeric,
             "left // right as numpy computes it: floats through fmod (the result is floor(left / right) corrected "
             "by the remainder, NaN or +-inf for a zero divisor), integers rounded toward -inf (0 for a zero divisor).");
  add_binary(registry, "shift_left", Domain::integer, "left << right on integers (0 when shifting by the bit width or more).");
  add_binary(registry, "shift_right", Domain::integer,
             "left >> right on integers, arithmetic (the sign is kept; shifting by the bit width or more gives 0 or -1).");

  add_unary(registry, "negate", Domain::numeric, "-input.");
  add_unary(registry, "abs", Domain::numeric, "|input|.");
  add_unary(registry, "exp", Domain::floating, "e ** input.");
  add_unary(registry, "log", Domain::floating, "Natural logarithm (NaN below 0, -inf at 0).");
  add_unary(registry, "sqrt", Domain::floating, "Square root (NaN below 0).");
  add_unary(registry, "sin", Domain::floating, "Sine (radians).");
  add_unary(registry, "cos", Domain::floating, "Cosine (radians).");

  registry.add(builtin_schema(
      "where", "condition ? x : y elementwise, numpy broadcasting over all three; condition is bool, x and y share "
               "the output dtype.",
      {{"condition"}, {"x"}, {"y"}}, {}, infer_where));
  registry.add(builtin_schema(
      "cast", "The input converted to attribute `dtype` (a dtype name such as \"float32\"). Float to integer "
              "truncates toward zero; nonzero to bool is true; complex to real is refused.",
      {{"input"}}, {{"dtype", AttrType::string, std::nullopt}}, infer_cast));

  // --- ONNX nn/math ops (issue 14)
  add_unary(registry, "erf", Domain::floating, "Error function.");
  add_unary(registry, "floor", Domain::floating, "Largest integer not above input.");
  add_unary(registry, "ceil", Domain::floating, "Smallest integer not below input.");
  add_unary(registry, "round", Domain::floating, "Nearest integer, halves to even (numpy's round, ONNX Round).");
  add_unary(registry, "sign", Domain::numeric, "-1, 0 or 1 by the sign of input (NaN stays NaN).");
  add_unary(registry, "reciprocal", Domain::floating, "1 / input.");
  add_unary(registry, "tan", Domain::floating, "Tangent (radians).");
  add_unary(registry, "asin", Domain::floating, "Arcsine (NaN outside [-1, 1]).");
  add_unary(registry, "acos", Domain::floating, "Arccosine (NaN outside [-1, 1]).");
  add_unary(registry, "atan", Domain::floating, "Arctangent.");
  add_unary(registry, "sinh", Domain::floating, "Hyperbolic sine.");
  add_unary(registry, "cosh", Domain::floating, "Hyperbolic cosine.");
  add_unary(registry, "asinh", Domain::floating, "Inverse hyperbolic sine.");
  add_unary(registry, "acosh", Domain::floating, "Inverse hyperbolic cosine (NaN below 1).");
  add_unary(registry, "atanh", Domain::floating, "Inverse hyperbolic tangent (NaN outside [-1, 1], +-inf at +-1).");
  add_unary(registry, "logical_not", Domain::boolean, "Logical negation of a bool input.");
  add_unary_test(registry, "isnan", {}, "True where input is NaN.");
  add_unary_test(registry, "isinf",
                 {{"detect_positive", AttrType::boolean, AttrValue{true}}, {"detect_negative", AttrType::boolean, AttrValue{true}}},
                 "True where input is +inf (if detect_positive) or -inf (if detect_negative), as ONNX IsInf.");

  add_predicate(registry, "equal", Domain::numeric_or_bool, "left == right (numeric or bool).");
  add_predicate(registry, "less", Domain::numeric, "left < right (false where either is NaN).");
  add_predicate(registry, "less_equal", Domain::numeric, "left <= right (false where either is NaN).");
  add_predicate(registry, "greater", Domain::numeric, "left > right (false where either is NaN).");
  add_predicate(registry, "greater_equal", Domain::numeric, "left >= right (false where either is NaN).");
  add_predicate(registry, "logical_and", Domain::boolean, "left and right, on bool inputs.");
  add_predicate(registry, "logical_or", Domain::boolean, "left or right, on bool inputs.");
  add_predicate(registry, "logical_xor", Domain::boolean, "left xor right, on bool inputs.");

  registry.add(builtin_schema(
      "clip",
      "input limited to [min, max] as numpy's clip: max(input, min) then min(., max); a null bound is no bound; "
      "NaN stays NaN; when min > max every element becomes max. Bounds are converted to the input dtype (ONNX Clip).",
      {{"input"}}, {{"min", AttrType::number_or_null, AttrValue{}}, {"max", AttrType::number_or_null, AttrValue{}}},
      [](const std::vector<ValueInfo>& in, const Attributes&) {
        require_numeric("clip", in[0].dtype);
        return in[0];
      }));
  registry.add(builtin_schema(
      "mod",
      "Remainder of left / right. fmod=false: the sign of the divisor, as numpy's mod / Python's % (integers: 0 "
      "for a zero divisor); fmod=true: the sign of the dividend, as C's fmod (ONNX Mod with fmod=1). Numpy "
      "broadcasting; both inputs have the same dtype, which the output keeps.",
      {{"left"}, {"right"}}, {{"fmod", AttrType::boolean, AttrValue{false}}},
      [](const std::vector<ValueInfo>& in, const Attributes&) {
        require_same_dtype(in[0].dtype, in[1].dtype);
        require_numeric("mod", in[0].dtype);
        return ValueInfo{in[0].dtype, broadcast_shapes({in[0].shape, in[1].shape})};
      }));
}

}  // namespace mithril
