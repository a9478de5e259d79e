// Elementwise operators: binary arithmetic with numpy broadcasting, unary math, where, cast.
#include <string>

#include "core/error.h"
#include "ops/families.h"
#include "ops/shape_inference.h"

namespace mithril {

namespace {

enum class Domain { numeric, floating, integer };

void require_domain(const std::string& op, Domain domain, DType dtype) {
  if (domain == Domain::floating) require_floating(op, dtype);
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
}

}  // namespace mithril
