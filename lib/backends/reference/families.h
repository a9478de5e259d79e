#pragma once
// Internal: the reference kernels, one lib/backends/reference/<family>.cpp per operator family
// (mirroring lib/ops/<family>.cpp), attached by register_reference_kernels() in kernels.cpp; plus
// the dtype dispatch they share. No xtensor here: it is included by the family .cpp files only,
// which keeps its heavy templates out of every other translation unit.
#include <complex>
#include <string_view>
#include <type_traits>

#include "core/dtype.h"
#include "ops/registry.h"

namespace mithril {

void register_reference_elementwise_kernels(OpRegistry& registry);
void register_reference_activation_kernels(OpRegistry& registry);
void register_reference_linalg_kernels(OpRegistry& registry);
void register_reference_reduction_kernels(OpRegistry& registry);
void register_reference_shape_kernels(OpRegistry& registry);
void register_reference_nn_kernels(OpRegistry& registry);
void register_reference_loss_kernels(OpRegistry& registry);
// --- ONNX shape/indexing ops (issue 14)
void register_reference_indexing_kernels(OpRegistry& registry);

/// For every flat (C-order) index of `out`, the offset of the matching element of `operand`
/// broadcast to it with numpy's rules (axes aligned on the right; size-1 and missing axes repeat).
/// Offsets count in units of `unit` elements (matmul uses one matrix as the unit).
std::vector<int64_t> broadcast_offsets(const Shape& operand, const Shape& out, int64_t unit = 1);

/// The backend name reference kernels are registered under.
inline constexpr const char* kReferenceBackend = "reference";

/// Throws Error(unsupported) "reference kernel of 'exp' does not support int64".
[[noreturn]] void throw_unsupported_dtype(std::string_view op, DType dtype);

/// Calls f(T{}) for T = float or double; anything else is unsupported.
template <class F>
void dispatch_floating(std::string_view op, DType dtype, F&& f) {
  switch (dtype) {
    case DType::float32: f(float{}); return;
    case DType::float64: f(double{}); return;
    default: throw_unsupported_dtype(op, dtype);
  }
}

/// Calls f(T{}) for T = float, double, int32_t or int64_t; anything else is unsupported.
template <class F>
void dispatch_numeric(std::string_view op, DType dtype, F&& f) {
  switch (dtype) {
    case DType::float32: f(float{}); return;
    case DType::float64: f(double{}); return;
    case DType::int32: f(int32_t{}); return;
    case DType::int64: f(int64_t{}); return;
    default: throw_unsupported_dtype(op, dtype);
  }
}

/// Calls f(T{}) for T = float, double or any integer type from int8_t to uint64_t (the integer
/// widths ONNX models use); anything else is unsupported.
template <class F>
void dispatch_all_numeric(std::string_view op, DType dtype, F&& f) {
  switch (dtype) {
    case DType::int8: f(int8_t{}); return;
    case DType::int16: f(int16_t{}); return;
    case DType::uint8: f(uint8_t{}); return;
    case DType::uint16: f(uint16_t{}); return;
    case DType::uint32: f(uint32_t{}); return;
    case DType::uint64: f(uint64_t{}); return;
    default: dispatch_numeric(op, dtype, f);
  }
}

/// Calls f(T{}) for any integer type from int8_t to uint64_t; anything else is unsupported.
template <class F>
void dispatch_integer(std::string_view op, DType dtype, F&& f) {
  switch (dtype) {
    case DType::int8: f(int8_t{}); return;
    case DType::int16: f(int16_t{}); return;
    case DType::int32: f(int32_t{}); return;
    case DType::int64: f(int64_t{}); return;
    case DType::uint8: f(uint8_t{}); return;
    case DType::uint16: f(uint16_t{}); return;
    case DType::uint32: f(uint32_t{}); return;
    case DType::uint64: f(uint64_t{}); return;
    default: throw_unsupported_dtype(op, dtype);
  }
}

/// x < 0, written so that unsigned types compile without a "always false" warning.
template <class T>
constexpr bool is_negative(T x) {
  if constexpr (std::is_signed_v<T>) return x < 0;
  else return false;
}

// Integer arithmetic wraps around (two's complement) as in numpy; computing in the unsigned type
// gives that result without the undefined behaviour of signed overflow. Floats are unchanged.
template <class T>
T wrapping_add(T a, T b) {
  if constexpr (std::is_integral_v<T>) return static_cast<T>(std::make_unsigned_t<T>(a) + std::make_unsigned_t<T>(b));
  else return a + b;
}
template <class T>
T wrapping_subtract(T a, T b) {
  if constexpr (std::is_integral_v<T>) return static_cast<T>(std::make_unsigned_t<T>(a) - std::make_unsigned_t<T>(b));
  else return a - b;
}
template <class T>
T wrapping_multiply(T a, T b) {
  if constexpr (std::is_integral_v<T>) return static_cast<T>(std::make_unsigned_t<T>(a) * std::make_unsigned_t<T>(b));
  else return a * b;
}

// --- ONNX shape/indexing ops (issue 14)

/// For kernels that move elements without looking at them: calls f(W{}) with W an unsigned word
/// (or 16-byte std::complex<double>, copied bit for bit) of the dtype's element size, so one
/// instantiation per size serves every dtype (bool, int8, float16, ...).
template <class F>
void dispatch_element_size(std::string_view op, DType dtype, F&& f) {
  switch (dtype_size(dtype)) {
    case 1: f(uint8_t{}); return;
    case 2: f(uint16_t{}); return;
    case 4: f(uint32_t{}); return;
    case 8: f(uint64_t{}); return;
    case 16: f(std::complex<double>{}); return;
    default: throw_unsupported_dtype(op, dtype);
  }
}

}  // namespace mithril
