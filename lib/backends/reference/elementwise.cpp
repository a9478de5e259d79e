// Reference kernels of the elementwise family. Binary operators and where broadcast through
// xtensor; unary operators are plain loops over equally shaped buffers. Integer operators take
// every width from int8 to uint64 (ONNX models use them all); the binary arithmetic operators and
// mod take float16 and bfloat16 through float32.
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>

#include <xtensor/xadapt.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>

#include "backends/reference/families.h"
#include "core/error.h"

namespace mithril {

namespace {

std::vector<std::size_t> xshape(const Tensor& t) { return {t.shape().begin(), t.shape().end()}; }

template <class T>
auto read_view(const Tensor& t) {
  return xt::adapt(t.data_as<T>(), static_cast<std::size_t>(t.numel()), xt::no_ownership(), xshape(t));
}

template <class T>
auto write_view(Tensor& t) {
  return xt::adapt(t.mutable_data_as<T>(), static_cast<std::size_t>(t.numel()), xt::no_ownership(), xshape(t));
}

// float16 and bfloat16 operands computed in float32 and rounded once to the output dtype: exact
// for maximum, minimum and mod, and correctly rounded for + - * / (float32 carries more than twice
// their precision plus two bits), as numpy computes float16. False for other dtypes.
template <class Kernel>
bool half_through_float32(const std::vector<Tensor>& in, Tensor& out, Kernel kernel) {
  if (out.dtype() != DType::float16 && out.dtype() != DType::bfloat16) return false;
  std::vector<Tensor> wide;
  for (const Tensor& t : in) wide.push_back(t.cast(DType::float32));
  Tensor result(DType::float32, out.shape());
  kernel(wide, result);
  Tensor narrow = result.cast(out.dtype());
  std::memcpy(out.mutable_data(), narrow.data(), out.nbytes());
  return true;
}

template <class F>
void add_binary(OpRegistry& registry, const std::string& op, bool floating_only, F f) {
  auto compute = [op, floating_only, f](const std::vector<Tensor>& in, Tensor& out) {
    auto run = [&](auto tag) {
      using T = decltype(tag);
      auto o = write_view<T>(out);
      xt::noalias(o) = xt::make_lambda_xfunction([f](T a, T b) { return static_cast<T>(f(a, b)); },
                                                 read_view<T>(in[0]), read_view<T>(in[1]));
    };
    if (floating_only) dispatch_floating(op, out.dtype(), run);
    else dispatch_all_numeric(op, out.dtype(), run);
  };
  registry.add_kernel(op, kReferenceBackend, [compute](const std::vector<Tensor>& in, const Attributes&, Tensor& out) {
    if (!half_through_float32(in, out, compute)) compute(in, out);
  });
}

template <class F>
void add_unary(OpRegistry& registry, const std::string& op, bool floating_only, F f) {
  registry.add_kernel(op, kReferenceBackend, [op, floating_only, f](const std::vector<Tensor>& in, const Attributes&,
                                                                    Tensor& out) {
    auto run = [&](auto tag) {
      using T = decltype(tag);
      const T* x = in[0].data_as<T>();
      T* y = out.mutable_data_as<T>();
      for (int64_t i = 0; i < out.numel(); ++i) y[i] = static_cast<T>(f(x[i]));
    };
    if (floating_only) dispatch_floating(op, out.dtype(), run);
    else dispatch_all_numeric(op, out.dtype(), run);
  });
}

template <class F>
void add_integer_binary(OpRegistry& registry, const std::string& op, F f) {
  registry.add_kernel(op, kReferenceBackend, [op, f](const std::vector<Tensor>& in, const Attributes&, Tensor& out) {
    auto run = [&](auto tag) {
      using T = decltype(tag);
      auto o = write_view<T>(out);
      xt::noalias(o) = xt::make_lambda_xfunction([f](T a, T b) { return static_cast<T>(f(a, b)); },
                                                 read_view<T>(in[0]), read_view<T>(in[1]));
    };
    dispatch_integer(op, out.dtype(), run);
  });
}

// numpy's floor division: for floats npy_floor_divide (through fmod, as Python's float //), for
// integers rounding toward -inf with 0 for a zero divisor and wrap-around for INT_MIN // -1.
template <class T>
T floor_divide(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (b == 0) return a / b;
    T mod = std::fmod(a, b);
    T div = (a - mod) / b;
    if (mod != 0) {
      if ((b < 0) != (mod < 0)) div -= 1;
    }
    T floordiv;
    if (div != 0) {
      floordiv = std::floor(div);
      if (div - floordiv > T(0.5)) floordiv += 1;
    } else {
      floordiv = std::copysign(T(0), a / b);
    }
    return floordiv;
  } else {
    if (b == 0) return T(0);
    if constexpr (std::is_signed_v<T>) {
      if (b == -1) return wrapping_subtract(T(0), a);
    }
    T q = static_cast<T>(a / b);
    if (a % b != 0 && (is_negative(a) != is_negative(b))) q = static_cast<T>(q - 1);
    return q;
  }
}

// A binary operator with a bool result; `inputs` chooses the input dtypes it accepts.
enum class PredicateInputs { numeric, numeric_or_bool, boolean };

template <class F>
void add_predicate(OpRegistry& registry, const std::string& op, PredicateInputs inputs, F f) {
  registry.add_kernel(op, kReferenceBackend, [op, inputs, f](const std::vector<Tensor>& in, const Attributes&, Tensor& out) {
    auto run = [&](auto tag) {
      using T = decltype(tag);
      auto o = write_view<bool>(out);
      xt::noalias(o) = xt::make_lambda_xfunction([f](T a, T b) { return static_cast<bool>(f(a, b)); },
                                                 read_view<T>(in[0]), read_view<T>(in[1]));
    };
    DType dtype = in[0].dtype();
    if (dtype == DType::bool_ && inputs != PredicateInputs::numeric) run(bool{});
    else if (inputs == PredicateInputs::boolean) throw_unsupported_dtype(op, dtype);
    else dispatch_all_numeric(op, dtype, run);
  });
}

// A floating-point test with a bool result (isnan, isinf): f(x, detect_positive, detect_negative),
// the two flags read once (isinf's attributes; true for isnan, which has none).
template <class F>
void add_unary_test(OpRegistry& registry, const std::string& op, F f) {
  registry.add_kernel(op, kReferenceBackend, [op, f](const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
    bool positive = !attrs.count("detect_positive") || attr_bool(attrs, "detect_positive");
    bool negative = !attrs.count("detect_negative") || attr_bool(attrs, "detect_negative");
    dispatch_floating(op, in[0].dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* x = in[0].data_as<T>();
      bool* y = out.mutable_data_as<bool>();
      for (int64_t i = 0; i < out.numel(); ++i) y[i] = f(x[i], positive, negative);
    });
  });
}

// numpy's mod (the sign of the divisor: npy_divmod for floats, Python's % for integers with 0 for
// a zero divisor) or, with `c_fmod`, C's fmod (integers truncate; 0 for a zero divisor).
template <class T>
T remainder(T a, T b, bool c_fmod) {
  if constexpr (std::is_floating_point_v<T>) {
    T mod = std::fmod(a, b);
    if (c_fmod || b == 0) return mod;
    if (mod != 0) {
      if ((b < 0) != (mod < 0)) mod += b;
    } else {
      mod = std::copysign(T(0), b);
    }
    return mod;
  } else {
    if (b == 0) return T(0);
    if constexpr (std::is_signed_v<T>) {
      if (b == -1) return T(0);  // INT_MIN % -1 would overflow
      T r = static_cast<T>(a % b);
      if (!c_fmod && r != 0 && ((r < 0) != (b < 0))) r = static_cast<T>(r + b);
      return r;
    } else {
      return static_cast<T>(a % b);
    }
  }
}

void mod_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  if (half_through_float32(in, out, [&](const std::vector<Tensor>& wide, Tensor& y) { mod_kernel(wide, attrs, y); })) return;
  bool c_fmod = attr_bool(attrs, "fmod");
  dispatch_all_numeric("mod", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    auto o = write_view<T>(out);
    xt::noalias(o) = xt::make_lambda_xfunction([c_fmod](T a, T b) { return remainder(a, b, c_fmod); }, read_view<T>(in[0]),
                                               read_view<T>(in[1]));
  });
}

// A bound of clip in the input's type; nullopt for a null bound. Integer bounds beyond the type's
// range saturate, so they bound nothing rather than wrap.
template <class T>
std::optional<T> clip_bound(const Attributes& attrs, const std::string& name) {
  if (attr_is_null(attrs, name)) return std::nullopt;
  double v = attr_number(attrs, name);
  if constexpr (std::is_integral_v<T>) {
    if (v <= static_cast<double>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
    if (v >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
  }
  return static_cast<T>(v);
}

void clip_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  dispatch_all_numeric("clip", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    std::optional<T> low = clip_bound<T>(attrs, "min"), high = clip_bound<T>(attrs, "max");
    const T* x = in[0].data_as<T>();
    T* y = out.mutable_data_as<T>();
    for (int64_t i = 0; i < out.numel(); ++i) {
      T v = x[i];
      if (low && v < *low) v = *low;  // comparisons with NaN are false: NaN stays
      if (high && v > *high) v = *high;
      y[i] = v;
    }
  });
}

template <class T>
T sign_of(T x) {
  if constexpr (std::is_floating_point_v<T>) return x > 0 ? T(1) : x < 0 ? T(-1) : x;  // 0, -0 and NaN stay
  else if constexpr (std::is_signed_v<T>) return x > 0 ? T(1) : x < 0 ? T(-1) : T(0);
  else return x > 0 ? T(1) : T(0);
}

void where_kernel(const std::vector<Tensor>& in, const Attributes&, Tensor& out) {
  auto run = [&](auto tag) {
    using T = decltype(tag);
    auto o = write_view<T>(out);
    xt::noalias(o) = xt::make_lambda_xfunction([](bool c, T x, T y) { return c ? x : y; }, read_view<bool>(in[0]),
                                               read_view<T>(in[1]), read_view<T>(in[2]));
  };
  if (out.dtype() == DType::bool_) run(bool{});
  else dispatch_all_numeric("where", out.dtype(), run);
}

void cast_kernel(const std::vector<Tensor>& in, const Attributes&, Tensor& out) {
  Tensor converted = in[0].cast(out.dtype());
  if (out.nbytes() > 0) std::memcpy(out.mutable_data(), converted.data(), out.nbytes());
}

}  // namespace

void register_reference_elementwise_kernels(OpRegistry& registry) {
  add_binary(registry, "add", false, [](auto a, auto b) { return wrapping_add(a, b); });
  add_binary(registry, "subtract", false, [](auto a, auto b) { return wrapping_subtract(a, b); });
  add_binary(registry, "multiply", false, [](auto a, auto b) { return wrapping_multiply(a, b); });
  add_binary(registry, "divide", true, [](auto a, auto b) { return a / b; });
  add_binary(registry, "power", true, [](auto a, auto b) { return std::pow(a, b); });
  // numpy's NaN rule: the result is NaN when either operand is (a != a only for NaN).
  add_binary(registry, "maximum", false, [](auto a, auto b) { return (a != a || a >= b) ? a : b; });
  add_binary(registry, "minimum", false, [](auto a, auto b) { return (a != a || a <= b) ? a : b; });

  add_binary(registry, "floor_divide", false, [](auto a, auto b) { return floor_divide(a, b); });
  add_integer_binary(registry, "shift_left", [](auto a, auto b) {
    using T = decltype(a);
    if (is_negative(b) || b >= static_cast<T>(8 * sizeof(T))) return T(0);  // numpy's npy_lshift
    return static_cast<T>(std::make_unsigned_t<T>(a) << b);
  });
  add_integer_binary(registry, "shift_right", [](auto a, auto b) {
    using T = decltype(a);
    if (is_negative(b) || b >= static_cast<T>(8 * sizeof(T))) return is_negative(a) ? T(-1) : T(0);  // numpy's npy_rshift
    return static_cast<T>(a >> b);
  });

  add_unary(registry, "negate", false, [](auto x) {
    if constexpr (std::is_floating_point_v<decltype(x)>) return -x;
    else return wrapping_subtract(decltype(x)(0), x);
  });
  add_unary(registry, "abs", false, [](auto x) {
    if constexpr (std::is_floating_point_v<decltype(x)>) return std::abs(x);  // also clears the sign of -0.0
    else return is_negative(x) ? wrapping_subtract(decltype(x)(0), x) : x;  // numpy: abs(INT_MIN) == INT_MIN
  });
  add_unary(registry, "exp", true, [](auto x) { return std::exp(x); });
  add_unary(registry, "log", true, [](auto x) { return std::log(x); });
  add_unary(registry, "sqrt", true, [](auto x) { return std::sqrt(x); });
  add_unary(registry, "sin", true, [](auto x) { return std::sin(x); });
  add_unary(registry, "cos", true, [](auto x) { return std::cos(x); });

  registry.add_kernel("where", kReferenceBackend, where_kernel);
  registry.add_kernel("cast", kReferenceBackend, cast_kernel);

  // --- ONNX nn/math ops (issue 14)
  add_unary(registry, "erf", true, [](auto x) { return std::erf(x); });
  add_unary(registry, "floor", true, [](auto x) { return std::floor(x); });
  add_unary(registry, "ceil", true, [](auto x) { return std::ceil(x); });
  add_unary(registry, "round", true, [](auto x) { return std::nearbyint(x); });  // default mode: halves to even
  add_unary(registry, "reciprocal", true, [](auto x) { return decltype(x)(1) / x; });
  add_unary(registry, "tan", true, [](auto x) { return std::tan(x); });
  add_unary(registry, "asin", true, [](auto x) { return std::asin(x); });
  add_unary(registry, "acos", true, [](auto x) { return std::acos(x); });
  add_unary(registry, "atan", true, [](auto x) { return std::atan(x); });
  add_unary(registry, "sinh", true, [](auto x) { return std::sinh(x); });
  add_unary(registry, "cosh", true, [](auto x) { return std::cosh(x); });
  add_unary(registry, "asinh", true, [](auto x) { return std::asinh(x); });
  add_unary(registry, "acosh", true, [](auto x) { return std::acosh(x); });
  add_unary(registry, "atanh", true, [](auto x) { return std::atanh(x); });
  registry.add_kernel("sign", kReferenceBackend, [](const std::vector<Tensor>& in, const Attributes&, Tensor& out) {
    dispatch_all_numeric("sign", out.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* x = in[0].data_as<T>();
      T* y = out.mutable_data_as<T>();
      for (int64_t i = 0; i < out.numel(); ++i) y[i] = sign_of(x[i]);
    });
  });
  registry.add_kernel("logical_not", kReferenceBackend, [](const std::vector<Tensor>& in, const Attributes&, Tensor& out) {
    if (in[0].dtype() != DType::bool_) throw_unsupported_dtype("logical_not", in[0].dtype());
    const bool* x = in[0].data_as<bool>();
    bool* y = out.mutable_data_as<bool>();
    for (int64_t i = 0; i < out.numel(); ++i) y[i] = !x[i];
  });
  add_unary_test(registry, "isnan", [](auto x, bool, bool) { return std::isnan(x); });
  add_unary_test(registry, "isinf", [](auto x, bool positive, bool negative) {
    return std::isinf(x) && (x > 0 ? positive : negative);
  });
  add_predicate(registry, "equal", PredicateInputs::numeric_or_bool, [](auto a, auto b) { return a == b; });
  add_predicate(registry, "less", PredicateInputs::numeric, [](auto a, auto b) { return a < b; });
  add_predicate(registry, "less_equal", PredicateInputs::numeric, [](auto a, auto b) { return a <= b; });
  add_predicate(registry, "greater", PredicateInputs::numeric, [](auto a, auto b) { return a > b; });
  add_predicate(registry, "greater_equal", PredicateInputs::numeric, [](auto a, auto b) { return a >= b; });
  add_predicate(registry, "logical_and", PredicateInputs::boolean, [](auto a, auto b) { return a && b; });
  add_predicate(registry, "logical_or", PredicateInputs::boolean, [](auto a, auto b) { return a || b; });
  add_predicate(registry, "logical_xor", PredicateInputs::boolean, [](auto a, auto b) { return a != b; });
  registry.add_kernel("clip", kReferenceBackend, clip_kernel);
  registry.add_kernel("mod", kReferenceBackend, mod_kernel);
}

}  // namespace mithril
