// Reference kernels of the elementwise family. Binary operators and where broadcast through
// xtensor; unary operators are plain loops over equally shaped buffers.
#include <cmath>
#include <cstring>
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

template <class F>
void add_binary(OpRegistry& registry, const std::string& op, bool floating_only, F f) {
  registry.add_kernel(op, kReferenceBackend, [op, floating_only, f](const std::vector<Tensor>& in, const Attributes&,
                                                                    Tensor& out) {
    auto run = [&](auto tag) {
      using T = decltype(tag);
      auto o = write_view<T>(out);
      xt::noalias(o) = xt::make_lambda_xfunction([f](T a, T b) { return static_cast<T>(f(a, b)); },
                                                 read_view<T>(in[0]), read_view<T>(in[1]));
    };
    if (floating_only) dispatch_floating(op, out.dtype(), run);
    else dispatch_numeric(op, out.dtype(), run);
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
    else dispatch_numeric(op, out.dtype(), run);
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
    if (out.dtype() == DType::int32) run(int32_t{});
    else if (out.dtype() == DType::int64) run(int64_t{});
    else throw_unsupported_dtype(op, out.dtype());
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
    if (b == -1) return wrapping_subtract(T(0), a);
    T q = a / b;
    if (a % b != 0 && ((a < 0) != (b < 0))) q -= 1;
    return q;
  }
}

void where_kernel(const std::vector<Tensor>& in, const Attributes&, Tensor& out) {
  auto run = [&](auto tag) {
    using T = decltype(tag);
    auto o = write_view<T>(out);
    xt::noalias(o) = xt::make_lambda_xfunction([](bool c, T x, T y) { return c ? x : y; }, read_view<bool>(in[0]),
                                               read_view<T>(in[1]), read_view<T>(in[2]));
  };
  if (out.dtype() == DType::bool_) run(bool{});
  else dispatch_numeric("where", out.dtype(), run);
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
    if (b < 0 || b >= static_cast<T>(8 * sizeof(T))) return T(0);  // numpy's npy_lshift
    return static_cast<T>(std::make_unsigned_t<T>(a) << b);
  });
  add_integer_binary(registry, "shift_right", [](auto a, auto b) {
    using T = decltype(a);
    if (b < 0 || b >= static_cast<T>(8 * sizeof(T))) return a < 0 ? T(-1) : T(0);  // numpy's npy_rshift
    return static_cast<T>(a >> b);
  });

  add_unary(registry, "negate", false, [](auto x) {
    if constexpr (std::is_floating_point_v<decltype(x)>) return -x;
    else return wrapping_subtract(decltype(x)(0), x);
  });
  add_unary(registry, "abs", false, [](auto x) {
    if constexpr (std::is_floating_point_v<decltype(x)>) return std::abs(x);  // also clears the sign of -0.0
    else return x < 0 ? wrapping_subtract(decltype(x)(0), x) : x;           // numpy: abs(INT_MIN) == INT_MIN
  });
  add_unary(registry, "exp", true, [](auto x) { return std::exp(x); });
  add_unary(registry, "log", true, [](auto x) { return std::log(x); });
  add_unary(registry, "sqrt", true, [](auto x) { return std::sqrt(x); });
  add_unary(registry, "sin", true, [](auto x) { return std::sin(x); });
  add_unary(registry, "cos", true, [](auto x) { return std::cos(x); });

  registry.add_kernel("where", kReferenceBackend, where_kernel);
  registry.add_kernel("cast", kReferenceBackend, cast_kernel);
}

}  // namespace mithril
