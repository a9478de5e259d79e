#include "core/dtype.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace mithril {
namespace {

struct DTypeInfo {
  DType dtype;
  std::string_view name;
  std::size_t size;
};

constexpr std::array<DTypeInfo, kDTypeCount> kTable = {{
    {DType::bool_, "bool", 1},
    {DType::int8, "int8", 1},
    {DType::int16, "int16", 2},
    {DType::int32, "int32", 4},
    {DType::int64, "int64", 8},
    {DType::uint8, "uint8", 1},
    {DType::uint16, "uint16", 2},
    {DType::uint32, "uint32", 4},
    {DType::uint64, "uint64", 8},
    {DType::float16, "float16", 2},
    {DType::bfloat16, "bfloat16", 2},
    {DType::float32, "float32", 4},
    {DType::float64, "float64", 8},
    {DType::complex64, "complex64", 8},
    {DType::complex128, "complex128", 16},
}};

static_assert(static_cast<int>(DType::complex128) + 1 == kDTypeCount, "dtype table out of date");

const DTypeInfo& info(DType dtype) { return kTable[static_cast<std::size_t>(dtype)]; }

uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace

std::string_view dtype_name(DType dtype) { return info(dtype).name; }

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& entry : kTable)
    if (entry.name == name) return entry.dtype;
  return std::nullopt;
}

std::size_t dtype_size(DType dtype) { return info(dtype).size; }

bool is_floating(DType d) {
  return d == DType::float16 || d == DType::bfloat16 || d == DType::float32 || d == DType::float64;
}

bool is_integer(DType d) {
  return d == DType::int8 || d == DType::int16 || d == DType::int32 || d == DType::int64 || d == DType::uint8 ||
         d == DType::uint16 || d == DType::uint32 || d == DType::uint64;
}

bool is_complex(DType d) { return d == DType::complex64 || d == DType::complex128; }

std::optional<DType> numpy_result_type(DType a, DType b) {
  if (a == b) return a;
  for (DType d : {a, b})
    if (d == DType::bfloat16 || is_complex(d)) return std::nullopt;
  if (a == DType::bool_) return b;
  if (b == DType::bool_) return a;
  auto is_unsigned = [](DType d) { return d == DType::uint8 || d == DType::uint16 || d == DType::uint32 || d == DType::uint64; };
  auto float_of_size = [](std::size_t bytes) { return bytes <= 2 ? DType::float16 : bytes == 4 ? DType::float32 : DType::float64; };
  auto int_of_size = [](std::size_t bytes) {
    return bytes == 1 ? DType::int8 : bytes == 2 ? DType::int16 : bytes == 4 ? DType::int32 : DType::int64;
  };
  if (is_floating(a) && is_floating(b)) return dtype_size(a) >= dtype_size(b) ? a : b;
  if (is_floating(a) || is_floating(b)) {
    // The float that holds every value of the integer: float16 an 8-bit one, float32 a 16-bit one.
    DType f = is_floating(a) ? a : b, i = is_floating(a) ? b : a;
    std::size_t need = std::min<std::size_t>(dtype_size(i) * 2, 8);
    return dtype_size(f) >= need ? f : float_of_size(need);
  }
  if (is_unsigned(a) == is_unsigned(b)) return dtype_size(a) >= dtype_size(b) ? a : b;
  // Signed with unsigned: a signed type wider than the unsigned one, or float64 past int64.
  DType u = is_unsigned(a) ? a : b, s = is_unsigned(a) ? b : a;
  if (dtype_size(s) > dtype_size(u)) return s;
  return dtype_size(u) == 8 ? DType::float64 : int_of_size(dtype_size(u) * 2);
}

float float16_to_float(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1Fu;
  uint32_t mantissa = h & 0x3FFu;
  if (exponent == 0) {
    if (mantissa == 0) return bits_float(sign);
    // Subnormal half: value = mantissa * 2^-24, exact in float.
    float value = static_cast<float>(mantissa) * 5.9604644775390625e-08f;
    return sign ? -value : value;
  }
  if (exponent == 31) return bits_float(sign | 0x7F800000u | (mantissa << 13));
  return bits_float(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

uint16_t float_to_float16(float f) {
  uint32_t x = float_bits(f);
  uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  uint32_t abs = x & 0x7FFFFFFFu;
  if (abs >= 0x7F800000u) {  // inf or NaN
    return static_cast<uint16_t>(sign | 0x7C00u | (abs > 0x7F800000u ? 0x200u | ((abs >> 13) & 0x3FFu) : 0u));
  }
  if (abs >= 0x477FF000u) return static_cast<uint16_t>(sign | 0x7C00u);  // rounds to >= 65520: inf
  if (abs < 0x38800000u) {  // below the smallest normal half: subnormal or zero
    // Add 0.5 in float so the FPU does the round-to-nearest-even at the 2^-24 position.
    float magnitude = bits_float(abs) + 0.5f;
    return static_cast<uint16_t>(sign | (float_bits(magnitude) - 0x3F000000u));
  }
  uint32_t mantissa_odd = (abs >> 13) & 1u;
  abs += 0xC8000FFFu + mantissa_odd;  // rebias exponent (-112 << 23) and round to nearest even
  return static_cast<uint16_t>(sign | (abs >> 13));
}

float bfloat16_to_float(uint16_t bits) { return bits_float(static_cast<uint32_t>(bits) << 16); }

uint16_t float_to_bfloat16(float f) {
  uint32_t x = float_bits(f);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
  uint32_t rounding = 0x7FFFu + ((x >> 16) & 1u);
  return static_cast<uint16_t>((x + rounding) >> 16);
}

}  // namespace mithril
