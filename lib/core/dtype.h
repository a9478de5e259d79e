#pragma once
// Element types of tensors.
//
// The enum is the library's own numbering; file formats map it to their codes (npy descr strings,
// .mbin dtype ids) in their own code. Adding a type means adding it here and to the table in
// dtype.cpp; nothing else switches on the full list except casts.
#include <complex>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mithril {

enum class DType : uint8_t {
  bool_,
  int8,
  int16,
  int32,
  int64,
  uint8,
  uint16,
  uint32,
  uint64,
  float16,
  bfloat16,
  float32,
  float64,
  complex64,
  complex128,
};

/// Number of DType values; every value below it is valid.
inline constexpr int kDTypeCount = 15;

/// Canonical lowercase name: "bool", "int8", ..., "float32", "complex128".
std::string_view dtype_name(DType dtype);

/// Parses a canonical name; nullopt for anything else.
std::optional<DType> dtype_from_name(std::string_view name);

/// Size of one element in bytes.
std::size_t dtype_size(DType dtype);

bool is_floating(DType dtype);  ///< float16, bfloat16, float32, float64
bool is_integer(DType dtype);   ///< signed or unsigned integers (not bool)
bool is_complex(DType dtype);   ///< complex64, complex128

/// numpy.result_type of two arrays of these dtypes for bool, integers and float16/32/64 (what its
/// arithmetic and comparisons promote both operands to: int64 with float64 is float64, int32 with
/// float32 float64, uint64 with int64 float64); nullopt for bfloat16 and complex, which numpy's
/// promotion does not cover here.
std::optional<DType> numpy_result_type(DType a, DType b);

/// IEEE half and bfloat16 stored as raw 16-bit patterns.
struct float16_t { uint16_t bits; };
struct bfloat16_t { uint16_t bits; };

float float16_to_float(uint16_t bits);
uint16_t float_to_float16(float value);   ///< round to nearest even, overflow to inf
float bfloat16_to_float(uint16_t bits);
uint16_t float_to_bfloat16(float value);  ///< round to nearest even, NaN kept quiet

/// The DType of a C++ element type.
template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<bool>() { return DType::bool_; }
template <> constexpr DType dtype_of<int8_t>() { return DType::int8; }
template <> constexpr DType dtype_of<int16_t>() { return DType::int16; }
template <> constexpr DType dtype_of<int32_t>() { return DType::int32; }
template <> constexpr DType dtype_of<int64_t>() { return DType::int64; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::uint8; }
template <> constexpr DType dtype_of<uint16_t>() { return DType::uint16; }
template <> constexpr DType dtype_of<uint32_t>() { return DType::uint32; }
template <> constexpr DType dtype_of<uint64_t>() { return DType::uint64; }
template <> constexpr DType dtype_of<float16_t>() { return DType::float16; }
template <> constexpr DType dtype_of<bfloat16_t>() { return DType::bfloat16; }
template <> constexpr DType dtype_of<float>() { return DType::float32; }
template <> constexpr DType dtype_of<double>() { return DType::float64; }
template <> constexpr DType dtype_of<std::complex<float>>() { return DType::complex64; }
template <> constexpr DType dtype_of<std::complex<double>>() { return DType::complex128; }

/// Calls f(T{}) with T the C++ element type of `dtype` (float16_t/bfloat16_t for the 16-bit floats).
template <class F>
decltype(auto) visit_dtype(DType dtype, F&& f) {
  switch (dtype) {
    case DType::bool_: return f(bool{});
    case DType::int8: return f(int8_t{});
    case DType::int16: return f(int16_t{});
    case DType::int32: return f(int32_t{});
    case DType::int64: return f(int64_t{});
    case DType::uint8: return f(uint8_t{});
    case DType::uint16: return f(uint16_t{});
    case DType::uint32: return f(uint32_t{});
    case DType::uint64: return f(uint64_t{});
    case DType::float16: return f(float16_t{});
    case DType::bfloat16: return f(bfloat16_t{});
    case DType::float32: return f(float{});
    case DType::float64: return f(double{});
    case DType::complex64: return f(std::complex<float>{});
    case DType::complex128: return f(std::complex<double>{});
  }
  return f(float{});
}

}  // namespace mithril
