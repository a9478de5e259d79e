#include <catch2/catch.hpp>

#include "core/error.h"
#include "core/tensor.h"

using namespace mithril;

TEST_CASE("dtype names round-trip", "[core]") {
  for (int i = 0; i < kDTypeCount; ++i) {
    auto d = static_cast<DType>(i);
    REQUIRE(dtype_from_name(dtype_name(d)) == d);
  }
  REQUIRE_FALSE(dtype_from_name("float128").has_value());
  REQUIRE(dtype_size(DType::complex128) == 16);
}

TEST_CASE("float16 and bfloat16 conversions are exact where representable", "[core]") {
  for (float v : {0.0f, 1.0f, -2.5f, 65504.0f, 6.103515625e-05f, 5.9604644775390625e-08f}) {
    REQUIRE(float16_to_float(float_to_float16(v)) == v);
  }
  REQUIRE(float_to_float16(1e6f) == 0x7C00);                 // overflow to inf
  REQUIRE(float_to_float16(1.0f + 1.0f / 2048.0f) == 0x3C00);  // tie rounds to even
  REQUIRE(bfloat16_to_float(float_to_bfloat16(3.0f)) == 3.0f);
  REQUIRE(bfloat16_to_float(float_to_bfloat16(1.00390625f)) == 1.0f);  // tie to even
}

TEST_CASE("tensors allocate aligned zeroed buffers and cast", "[core]") {
  Tensor t(DType::float32, {2, 3});
  REQUIRE(t.numel() == 6);
  REQUIRE(reinterpret_cast<std::uintptr_t>(t.data()) % kTensorAlignment == 0);
  for (int i = 0; i < 6; ++i) t.mutable_data_as<float>()[i] = static_cast<float>(i) - 2.5f;
  Tensor i64 = t.cast(DType::int64);
  REQUIRE(i64.data_as<int64_t>()[0] == -2);
  REQUIRE(i64.data_as<int64_t>()[5] == 2);
  Tensor f64 = t.cast(DType::float64);
  REQUIRE(f64.data_as<double>()[1] == -1.5);
  REQUIRE(t.cast(DType::float32).data() == t.data());
  REQUIRE(t.copy().bitwise_equal(t));
  REQUIRE(describe(t) == "float32[2,3]");
}

TEST_CASE("borrowed tensors are read-only views", "[core]") {
  static const float values[4] = {1, 2, 3, 4};
  Tensor v = Tensor::borrow(DType::float32, {2, 2}, values, nullptr);
  REQUIRE(v.is_borrowed());
  REQUIRE(v.value_at(3) == 4.0);
  REQUIRE_THROWS_AS(v.mutable_data(), Error);
  REQUIRE_FALSE(v.copy().is_borrowed());
}

TEST_CASE("shape arithmetic is checked", "[core]") {
  REQUIRE(shape_numel({}) == 1);
  REQUIRE(shape_numel({0, 5}) == 0);
  REQUIRE_THROWS_AS(shape_numel({-1}), Error);
  REQUIRE_THROWS_AS(shape_numel({int64_t{1} << 40, int64_t{1} << 40}), Error);
  REQUIRE(shape_str(SymShape{Dim::any(), Dim::named("batch"), Dim::known(3)}) == "[null,batch,3]");
}

TEST_CASE("Tensor: a tensor larger than the machine's memory is refused before allocating, naming it and its size", "[core][tensor]") {
  // 2^40 float64 elements = 8 TiB: more than any test machine has.
  REQUIRE_THROWS_WITH(Tensor(DType::float64, {int64_t{1} << 20, int64_t{1} << 20}),
                      Catch::Matchers::StartsWith("tensor float64[1048576,1048576] needs 8192.0 GiB, more than the ") &&
                          Catch::Matchers::EndsWith(" GiB of memory of this machine"));
  REQUIRE_THROWS_AS(Tensor::uninitialized(DType::float32, {int64_t{1} << 42}), Error);
  REQUIRE_THROWS_WITH(check_fits_in_memory(DType::int8, {int64_t{1} << 50}), Catch::Matchers::Contains("tensor int8[1125899906842624] needs"));
  REQUIRE_NOTHROW(check_fits_in_memory(DType::float32, {1000, 1000}));
}

TEST_CASE("numpy_result_type is numpy's promotion of two arrays", "[core]") {
  // numpy.result_type(a, b) for every pair (numpy 1.24, the same table in numpy 2 for arrays).
  const std::vector<std::string> names = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                                          "float16", "float32", "float64"};
  const std::vector<std::pair<std::string, std::vector<std::string>>> numpy = {
      {"bool", {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32", "float64"}},
      {"int8", {"int8", "int8", "int16", "int32", "int64", "int16", "int32", "int64", "float64", "float16", "float32", "float64"}},
      {"int16", {"int16", "int16", "int16", "int32", "int64", "int16", "int32", "int64", "float64", "float32", "float32", "float64"}},
      {"int32", {"int32", "int32", "int32", "int32", "int64", "int32", "int32", "int64", "float64", "float64", "float64", "float64"}},
      {"int64", {"int64", "int64", "int64", "int64", "int64", "int64", "int64", "int64", "float64", "float64", "float64", "float64"}},
      {"uint8", {"uint8", "int16", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32", "float64"}},
      {"uint16", {"uint16", "int32", "int32", "int32", "int64", "uint16", "uint16", "uint32", "uint64", "float32", "float32", "float64"}},
      {"uint32", {"uint32", "int64", "int64", "int64", "int64", "uint32", "uint32", "uint32", "uint64", "float64", "float64", "float64"}},
      {"uint64", {"uint64", "float64", "float64", "float64", "float64", "uint64", "uint64", "uint64", "uint64", "float64", "float64", "float64"}},
      {"float16", {"float16", "float16", "float32", "float64", "float64", "float16", "float32", "float64", "float64", "float16", "float32", "float64"}},
      {"float32", {"float32", "float32", "float32", "float64", "float64", "float32", "float32", "float64", "float64", "float32", "float32", "float64"}},
      {"float64", {"float64", "float64", "float64", "float64", "float64", "float64", "float64", "float64", "float64", "float64", "float64", "float64"}},
  };
  for (const auto& [a, row] : numpy)
    for (std::size_t j = 0; j < names.size(); ++j) {
      INFO(a << " with " << names[j]);
      std::optional<DType> got = numpy_result_type(*dtype_from_name(a), *dtype_from_name(names[j]));
      REQUIRE(got.has_value());
      CHECK(dtype_name(*got) == row[j]);
    }
  CHECK_FALSE(numpy_result_type(DType::bfloat16, DType::float32).has_value());
  CHECK_FALSE(numpy_result_type(DType::complex64, DType::float64).has_value());
}
