#include "op_cases.h"

#include <cmath>
#include <functional>
#include <limits>
#include <random>

namespace mithril::test {

namespace {

TensorSpec f32(Shape shape, double low = -3, double high = 3) { return {DType::float32, std::move(shape), low, high}; }
TensorSpec f64(Shape shape, double low = -3, double high = 3) { return {DType::float64, std::move(shape), low, high}; }
TensorSpec i32(Shape shape, double low = -9, double high = 9) { return {DType::int32, std::move(shape), low, high}; }
TensorSpec i64(Shape shape, double low = -9, double high = 9) { return {DType::int64, std::move(shape), low, high}; }
TensorSpec boolean(Shape shape) { return {DType::bool_, std::move(shape)}; }
TensorSpec values(DType dtype, Shape shape, std::vector<double> v) { return {dtype, std::move(shape), 0, 0, std::move(v)}; }

using Ints = std::vector<int64_t>;
const double nan = std::numeric_limits<double>::quiet_NaN();
const double inf = std::numeric_limits<double>::infinity();
const double int32_max = 2147483647, int32_min = -2147483648.0, big = 3037000500.0;  // big^2 > 2^63
const int64_t max64 = std::numeric_limits<int64_t>::max(), min64 = std::numeric_limits<int64_t>::min();
using Numbers = std::vector<double>;
TensorSpec typed(DType dtype, Shape shape, double low = -9, double high = 9) { return {dtype, std::move(shape), low, high}; }
AttrValue str(const char* s) { return AttrValue{std::string(s)}; }

// Each family of cases is its own function: one function of ~600 calls with brace-initialized
// temporaries takes GCC minutes under -fsanitize=address (its cost grows faster than the size).
using Add = const std::function<void(std::string op, Attributes attrs, std::vector<TensorSpec> inputs)>&;

void binary_arithmetic_cases(Add add) {
  // Binary arithmetic: every dtype the kernels support, broadcasting in several patterns.
  for (const char* op : {"add", "subtract", "multiply", "maximum", "minimum"}) {
    add(op, {}, {f32({2, 3}), f32({3})});
    add(op, {}, {f64({4, 1, 3}), f64({2, 1})});
    add(op, {}, {f64({}), f64({2, 2})});
    add(op, {}, {i32({2, 3}), i32({2, 3})});
    add(op, {}, {i64({3, 1}), i64({1, 4})});
  }
  // Integer overflow wraps around as in numpy.
  for (const char* op : {"add", "subtract", "multiply"})
    add(op, {}, {values(DType::int32, {3}, {int32_max, int32_min, 7}), values(DType::int32, {3}, {int32_max, int32_max, -3})});
  add("multiply", {}, {values(DType::int64, {2}, {big, -big}), values(DType::int64, {2}, {big, big})});
  add("negate", {}, {values(DType::int32, {3}, {int32_min, int32_max, 0})});
  add("abs", {}, {values(DType::int32, {3}, {int32_min, -int32_max, 5})});
  add("sum", {}, {values(DType::int32, {3}, {int32_max, int32_max, 5})});
  add("prod", {}, {values(DType::int64, {3}, {big, big, 3})});
  add("matmul", {}, {values(DType::int32, {1, 2}, {65536, 65536}), values(DType::int32, {2, 1}, {32768, 32768})});
  for (const char* op : {"maximum", "minimum"})
    add(op, {}, {values(DType::float64, {4}, {nan, 1, 2, nan}), values(DType::float64, {4}, {1, nan, 3, nan})});
  add("divide", {}, {f32({2, 3}), f32({3}, 0.5, 3)});
  add("divide", {}, {f64({3, 1}), f64({1, 4}, -3, -0.5)});
  add("power", {}, {f32({2, 3}, 0.1, 3), f32({2, 3}, -2, 2)});
  add("power", {}, {f64({4, 3}, 0.1, 3), f64({3}, -2, 2)});
}

void unary_math_cases(Add add) {
  // Unary math.
  for (const char* op : {"negate", "abs"}) {
    add(op, {}, {f32({2, 3})});
    add(op, {}, {f64({5})});
    add(op, {}, {i32({2, 2})});
    add(op, {}, {i64({3})});
  }
  add("exp", {}, {f32({2, 3}, -5, 5)});
  add("exp", {}, {f64({7}, -20, 20)});
  add("log", {}, {f32({2, 3}, 0.01, 10)});
  add("log", {}, {f64({7}, 1e-6, 1e6)});
  add("sqrt", {}, {f32({2, 3}, 0, 10)});
  add("sqrt", {}, {f64({7}, 0, 1e4)});
  for (const char* op : {"sin", "cos", "tanh"}) {
    add(op, {}, {f32({2, 3}, -6, 6)});
    add(op, {}, {f64({9}, -6, 6)});
  }
}

void activations_cases(Add add) {
  // Activations, including inputs where a naive formula overflows.
  add("relu", {}, {f32({2, 5})});
  add("relu", {}, {f64({9})});
  add("sigmoid", {}, {f32({2, 5}, -8, 8)});
  add("sigmoid", {}, {values(DType::float64, {7}, {-800, -30, -1, 0, 1, 30, 800})});
  add("sigmoid", {}, {values(DType::float32, {5}, {-100, -20, 0, 20, 100})});
  add("gelu", {}, {f32({2, 5}, -4, 4)});
  add("gelu", {}, {f64({9}, -6, 6)});
  add("gelu", {{"approximate", true}}, {f32({2, 5}, -4, 4)});
  add("gelu", {{"approximate", true}}, {f64({9}, -6, 6)});
  add("softplus", {}, {f32({2, 5}, -10, 10)});
  add("softplus", {}, {values(DType::float64, {7}, {-800, -50, -1, 0, 1, 50, 800})});
  add("leaky_relu", {}, {f32({2, 5})});
  add("leaky_relu", {{"slope", 0.2}}, {f64({9})});
  add("leaky_relu", {{"slope", int64_t{2}}}, {f32({6})});
  add("softmax", {}, {f32({3, 5})});
  add("softmax", {{"axis", int64_t{0}}}, {f64({3, 4, 2})});
  add("softmax", {{"axis", int64_t{1}}}, {f32({3, 4, 2})});
  add("softmax", {{"axis", int64_t{-1}}}, {f64({2, 6}, 900, 1000)});
}

void matmul_cases(Add add) {
  // matmul: 2-D, N-D @ 2-D, batched with broadcasting, 1-D operands, integers.
  add("matmul", {}, {f32({5, 10}), f32({10, 4})});
  add("matmul", {}, {f64({5, 10}), f64({10, 4})});
  add("matmul", {}, {f32({2, 3, 5, 4}), f32({4, 6})});
  add("matmul", {}, {f64({2, 1, 3, 4}), f64({5, 4, 2})});
  add("matmul", {}, {f64({4}), f64({2, 4, 3})});
  add("matmul", {}, {f32({3, 4}), f32({4})});
  add("matmul", {}, {f64({6}), f64({6})});
  add("matmul", {}, {i64({3, 4}), i64({4, 2})});
  add("matmul", {}, {i32({2, 3, 4}), i32({2, 4, 2})});
}

void shape_ops_cases(Add add) {
  // Shape operators, over several dtypes since they move bytes only.
  add("reshape", {{"shape", Ints{4, -1}}}, {f32({2, 3, 4})});
  add("reshape", {{"shape", Ints{3, 0}}}, {f64({0, 3})});
  add("reshape", {{"shape", Ints{-1}}}, {i32({2, 3})});
  add("reshape", {{"shape", Ints{1, 6, 1}}}, {boolean({2, 3})});
  add("transpose", {}, {f32({2, 3, 4})});
  add("transpose", {{"axes", Ints{1, 0, 2}}}, {f64({2, 3, 4})});
  add("transpose", {{"axes", Ints{-1, 0, 1}}}, {i64({2, 3, 4})});
  add("transpose", {{"axes", Ints{1, 0}}}, {boolean({3, 2})});
  add("transpose", {{"axes", Ints{0, 2, 1}}}, {i32({2, 1, 5})});
  add("transpose", {}, {f64({})});
  add("reshape", {{"shape", Ints{}}}, {f32({1, 1})});
  add("concat", {}, {f32({2, 3}), f32({1, 3})});
  add("concat", {{"axis", int64_t{1}}}, {f64({2, 1, 2}), f64({2, 3, 2}), f64({2, 2, 2})});
  add("concat", {{"axis", int64_t{-1}}}, {i32({2, 2}), i32({2, 0}), i32({2, 3})});
  add("concat", {{"axis", int64_t{0}}}, {boolean({3})});
  add("concat", {{"axis", int64_t{1}}}, {i64({2, 1}), i64({2, 2})});
  add("concat", {{"axis", AttrValue{}}}, {f64({2, 3}), f64({4}), f64({})});  // numpy axis=None (format 1.2.0)
  add("flatten", {}, {f32({2, 3, 4})});
  add("flatten", {{"start_dim", int64_t{1}}}, {f64({2, 3, 4})});
  add("flatten", {{"start_dim", int64_t{0}}, {"end_dim", int64_t{1}}}, {i64({2, 3, 4})});
  add("flatten", {{"start_dim", int64_t{-2}}, {"end_dim", int64_t{-2}}}, {i32({2, 3, 4})});
  add("flatten", {}, {f32({})});
  add("squeeze", {}, {f32({1, 3, 1, 2})});
  add("squeeze", {}, {i64({1, 1})});
  add("squeeze", {}, {f64({2, 3})});
  add("squeeze", {{"axes", Ints{0, -1}}}, {f64({1, 2, 1, 1})});
}

void reductions_cases(Add add) {
  // Reductions: null, int, list, empty list and negative axes, keepdims, empty selections.
  add("sum", {}, {f32({3, 4})});
  add("sum", {{"axes", int64_t{1}}}, {f64({3, 4})});
  add("sum", {{"axes", Ints{0, 2}}, {"keepdims", true}}, {f64({2, 3, 4})});
  add("sum", {{"axes", Ints{}}}, {f64({2, 3})});
  add("sum", {{"axes", int64_t{-1}}}, {i32({3, 5})});
  add("sum", {{"axes", Ints{1}}}, {i64({4, 3})});
  add("sum", {{"axes", int64_t{1}}}, {f64({3, 0})});
  add("mean", {}, {f32({3, 4})});
  add("mean", {{"axes", Ints{-1, 0}}, {"keepdims", true}}, {f64({2, 3, 4})});
  add("mean", {{"axes", int64_t{1}}}, {f32({4, 6})});
  for (const char* op : {"max", "min"}) {
    add(op, {}, {f32({3, 4})});
    add(op, {{"axes", int64_t{0}}, {"keepdims", true}}, {f64({3, 4})});
    add(op, {{"axes", Ints{1, 2}}}, {i32({2, 3, 4})});
    add(op, {{"axes", int64_t{-1}}}, {i64({3, 4})});
    add(op, {{"axes", int64_t{1}}}, {values(DType::float64, {2, 3}, {1, nan, 3, 4, 5, 6})});
  }
  add("prod", {}, {f64({3, 4}, 0.5, 1.5)});
  add("prod", {{"axes", int64_t{0}}, {"keepdims", true}}, {f32({3, 4}, 0.5, 1.5)});
  add("prod", {{"axes", int64_t{1}}}, {i64({4, 3}, -3, 3)});
  add("prod", {{"axes", Ints{1}}}, {i32({2, 3}, -3, 3)});
  add("variance", {}, {f64({3, 4})});
  add("variance", {{"axes", int64_t{0}}, {"keepdims", true}, {"correction", 1.0}}, {f32({5, 3})});
  add("variance", {{"axes", Ints{1, 2}}, {"correction", int64_t{1}}}, {f64({2, 3, 4})});
  add("variance", {{"axes", int64_t{1}}, {"correction", 0.5}}, {f64({2, 4}, 100, 101)});
}

void where_and_cast_cases(Add add) {
  // where and cast.
  add("where", {}, {boolean({2, 3}), f32({2, 3}), f32({3})});
  add("where", {}, {boolean({3, 1}), f64({1, 4}), f64({})});
  add("where", {}, {boolean({4}), i64({4}), i64({1})});
  add("where", {}, {boolean({2, 2}), i32({2, 2}), i32({2, 2})});
  add("where", {}, {boolean({3}), boolean({3}), boolean({3})});
  add("cast", {{"dtype", std::string("int32")}}, {f32({2, 5}, -5, 5)});
  add("cast", {{"dtype", std::string("float32")}}, {f64({7})});
  add("cast", {{"dtype", std::string("float64")}}, {i64({4})});
  add("cast", {{"dtype", std::string("bool")}}, {values(DType::float32, {4}, {0, -0.0, 0.5, -2})});
  add("cast", {{"dtype", std::string("float32")}}, {boolean({5})});
  add("cast", {{"dtype", std::string("float16")}}, {f32({6}, -100, 100)});
  add("cast", {{"dtype", std::string("int64")}}, {i32({6})});
}

void nn_cases(Add add) {
  // nn family (lib/ops/nn.cpp): operators Python Mithril models need.
  add("identity", {}, {f32({2, 3})});
  add("identity", {}, {i64({4})});
  add("gather", {}, {f64({4, 3}), values(DType::int64, {5}, {3, 0, -1, 2, 2})});
  add("gather", {}, {f32({5}), i64({2, 2}, 0, 4)});
  add("gather", {}, {i32({3, 2, 2}), values(DType::int32, {2}, {2, 0})});
  add("conv1d", {}, {f64({2, 2, 7}), f64({3, 2, 3})});
  add("conv1d", {{"stride", Ints{2}}, {"padding", Ints{1, 2}}, {"dilation", Ints{2}}, {"groups", int64_t{2}}},
      {f64({1, 4, 9}), f64({2, 2, 3})});
  add("conv2d", {}, {f64({1, 2, 5, 6}), f64({3, 2, 3, 2})});
  add("conv2d", {{"stride", Ints{2, 1}}, {"padding", Ints{1, 0, 2, 1}}, {"dilation", Ints{1, 2}}, {"groups", int64_t{2}}},
      {f64({2, 4, 6, 7}), f64({4, 2, 2, 3})});
  add("conv2d", {}, {f32({1, 1, 4, 4}), f32({2, 1, 2, 2})});
  add("max_pool1d", {{"kernel_size", Ints{2}}, {"stride", Ints{2}}}, {f64({2, 3, 7})});
  add("max_pool1d", {{"kernel_size", Ints{3}}, {"stride", Ints{1}}, {"padding", Ints{1, 2}}, {"dilation", Ints{2}}},
      {f32({2, 9})});
  add("max_pool1d", {{"kernel_size", Ints{2}}, {"stride", Ints{1}}, {"padding", Ints{1, 1}}},
      {values(DType::float64, {4}, {-1, -2, nan, -3})});
  add("max_pool2d", {{"kernel_size", Ints{2, 2}}, {"stride", Ints{2, 2}}}, {f64({1, 2, 5, 6})});
  add("max_pool2d", {{"kernel_size", Ints{2, 3}}, {"stride", Ints{1, 2}}, {"padding", Ints{1, 0, 0, 1}}, {"dilation", Ints{2, 1}}},
      {f64({3, 6, 7})});
  const double tiny = 2.2250738585072014e-308;
  add("robust_sqrt", {}, {f64({2, 3}), values(DType::float64, {}, {0.5})});
  add("robust_sqrt", {}, {values(DType::float64, {5}, {0, -4, 1e-310, tiny, 9}), values(DType::float64, {}, {tiny})});
  add("robust_sqrt", {}, {f32({3, 1}), f32({2}, 0.1, 1)});
  add("robust_log", {}, {f64({2, 3}), values(DType::float64, {}, {0.5})});
  add("robust_log", {}, {values(DType::float64, {5}, {0, -4, 1e-310, tiny, 9}), values(DType::float64, {}, {tiny})});
  add("robust_power", {}, {f64({3, 2}, -1, 1), f64({2}, -2, 3), values(DType::float64, {}, {0.3})});
  add("robust_power", {}, {values(DType::float64, {4}, {0, 1e-310, -2, 3}), values(DType::float64, {4}, {-1, 0.5, 2, 0.5}),
                           values(DType::float64, {}, {tiny})});
  const double reciprocal_threshold = 1.4916681462400413e-153;
  add("stable_reciprocal", {}, {f64({2, 3}), values(DType::float64, {}, {0.5})});
  add("stable_reciprocal", {}, {values(DType::float64, {6}, {0, -0.0, 1e-160, -1e-160, 2, nan}),
                                values(DType::float64, {}, {reciprocal_threshold})});
  add("stable_reciprocal", {}, {f32({3, 1}), f32({2}, 0.1, 1)});
  add("floor_divide", {}, {f64({3, 4}, -5, 5), f64({4}, -3, 3)});
  add("floor_divide", {}, {values(DType::float64, {6}, {7, -7, 7, -7, 1, 0}), values(DType::float64, {6}, {2, 2, -2, 0.5, 0, 0})});
  add("floor_divide", {}, {f32({2, 3}, -4, 4), f32({3}, 0.5, 2)});
  add("floor_divide", {}, {values(DType::int64, {6}, {7, -7, 7, -7, 5, int32_min}), values(DType::int64, {6}, {2, 2, -2, -2, 0, -1})});
  add("floor_divide", {}, {values(DType::int32, {3}, {int32_min, -9, 9}), values(DType::int32, {3}, {-1, 4, -4})});
  add("polynomial_features", {}, {f64({4, 3})});
  add("polynomial_features", {{"degree", int64_t{3}}}, {f64({2, 2}, -2, 2)});
  add("polynomial_features", {{"degree", int64_t{1}}}, {f32({3, 4})});
  add("cartesian_difference", {}, {f64({3, 2}), f64({4, 2})});
  add("cartesian_difference", {}, {f32({1, 3}), f32({2, 3})});
  add("cartesian_difference", {}, {i64({2, 1}, -9, 9), i64({3, 1}, -9, 9)});
  for (const char* op : {"shift_left", "shift_right"}) {
    add(op, {}, {i64({3, 4}, -50, 50), i64({4}, 0, 5)});
    add(op, {}, {values(DType::int32, {4}, {1, -8, 3, -1}), values(DType::int32, {4}, {31, 2, 32, 40})});
  }
}

void loss_cases(Add add) {
  // loss family (lib/ops/loss.cpp).
  add("cross_entropy", {}, {f64({4, 3}), i64({4}, 0, 2)});
  add("cross_entropy", {{"input_type", std::string("probs")}, {"robust", true}, {"threshold", 0.05}},
      {f64({3, 4}, 0.01, 1), i64({3}, 0, 3)});
  add("cross_entropy", {{"input_type", std::string("log_probs")}, {"weights", std::vector<double>{0.5, 1, 2}}},
      {f64({2, 3, 4}, -3, 0), i64({2, 4}, 0, 2)});
  add("cross_entropy", {{"auto_weights", true}}, {f64({6, 3}), values(DType::int64, {6}, {0, 1, 1, 2, 2, 2})});
  add("cross_entropy", {{"categorical", false}}, {f64({3, 4}), f64({3, 4}, 0, 1)});
  add("cross_entropy", {{"categorical", false}, {"input_type", std::string("probs")}}, {f64({2, 3, 2}, 0.05, 1), f64({2, 3, 2}, 0, 1)});
  add("cross_entropy", {{"categorical", false}, {"auto_weights", true}}, {f64({4, 3}), f64({4, 3}, 0.1, 1)});
  add("binary_cross_entropy", {}, {f64({3, 4}), f64({3, 4}, 0, 1)});
  add("binary_cross_entropy", {{"input_type", std::string("probs")}}, {f64({5}, 0.01, 0.99), f64({5}, 0, 1)});
  add("binary_cross_entropy", {{"pos_weight", 2.5}}, {f64({2, 3}), f64({3}, 0, 1)});
  add("binary_cross_entropy", {{"robust", true}}, {f64({6}, -40, 40), f64({6}, 0, 1)});
  add("binary_cross_entropy",
      {{"input_type", std::string("probs")}, {"auto_pos_weight", true}, {"robust", true}, {"threshold", 0.5}},
      {f64({4}, 0.01, 0.99), values(DType::float64, {4}, {0, 1, 1, 0})});
}

void onnx_nn_math_cases(Add add) {
  // --- ONNX nn/math ops (issue 14)
  add("log_softmax", {}, {f32({3, 5})});
  add("log_softmax", {{"axis", int64_t{0}}}, {f64({3, 4, 2})});
  add("log_softmax", {{"axis", int64_t{1}}}, {f32({3, 4, 2})});
  add("log_softmax", {}, {f64({2, 6}, -1000, 1000)});
  for (const char* op : {"equal", "less", "less_equal", "greater", "greater_equal"}) {
    add(op, {}, {f32({2, 3}, -2, 2), f32({3}, -2, 2)});
    add(op, {}, {values(DType::float64, {4}, {nan, 1, 2, nan}), values(DType::float64, {4}, {1, 1, nan, nan})});
    add(op, {}, {i32({3, 1}, -2, 2), i32({1, 4}, -2, 2)});
    add(op, {}, {i64({5}, -2, 2), i64({5}, -2, 2)});
    add(op, {}, {{DType::uint8, {2, 3}, 0, 4}, {DType::uint8, {3}, 0, 4}});
  }
  add("equal", {}, {boolean({2, 3}), boolean({3})});
  for (const char* op : {"logical_and", "logical_or", "logical_xor"}) {
    add(op, {}, {boolean({2, 3}), boolean({3})});
    add(op, {}, {boolean({4, 1}), boolean({1, 5})});
  }
  add("logical_not", {}, {boolean({3, 4})});
  for (const char* op : {"argmax", "argmin"}) {
    add(op, {}, {f32({3, 4})});
    add(op, {{"axis", int64_t{1}}, {"keepdims", false}}, {f64({2, 3, 4})});
    add(op, {{"axis", int64_t{-1}}}, {i64({3, 5}, -2, 2)});
    add(op, {{"axis", int64_t{1}}, {"select_last_index", true}}, {i32({3, 6}, -2, 2)});
    add(op, {{"axis", int64_t{0}}, {"keepdims", false}}, {values(DType::float64, {3, 2}, {1, nan, nan, 2, 3, nan})});
    add(op, {{"axis", int64_t{1}}}, {{DType::int8, {2, 5}, -2, 2}});
  }
  add("erf", {}, {f32({2, 5}, -3, 3)});
  add("erf", {}, {f64({9}, -4, 4)});
  for (const char* op : {"floor", "ceil", "round"}) {
    add(op, {}, {f32({3, 4}, -5, 5)});
    add(op, {}, {values(DType::float64, {9}, {-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -0.0, nan, inf})});
  }
  add("sign", {}, {f32({2, 5}, -2, 2)});
  add("sign", {}, {values(DType::float64, {5}, {-3, 0, -0.0, 2, nan})});
  add("sign", {}, {i32({7}, -2, 2)});
  add("sign", {}, {i64({4}, -2, 2)});
  add("sign", {}, {{DType::uint16, {5}, 0, 3}});
  add("reciprocal", {}, {f32({2, 3}, 0.5, 3)});
  add("reciprocal", {}, {values(DType::float64, {4}, {-2, 0, -0.0, 4})});
  for (const char* op : {"tan", "atan", "sinh", "cosh", "asinh"}) {
    add(op, {}, {f32({2, 3}, -1.5, 1.5)});
    add(op, {}, {f64({7}, -1.5, 1.5)});
  }
  for (const char* op : {"asin", "acos", "atanh"}) {
    add(op, {}, {f32({2, 3}, -0.99, 0.99)});
    add(op, {}, {values(DType::float64, {5}, {-1, -0.5, 0, 1, 2})});
  }
  add("acosh", {}, {f32({2, 3}, 1, 5)});
  add("acosh", {}, {values(DType::float64, {4}, {0.5, 1, 2, 100})});
  add("isnan", {}, {values(DType::float32, {5}, {1, nan, -inf, inf, 0})});
  add("isnan", {}, {f64({3})});
  add("isinf", {}, {values(DType::float64, {5}, {1, nan, -inf, inf, 0})});
  add("isinf", {{"detect_negative", false}}, {values(DType::float32, {4}, {-inf, inf, nan, 2})});
  add("isinf", {{"detect_positive", false}}, {values(DType::float64, {4}, {-inf, inf, nan, 2})});
  add("clip", {}, {f32({2, 3})});
  add("clip", {{"min", -1.0}, {"max", 1.5}}, {f32({3, 4})});
  add("clip", {{"min", -0.5}}, {values(DType::float64, {4}, {-1, nan, 0, 3})});
  add("clip", {{"max", int64_t{2}}}, {i64({6})});
  add("clip", {{"min", int64_t{-3}}, {"max", int64_t{4}}}, {i32({8})});
  add("clip", {{"min", 2.0}, {"max", 1.0}}, {f64({4})});
  add("clip", {{"min", -1000.0}, {"max", int64_t{5}}}, {{DType::int8, {6}, -9, 9}});
  add("mod", {}, {i64({3, 4}, -9, 9), values(DType::int64, {4}, {3, -3, 0, 4})});
  add("mod", {{"fmod", true}}, {i32({3, 4}, -9, 9), values(DType::int32, {4}, {3, -3, 0, 4})});
  add("mod", {{"fmod", true}}, {f32({2, 3}, -5, 5), f32({3}, 0.5, 2)});
  add("mod", {{"fmod", true}}, {values(DType::float64, {4}, {5.5, -5.5, 5.5, 1}), values(DType::float64, {4}, {2, 2, -2, 0})});
  add("mod", {}, {values(DType::float64, {5}, {5.5, -5.5, 5.5, -5.5, 1}), values(DType::float64, {5}, {2, 2, -2, -2, 0})});
}

void float16_cases(Add add) {
  // float16 operands are computed in float32 and rounded once, as numpy does.
  auto f16 = [](Shape shape, double low = -3, double high = 3) { return TensorSpec{DType::float16, std::move(shape), low, high}; };
  add("mod", {{"fmod", true}}, {f16({2, 3}, -5, 5), f16({3}, 0.5, 2)});
  add("mod", {}, {f16({2, 3}, -5, 5), f16({2, 1}, -2, 2)});
  for (const char* op : {"add", "subtract", "multiply", "divide", "maximum", "minimum"}) add(op, {}, {f16({2, 3}), f16({3}, 0.5, 3)});
  add("mod", {}, {{DType::uint8, {5}, 0, 20}, values(DType::uint8, {5}, {3, 7, 1, 0, 5})});
  add("prelu", {}, {f32({2, 3, 4}), f32({3, 1}, 0, 1)});
  add("prelu", {}, {f64({2, 5}), f64({}, 0, 1)});
  add("prelu", {}, {f32({3, 4}), f32({3, 4}, 0, 1)});
  add("elu", {}, {f32({2, 5})});
  add("elu", {{"alpha", 2.0}}, {f64({9})});
  add("selu", {}, {f32({2, 5})});
  add("selu", {{"alpha", 2.0}, {"gamma", 3.0}}, {f64({9})});
  add("celu", {}, {f32({2, 5})});
  add("celu", {{"alpha", 2.0}}, {f64({9})});
  add("hard_sigmoid", {}, {f32({2, 5}, -5, 5)});
  add("hard_sigmoid", {{"alpha", 0.5}, {"beta", 0.6}}, {f64({9}, -5, 5)});
  add("hard_swish", {}, {f32({2, 5}, -5, 5)});
  add("hard_swish", {}, {f64({9}, -5, 5)});
  add("softsign", {}, {f32({2, 5})});
  add("softsign", {}, {f64({9})});
  add("thresholded_relu", {}, {f32({2, 5})});
  add("thresholded_relu", {{"alpha", 0.5}}, {f64({9})});
  add("shrink", {}, {f32({2, 5})});
  add("shrink", {{"bias", 1.5}, {"lambd", 1.0}}, {f64({9})});
  add("mish", {}, {f32({2, 5}, -5, 5)});
  add("mish", {}, {values(DType::float64, {5}, {-800, -5, 0, 5, 800})});
  add("hardmax", {}, {f32({3, 5})});
  add("hardmax", {{"axis", int64_t{0}}}, {values(DType::float64, {3, 2}, {1, nan, 3, 2, 3, nan})});
  add("hardmax", {{"axis", int64_t{1}}}, {f64({2, 4, 3})});
}

void pools_cases(Add add) {
  // Pools with ONNX/torch padding and ceil_mode; 3-D windows; average pooling.
  add("max_pool1d", {{"kernel_size", Ints{3}}, {"stride", Ints{2}}, {"ceil_mode", true}}, {f32({2, 3, 8})});
  add("max_pool1d", {{"kernel_size", Ints{3}}, {"stride", Ints{2}}, {"padding", Ints{1, 1}}, {"pad_with_neg_inf", true}},
      {f64({2, 7}, -3, -1)});
  add("max_pool2d", {{"kernel_size", Ints{3, 3}}, {"stride", Ints{2, 2}}, {"padding", Ints{1, 1, 1, 1}}, {"pad_with_neg_inf", true}},
      {f64({1, 2, 5, 6}, -3, -1)});
  add("max_pool2d",
      {{"kernel_size", Ints{3, 2}}, {"stride", Ints{2, 2}}, {"padding", Ints{1, 0, 0, 1}}, {"pad_with_neg_inf", true}, {"ceil_mode", true}},
      {f32({2, 2, 6, 7})});
  add("max_pool2d", {{"kernel_size", Ints{2, 2}}, {"stride", Ints{2, 2}}, {"ceil_mode", true}}, {i32({1, 5, 5})});
  add("max_pool3d", {{"kernel_size", Ints{2, 2, 2}}, {"stride", Ints{2, 2, 2}}}, {f64({1, 2, 4, 5, 6})});
  add("max_pool3d",
      {{"kernel_size", Ints{3, 2, 2}}, {"stride", Ints{2, 1, 2}}, {"padding", Ints{1, 1, 0, 1, 1, 0}}, {"dilation", Ints{1, 2, 1}},
       {"pad_with_neg_inf", true}, {"ceil_mode", true}},
      {f32({2, 5, 6, 5}, -3, -1)});
  for (bool include : {false, true}) {
    add("avg_pool1d", {{"kernel_size", Ints{3}}, {"stride", Ints{2}}, {"padding", Ints{1, 1}}, {"count_include_pad", include}},
        {f64({2, 3, 8})});
    add("avg_pool2d",
        {{"kernel_size", Ints{3, 3}}, {"stride", Ints{2, 2}}, {"padding", Ints{1, 1, 1, 1}}, {"count_include_pad", include},
         {"ceil_mode", true}},
        {f32({1, 2, 6, 6})});
    add("avg_pool2d",
        {{"kernel_size", Ints{2, 3}}, {"stride", Ints{1, 2}}, {"padding", Ints{0, 1, 1, 0}}, {"dilation", Ints{2, 1}},
         {"count_include_pad", include}},
        {f64({2, 5, 7})});
    add("avg_pool3d",
        {{"kernel_size", Ints{2, 2, 3}}, {"stride", Ints{2, 2, 2}}, {"padding", Ints{1, 0, 0, 1, 1, 1}}, {"count_include_pad", include},
         {"ceil_mode", true}},
        {f64({1, 2, 5, 4, 6})});
  }
  add("avg_pool2d", {{"kernel_size", Ints{2, 2}}, {"stride", Ints{2, 2}}}, {f32({2, 3, 4, 4})});
  add("avg_pool3d", {{"kernel_size", Ints{2, 2, 2}}, {"stride", Ints{1, 1, 1}}, {"dilation", Ints{1, 2, 1}}}, {f32({1, 3, 3, 3})});
  add("avg_pool1d", {{"kernel_size", Ints{2}}, {"stride", Ints{2}}, {"dilation", Ints{2}}, {"ceil_mode", true}}, {f64({2, 9})});
}

void convolutions_cases(Add add) {
  // Convolutions: 3-D and transposed.
  add("conv3d", {}, {f64({1, 2, 4, 5, 5}), f64({3, 2, 2, 3, 2})});
  add("conv3d",
      {{"stride", Ints{2, 1, 2}}, {"padding", Ints{1, 0, 1, 1, 0, 2}}, {"dilation", Ints{1, 2, 1}}, {"groups", int64_t{2}}},
      {f64({2, 4, 5, 6, 5}), f64({4, 2, 2, 2, 3})});
  add("conv3d", {}, {f32({1, 1, 3, 3, 3}), f32({2, 1, 2, 2, 2})});
  add("conv_transpose1d", {}, {f64({2, 3, 5}), f64({3, 2, 3})});
  add("conv_transpose1d",
      {{"stride", Ints{2}}, {"padding", Ints{1, 0}}, {"output_padding", Ints{1}}, {"dilation", Ints{2}}, {"groups", int64_t{3}}},
      {f64({1, 3, 6}), f64({3, 2, 3})});
  add("conv_transpose2d", {}, {f32({1, 2, 4, 4}), f32({2, 3, 3, 3})});
  add("conv_transpose2d",
      {{"stride", Ints{2, 1}}, {"padding", Ints{1, 1, 0, 1}}, {"output_padding", Ints{1, 0}}, {"dilation", Ints{1, 2}},
       {"groups", int64_t{2}}},
      {f64({2, 4, 3, 4}), f64({4, 3, 3, 2})});
  add("conv_transpose3d", {}, {f64({1, 2, 2, 3, 3}), f64({2, 2, 2, 2, 2})});
  add("conv_transpose3d",
      {{"stride", Ints{2, 2, 1}}, {"padding", Ints{0, 1, 1, 0, 0, 0}}, {"output_padding", Ints{1, 0, 0}}, {"dilation", Ints{1, 1, 2}},
       {"groups", int64_t{3}}},
      {f32({1, 3, 2, 2, 3}), f32({3, 2, 2, 3, 2})});
}

void normalizations_cases(Add add) {
  // Normalizations.
  add("batch_norm", {}, {f32({2, 3, 4, 5}), f32({3}), f32({3}), f32({3}), f32({3}, 0.1, 2)});
  add("batch_norm", {{"epsilon", 1e-3}}, {f64({4, 3}), f64({3}), f64({3}), f64({3}), f64({3}, 0, 2)});
  add("batch_norm", {}, {f64({2, 2, 7}), f64({2}), f64({2}), f64({2}), f64({2}, 0.5, 1)});
  add("instance_norm", {}, {f32({2, 3, 5, 4}), f32({3}), f32({3})});
  add("instance_norm", {{"epsilon", 0.01}}, {f64({2, 2, 7}), f64({2}), f64({2})});
  add("scaled_dot_product_attention", {}, {f32({2, 3, 4}), f32({2, 5, 4}), f32({2, 5, 2})});
  add("scaled_dot_product_attention", {{"is_causal", true}}, {f64({4, 3}), f64({4, 3}), f64({4, 5})});
  add("scaled_dot_product_attention", {{"is_causal", true}, {"scale", 0.25}}, {f64({2, 2, 3, 2}), f64({2, 2, 5, 2}), f64({2, 2, 5, 3})});
  add("scaled_dot_product_attention", {{"scale", int64_t{2}}}, {f64({1, 2}, -9, 9), f64({3, 2}, -9, 9), f64({3, 1})});
  add("tsne_p_joint", {}, {f64({5, 5}, 0.5, 4), values(DType::float64, {}, {3.0}), values(DType::float64, {}, {2.2250738585072014e-308})});
  add("tsne_p_joint", {}, {f64({8, 8}, 0, 30), values(DType::float64, {}, {2.5}), values(DType::float64, {}, {1e-12})});
  add("tsne_p_joint", {}, {f64({1, 1}), values(DType::float64, {}, {1.0}), values(DType::float64, {}, {1e-12})});
  add("group_norm", {{"num_groups", int64_t{2}}}, {f32({2, 4, 3})});
  add("group_norm", {{"num_groups", int64_t{3}}, {"epsilon", 0.01}}, {f64({3, 6, 2, 2})});
  add("group_norm", {{"num_groups", int64_t{2}}}, {f64({2, 3, 4}, 100, 101)});  // groups straddle channels, as in numpy
  add("group_norm", {{"num_groups", int64_t{1}}}, {f64({1, 5})});
  add("layer_norm", {}, {f32({2, 3, 8}), f32({8}), f32({8})});
  add("layer_norm", {{"axis", int64_t{1}}, {"epsilon", 1e-3}}, {f64({2, 3, 4}), f64({3, 4}), f64({4})});
  add("layer_norm", {{"axis", int64_t{0}}}, {f64({3, 5}, 100, 101), f64({1}), f64({5})});
}

void onnx_shape_indexing_cases(Add add) {
  // --- ONNX shape/indexing ops (issue 14). Data movement runs over every element size.
  add("slice", {{"starts", Ints{1, 0}}, {"ends", Ints{3, -1}}}, {f32({4, 5})});
  add("slice", {{"starts", Ints{-1}}, {"ends", Ints{min64}}, {"axes", Ints{1}}, {"steps", Ints{-1}}}, {i64({3, 4})});
  add("slice", {{"starts", Ints{0, 1}}, {"ends", Ints{max64, 1000}}, {"axes", Ints{0, 2}}, {"steps", Ints{2, 3}}},
      {typed(DType::uint8, {5, 3, 7}, 0, 255)});
  add("slice", {{"starts", Ints{-3}}, {"ends", Ints{-1}}, {"axes", Ints{-1}}}, {boolean({2, 6})});
  add("slice", {{"starts", Ints{3}}, {"ends", Ints{1}}}, {f64({5})});
  add("slice", {{"starts", Ints{1}}, {"ends", Ints{3}}, {"axes", Ints{0}}, {"steps", Ints{1}}}, {typed(DType::float16, {4, 4})});
  add("slice", {{"starts", Ints{100}}, {"ends", Ints{-100}}, {"steps", Ints{-2}}}, {typed(DType::int8, {7})});
  add("slice", {{"starts", Ints{-1000, 5}}, {"ends", Ints{2, -6}}, {"axes", Ints{0, 1}}, {"steps", Ints{1, -1}}},
      {i32({4, 2})});
  add("expand", {{"shape", Ints{2, 3, 4}}}, {f32({3, 1})});
  add("expand", {{"shape", Ints{2, 1}}}, {i64({4})});
  add("expand", {{"shape", Ints{3}}}, {boolean({1})});
  add("expand", {{"shape", Ints{2, 1}}}, {typed(DType::uint8, {2, 1, 3}, 0, 255)});
  add("expand", {{"shape", Ints{2, 2}}}, {typed(DType::float16, {})});
  add("expand", {{"shape", Ints{3, 0}}}, {f64({3, 1})});
  add("tile", {{"repeats", Ints{2, 1}}}, {f32({2, 3})});
  add("tile", {{"repeats", Ints{3}}}, {typed(DType::int8, {3})});
  add("tile", {{"repeats", Ints{1, 3}}}, {boolean({2, 2})});
  add("tile", {{"repeats", Ints{1, 2, 0}}}, {f64({2, 1, 2})});
  add("tile", {{"repeats", Ints{}}}, {typed(DType::float16, {})});
  add("pad", {{"pads", Ints{1, 0, 0, 2}}, {"value", 1.5}}, {f32({2, 3})});
  add("pad", {{"pads", Ints{2, 1, 1, 3}}, {"mode", std::string("reflect")}}, {f64({3, 4})});
  add("pad", {{"pads", Ints{0, 2, 1, 1}}, {"mode", std::string("edge")}}, {i32({2, 3})});
  add("pad", {{"pads", Ints{1, 2, 4, 1}}, {"mode", std::string("wrap")}}, {i64({3, 2})});
  add("pad", {{"pads", Ints{-1, 1, 0, -2}}}, {f32({4, 5})});
  add("pad", {{"pads", Ints{-1, 3, 2, -1}}, {"mode", std::string("reflect")}}, {f64({5, 4})});
  add("pad", {{"pads", Ints{5, 4}}, {"mode", std::string("reflect")}}, {f64({3})});
  add("pad", {{"pads", Ints{2, 2}}, {"mode", std::string("reflect")}}, {i64({1})});
  add("pad", {{"pads", Ints{1, 0, 1, 1}}, {"value", int64_t{7}}}, {typed(DType::uint8, {2, 2}, 0, 255)});
  add("pad", {{"pads", Ints{1, 1}}, {"value", int64_t{1}}}, {boolean({3})});
  add("pad", {{"pads", Ints{1, 1, 1, 1}}, {"mode", std::string("edge")}}, {typed(DType::float16, {2, 2})});
  add("depth_to_space", {{"blocksize", int64_t{2}}}, {f32({1, 8, 2, 3})});
  add("depth_to_space", {{"blocksize", int64_t{2}}, {"mode", std::string("CRD")}}, {f64({2, 8, 2, 2})});
  add("depth_to_space", {{"blocksize", int64_t{3}}}, {typed(DType::uint8, {1, 9, 1, 2}, 0, 255)});
  add("space_to_depth", {{"blocksize", int64_t{2}}}, {f32({1, 2, 4, 6})});
  add("space_to_depth", {{"blocksize", int64_t{3}}, {"mode", std::string("CRD")}}, {i64({2, 1, 6, 3})});
  add("gather", {{"axis", int64_t{1}}}, {f32({3, 4, 5}), i64({2, 2}, -4, 3)});
  add("gather", {{"axis", int64_t{-1}}}, {boolean({4, 3}), values(DType::int32, {2}, {2, -3})});
  add("gather", {{"axis", int64_t{0}}}, {typed(DType::uint8, {2, 3}, 0, 255), values(DType::int64, {}, {1})});
  add("gather", {{"axis", int64_t{1}}}, {typed(DType::float16, {5, 2}), values(DType::int64, {3}, {1, 0, 1})});
  add("gather_elements", {}, {f32({3, 4}), i64({2, 4}, -3, 2)});
  add("gather_elements", {{"axis", int64_t{1}}}, {i32({3, 3}), i32({3, 2}, -3, 2)});
  add("gather_elements", {{"axis", int64_t{-1}}}, {boolean({2, 3, 4}), i64({2, 3, 2}, -4, 3)});
  add("gather_elements", {{"axis", int64_t{0}}}, {typed(DType::float16, {4, 2}), i64({1, 2}, 0, 3)});
  add("gather_elements", {{"axis", int64_t{1}}}, {f64({3, 4}), i64({2, 5}, -4, 3)});
  add("scatter_elements", {}, {f32({3, 4}), i64({2, 4}, -3, 2), f32({2, 4})});
  add("scatter_elements", {{"reduction", std::string("add")}}, {f64({4, 3}), i64({5, 3}, 0, 3), f64({5, 3})});
  add("scatter_elements", {{"axis", int64_t{1}}, {"reduction", std::string("mul")}}, {i32({3, 4}), i32({3, 5}, 0, 3), i32({3, 5}, -3, 3)});
  add("scatter_elements", {{"axis", int64_t{1}}, {"reduction", std::string("max")}}, {f32({2, 5}), i64({2, 4}, -5, 4), f32({2, 4})});
  add("scatter_elements", {{"axis", int64_t{-1}}, {"reduction", std::string("min")}}, {i64({2, 2, 3}), i64({2, 2, 4}, 0, 2), i64({2, 2, 4})});
  add("scatter_elements", {{"axis", int64_t{0}}}, {boolean({4, 2}), i32({2, 2}, 0, 3), boolean({2, 2})});
  add("scatter_elements", {{"reduction", std::string("add")}}, {typed(DType::uint8, {3}, 0, 255), i64({4}, 0, 2), typed(DType::uint8, {4}, 0, 255)});
  add("gather_nd", {}, {f32({2, 3, 4}), values(DType::int64, {3, 2}, {1, 2, 0, -1, -2, 0})});
  add("gather_nd", {{"batch_dims", int64_t{1}}}, {f64({2, 3, 4}), values(DType::int64, {2, 2, 1}, {2, 0, -1, 1})});
  add("gather_nd", {}, {boolean({3, 2}), values(DType::int32, {2, 2, 2}, {0, 1, 2, 0, 1, 1, -1, -2})});
  add("gather_nd", {{"batch_dims", int64_t{2}}}, {i64({2, 2, 3}), values(DType::int64, {2, 2, 1}, {0, 2, 1, -1})});
  add("scatter_nd", {}, {f32({4, 3}), values(DType::int64, {2, 1}, {3, 0}), f32({2, 3})});
  add("scatter_nd", {{"reduction", std::string("add")}}, {f64({4}), values(DType::int64, {3, 1}, {1, 1, -1}), f64({3})});
  add("scatter_nd", {{"reduction", std::string("mul")}}, {i64({2, 3, 2}), values(DType::int32, {2, 2}, {1, 2, 0, 0}), i64({2, 2})});
  add("scatter_nd", {{"reduction", std::string("max")}}, {f32({2, 2}), values(DType::int64, {2, 2}, {0, 1, 0, 1}), f32({2})});
  add("scatter_nd", {{"reduction", std::string("min")}}, {i32({3, 2}), values(DType::int64, {1, 1}, {2}), i32({1, 2})});
  add("scatter_nd", {}, {typed(DType::int8, {2, 2}), values(DType::int64, {1, 2}, {1, 0}), typed(DType::int8, {1})});
  add("one_hot", {{"depth", int64_t{4}}}, {i64({2, 3}, -5, 5), values(DType::float32, {2}, {0, 1})});
  add("one_hot", {{"depth", int64_t{3}}, {"axis", int64_t{0}}}, {i32({3}, -3, 2), values(DType::int64, {2}, {-1, 5})});
  add("one_hot", {{"depth", int64_t{3}}, {"axis", int64_t{-1}}},
      {values(DType::float32, {4}, {0.7, 2.2, -1.5, 3}), values(DType::bool_, {2}, {0, 1})});
  add("one_hot", {{"depth", int64_t{5}}, {"axis", int64_t{1}}}, {typed(DType::uint8, {2, 2}, 0, 6), f64({2})});
  add("trilu", {}, {f32({4, 5})});
  add("trilu", {{"upper", false}, {"k", int64_t{1}}}, {f32({4, 5})});
  add("trilu", {{"k", int64_t{-1}}}, {f64({2, 3, 4})});
  add("trilu", {{"upper", false}}, {boolean({3, 3})});
  add("trilu", {{"k", int64_t{10}}}, {i64({3, 5})});
  add("trilu", {{"upper", false}, {"k", int64_t{-2}}}, {typed(DType::uint8, {2, 4, 3}, 0, 255)});
  add("trilu", {{"upper", true}, {"k", max64}}, {typed(DType::float16, {2, 2})});
  add("cumsum", {{"axis", int64_t{0}}}, {f32({3, 4})});
  add("cumsum", {{"axis", int64_t{1}}, {"exclusive", true}}, {f64({2, 5})});
  add("cumsum", {{"axis", int64_t{0}}, {"reverse", true}}, {i32({5})});
  add("cumsum", {{"axis", int64_t{-2}}, {"exclusive", true}, {"reverse", true}}, {i64({2, 3, 2})});
  add("cumsum", {{"axis", int64_t{0}}}, {typed(DType::uint8, {6}, 0, 255)});
  add("cumsum", {{"axis", int64_t{0}}}, {values(DType::uint32, {3}, {4294967295.0, 2, 3})});
  const std::string mode = "mode", ctm = "coordinate_transformation_mode", nearest_mode = "nearest_mode";
  add("resize", {{"sizes", Ints{1, 1, 4, 6}}}, {f32({1, 1, 2, 2})});
  add("resize", {{"sizes", Ints{1, 1, 4, 6}}, {"scales", Numbers{1, 1, 2, 3}}, {ctm, str("asymmetric")}, {nearest_mode, str("floor")}},
      {f32({1, 1, 2, 2})});
  add("resize", {{"sizes", Ints{1, 2, 3, 4}}, {ctm, str("align_corners")}, {nearest_mode, str("round_prefer_ceil")}},
      {f32({1, 2, 5, 7})});
  add("resize", {{"sizes", Ints{1, 1, 5, 3}}, {ctm, str("pytorch_half_pixel")}, {nearest_mode, str("ceil")}}, {f64({1, 1, 3, 4})});
  add("resize", {{"sizes", Ints{1, 1, 8, 8}}, {mode, str("linear")}}, {f32({1, 1, 4, 4})});
  add("resize", {{"sizes", Ints{2, 5, 3}}, {mode, str("linear")}, {ctm, str("align_corners")}}, {f64({2, 3, 5})});
  add("resize", {{"sizes", Ints{1, 1, 2, 2}}, {"scales", Numbers{1, 1, 0.6, 0.6}}, {mode, str("linear")}, {ctm, str("asymmetric")}},
      {f32({1, 1, 4, 4})});
  add("resize", {{"sizes", Ints{1, 1, 1, 3}}, {mode, str("linear")}, {ctm, str("pytorch_half_pixel")}}, {f64({1, 1, 4, 4})});
  add("resize", {{"sizes", Ints{1, 1, 8, 8}}, {mode, str("cubic")}}, {f32({1, 1, 4, 4})});
  add("resize", {{"sizes", Ints{1, 1, 3, 6}}, {mode, str("cubic")}, {ctm, str("align_corners")}, {"cubic_coeff_a", -0.5},
                 {"exclude_outside", true}},
      {f64({1, 1, 4, 4})});
  add("resize", {{"sizes", Ints{1, 1, 6, 5}}, {"scales", Numbers{1, 1, 1.6, 1.4}}, {mode, str("cubic")}, {ctm, str("asymmetric")}},
      {f64({1, 1, 4, 4})});
  add("resize", {{"sizes", Ints{1, 1, 3, 3}}, {"roi", Numbers{0, 0, 0.4, 0.6, 1, 1, 0.6, 0.8}}, {mode, str("linear")},
                 {ctm, str("tf_crop_and_resize")}, {"extrapolation_value", 10.0}},
      {f32({1, 1, 4, 4})});
  add("resize", {{"sizes", Ints{1, 1, 4, 3}}, {"roi", Numbers{0, 0, -0.2, 0.1, 1, 1, 1.3, 0.9}}, {ctm, str("tf_crop_and_resize")},
                 {"extrapolation_value", int64_t{-1}}},
      {f64({1, 1, 5, 4})});
  add("resize", {{"sizes", Ints{1, 3, 6, 5}}, {mode, str("linear")}}, {typed(DType::uint8, {1, 3, 4, 4}, 0, 255)});
  add("resize", {{"sizes", Ints{-1, -1, 7}}, {mode, str("linear")}}, {f32({2, 3, 4})});
  add("resize", {{"sizes", Ints{-1, -1, -1}}, {"scales", Numbers{1, 1, 1.7}}, {mode, str("cubic")}}, {f64({1, 2, 5})});
  add("resize", {{"sizes", Ints{2, 6}}, {mode, str("nearest")}}, {i32({2, 3})});
  auto eq = [](const char* s) { return Attributes{{"equation", std::string(s)}}; };
  add("einsum", eq("ij,jk->ik"), {f32({3, 4}), f32({4, 5})});
  add("einsum", eq("bij,bjk"), {f64({2, 3, 4}), f64({2, 4, 2})});
  add("einsum", eq("...ii->...i"), {f64({2, 3, 3})});
  add("einsum", eq("i,i"), {i64({5}), i64({5})});
  add("einsum", eq("ij->"), {i32({3, 4})});
  add("einsum", eq("ij->ji"), {f32({2, 3})});
  add("einsum", eq("...j,j...->..."), {f64({2, 1, 3}), f64({3, 4})});
  add("einsum", eq("bhqd, bhkd -> bhqk"), {f32({2, 2, 3, 4}), f32({2, 2, 5, 4})});
  add("einsum", eq("ii"), {f64({4, 4})});
  add("einsum", eq("ab,bc,cd->ad"), {f64({2, 3}), f64({3, 2}), f64({2, 4})});
  add("einsum", eq("Ba,aB->B"), {typed(DType::int8, {3, 2}, -5, 5), typed(DType::int8, {2, 3}, -5, 5)});
}

void grid_sample_cases(Add add) {
  // grid_sample: every mode x padding, both corner conventions, grid points up to 30% outside the image.
  for (const char* gmode : {"bilinear", "nearest", "bicubic"})
    for (const char* padding : {"zeros", "border", "reflection"})
      add("grid_sample", {{"mode", str(gmode)}, {"padding_mode", str(padding)}, {"align_corners", std::string(padding) == "border"}},
          {f32({2, 2, 4, 5}), f32({2, 3, 4, 2}, -1.3, 1.3)});
  add("grid_sample", {{"align_corners", true}, {"padding_mode", str("reflection")}}, {f64({1, 3, 3, 2}), f64({1, 5, 2, 2}, -3, 3)});
  add("grid_sample", {{"mode", str("bicubic")}}, {f64({1, 1, 1, 1}), f32({1, 2, 2, 2}, -1.5, 1.5)});
  add("reverse_sequence", {}, {f32({4, 3, 2}), values(DType::int64, {3}, {4, 1, 2})});
  add("reverse_sequence", {{"batch_axis", int64_t{0}}, {"time_axis", int64_t{1}}}, {i32({3, 5}), values(DType::int32, {3}, {0, 5, 3})});
  add("reverse_sequence", {}, {typed(DType::float16, {2, 2}), values(DType::int64, {2}, {2, 2})});
  add("det", {}, {f64({3, 3})});
  add("det", {}, {f32({2, 4, 4})});
  add("det", {}, {f64({2, 1, 2, 2})});
  add("det", {}, {values(DType::float64, {3, 3}, {1, 2, 3, 2, 4, 6, 0, 1, 5})});  // singular
  add("det", {}, {values(DType::float64, {3, 3}, {0, 0, 2, 0, 3, 0, 4, 0, 0})});  // needs row swaps
  auto tf_idf = [&](const char* tmode, int64_t lo, int64_t hi, int64_t skip, TensorSpec tokens, Numbers weights = {}) {
    add("tf_idf_vectorizer",
        {{"mode", str(tmode)}, {"min_gram_length", lo}, {"max_gram_length", hi}, {"max_skip_count", skip},
         {"ngram_counts", Ints{0, 4}}, {"ngram_indexes", Ints{0, 1, 2, 3, 4, 5, 6}}, {"pool_int64s", Ints{2, 3, 5, 4, 5, 6, 7, 8, 6, 7}},
         {"weights", weights}},
        {std::move(tokens)});
  };
  tf_idf("TF", 1, 2, 2, i64({12}, 2, 8));
  tf_idf("TF", 2, 2, 0, i32({2, 8}, 2, 8));
  tf_idf("IDF", 1, 1, 3, i64({3, 6}, 2, 8), Numbers{0.5, 1, 1.5, 2, 2.5, 3, 3.5});
  tf_idf("TFIDF", 1, 2, 1, i32({2, 9}, 2, 8), Numbers{0.5, 1, 1.5, 2, 2.5, 3, 3.5});
  tf_idf("TFIDF", 2, 2, 4, i64({10}, 2, 8));
}

void max_unpool_cases(Add add) {
  // max_unpool: positions in the whole flattened output (a 2x2 pool of [1, 2, 4, 4] and the like).
  add("max_unpool", {{"kernel_size", Ints{2, 2}}, {"stride", Ints{2, 2}}},
      {f32({1, 2, 2, 2}), values(DType::int64, {1, 2, 2, 2}, {5, 2, 8, 15, 16, 19, 29, 30})});
  add("max_unpool", {{"kernel_size", Ints{2}}, {"stride", Ints{2}}, {"output_size", Ints{8}}},
      {f64({2, 1, 3}), values(DType::int32, {2, 1, 3}, {0, 3, 5, 6, 9, 11})});
  add("max_unpool", {{"kernel_size", Ints{3, 2}}, {"padding", Ints{1, 0, 0, 1}}},
      {i64({1, 1, 2, 2}), values(DType::int64, {1, 1, 2, 2}, {0, 4, 5, 2})});
  for (bool largest : {true, false}) {
    for (const char* op : {"top_k_values", "top_k_indices"}) {
      add(op, {{"k", int64_t{2}}, {"largest", largest}}, {f32({3, 5})});
      add(op, {{"k", int64_t{3}}, {"axis", int64_t{0}}, {"largest", largest}, {"sorted", false}}, {f64({4, 3})});
      add(op, {{"k", int64_t{4}}, {"largest", largest}}, {values(DType::int64, {2, 6}, {3, 1, 3, 2, 1, 3, 0, 0, 5, 0, 5, 0})});
      add(op, {{"k", int64_t{3}}, {"largest", largest}}, {values(DType::float64, {5}, {1, nan, 3, nan, 2})});
      add(op, {{"k", int64_t{0}}, {"axis", int64_t{1}}, {"largest", largest}}, {i32({2, 3})});
      add(op, {{"k", int64_t{2}}, {"axis", int64_t{-2}}, {"largest", largest}}, {typed(DType::uint8, {3, 2}, 0, 255)});
    }
  }
}

void integer_widths_cases(Add add) {
  // Every integer width in the elementwise and reduction kernels (ONNX models use them all),
  // with wrap-around where numpy wraps.
  for (DType dtype : {DType::int8, DType::int16, DType::uint8, DType::uint16, DType::uint32, DType::uint64}) {
    bool is_signed = dtype == DType::int8 || dtype == DType::int16;
    double low = is_signed ? -9 : 0;
    for (const char* op : {"add", "subtract", "multiply", "maximum", "minimum", "floor_divide", "mod"})
      add(op, {}, {typed(dtype, {2, 3}, low, 9), typed(dtype, {3}, low, 9)});
    for (const char* op : {"negate", "abs", "sign"}) add(op, {}, {typed(dtype, {5}, low, 9)});
    for (const char* op : {"shift_left", "shift_right"}) add(op, {}, {typed(dtype, {2, 3}, low, 99), typed(dtype, {3}, 0, 9)});
    add("where", {}, {boolean({2, 3}), typed(dtype, {2, 3}, low, 9), typed(dtype, {3}, low, 9)});
    for (const char* op : {"sum", "prod", "max", "min"}) add(op, {{"axes", int64_t{1}}}, {typed(dtype, {3, 4}, low, 9)});
    add("max_pool2d", {{"kernel_size", Ints{2, 2}}, {"stride", Ints{1, 1}}}, {typed(dtype, {1, 3, 4}, low, 9)});
  }
  add("add", {}, {values(DType::uint8, {3}, {250, 1, 255}), values(DType::uint8, {3}, {10, 2, 255})});
  add("multiply", {}, {values(DType::int8, {3}, {100, -128, 7}), values(DType::int8, {3}, {3, -1, 5})});
  add("floor_divide", {}, {values(DType::int16, {4}, {-32768, 7, -7, 5}), values(DType::int16, {4}, {-1, -2, 2, 0})});
  add("abs", {}, {values(DType::int8, {3}, {-128, -5, 5})});
  add("shift_right", {}, {values(DType::uint8, {3}, {255, 128, 7}), values(DType::uint8, {3}, {1, 7, 8})});
}

// n x n matrices for the GPR family, from M_ij = sin(i n + j + 1): "spd" M M^T + I (positive
// definite), "indefinite" that minus its mean eigenvalue (trace / n) times I (symmetric, with
// eigenvalues of both signs: Cholesky fails), "factor" M's lower triangle with |M_ii| + 1 on the
// diagonal (an L to solve with), "upper_noise" spd with its strict upper triangle replaced (numpy
// reads the lower one only), "nan" NaN only (cholesky's None), "singular" M with a zero last
// column (rank n - 1).
Numbers gpr_matrix(int64_t n, const std::string& kind) {
  auto m = [&](int64_t i, int64_t j) { return std::sin(static_cast<double>(i * n + j + 1)); };
  Numbers a(static_cast<std::size_t>(n * n));
  double trace = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double v = 0;
      for (int64_t k = 0; k < n; ++k) v += m(i, k) * m(j, k);
      if (i == j) v += 1, trace += v;
      a[static_cast<std::size_t>(i * n + j)] = v;
    }
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double& v = a[static_cast<std::size_t>(i * n + j)];
      if (kind == "indefinite" && i == j) v -= trace / static_cast<double>(n);
      if (kind == "upper_noise" && j > i) v = 7 * m(j, i) - 3;
      if (kind == "factor") v = j > i ? 0 : i == j ? std::abs(m(i, i)) + 1 : m(i, j);
      if (kind == "nan") v = nan;
      if (kind == "singular") v = j == n - 1 ? 0 : m(i, j);
    }
  return a;
}

void gpr_cases(Add add) {
  auto f64m = [](int64_t n, const char* kind) { return values(DType::float64, {n, n}, gpr_matrix(n, kind)); };
  add("cholesky", {}, {f64m(4, "spd")});
  add("cholesky", {}, {f64m(3, "upper_noise")});
  add("cholesky", {}, {f64m(4, "indefinite")});  // not positive definite: NaN only
  add("cholesky", {}, {values(DType::float32, {3, 3}, gpr_matrix(3, "spd"))});
  add("cholesky", {}, {f64({0, 0})});
  add("gpr_alpha", {}, {f64({4, 1}), f64m(4, "factor"), f64({4, 4})});
  add("gpr_alpha", {}, {f64({4}), f64m(4, "nan"), f64m(4, "indefinite")});  // L None: numpy.linalg.solve
  add("gpr_alpha", {}, {f64({3, 2}), f64m(3, "nan"), f64({3, 3})});
  add("gpr_alpha", {}, {f32({3, 1}), values(DType::float32, {3, 3}, gpr_matrix(3, "factor")), f32({3, 3})});
  add("gpr_eigvalsh", {}, {f64m(4, "spd"), f64m(4, "factor"), values(DType::float64, {}, {2.220446049250313e-16})});
  add("gpr_eigvalsh", {}, {f64m(5, "indefinite"), f64m(5, "nan"), values(DType::float64, {}, {2.220446049250313e-16})});
  add("gpr_eigvalsh", {}, {f64m(4, "indefinite"), f64m(4, "nan"), values(DType::float64, {}, {0.25})});  // clipped
  add("gpr_eigvalsh", {}, {f64({6, 6}), f64m(6, "nan"), values(DType::float64, {}, {-100})});  // lower triangle only
  add("gpr_v_outer", {}, {f64({4, 3}), f64({4, 4}), f64m(4, "factor")});
  add("gpr_v_outer", {}, {f64({4, 4}), f64m(4, "indefinite"), f64m(4, "nan")});  // L None: lstsq
  add("gpr_v_outer", {}, {f64({4, 2}), f64m(4, "singular"), f64m(4, "nan")});     // minimum-norm solution
  add("gpr_v_outer", {}, {f64({5, 5}), f64({5, 5}), f64m(5, "nan")});             // a general (non-symmetric) K_term
  add("dim_size", {{"axis", int64_t{1}}}, {f64({3, 4})});
  add("dim_size", {{"axis", int64_t{-3}}, {"dtype", str("float64")}}, {i32({2, 3, 1})});
  add("eye_of_dim", {{"axis", int64_t{1}}}, {f32({3, 5})});
  add("eye_of_dim", {{"axis", int64_t{0}}, {"dtype", str("int32")}}, {boolean({4, 2})});
  add("dim_size", {{"axis", AttrValue{}}}, {f32({2, 3, 2})});
  add("eye_of_dim", {{"axis", AttrValue{}}}, {f64({3, 2})});
  // A state cut at another value's size: shorter, longer and equal, before and after, other axes.
  add("slice_at_dim", {{"keep", str("before")}}, {f64({5, 1, 3}), f64({3, 1, 2})});
  add("slice_at_dim", {{"keep", str("after")}}, {f64({5, 1, 3}), f64({3, 1, 2})});
  add("slice_at_dim", {{"keep", str("before")}}, {f32({2, 4}), f32({3, 1})});   // n past the end: all of it
  add("slice_at_dim", {{"keep", str("after")}}, {i64({2, 4}), f32({3, 1})});    // and nothing after
  add("slice_at_dim", {{"keep", str("after")}}, {f64({3, 2}), f64({3, 7})});    // equal sizes: empty
  add("slice_at_dim", {{"keep", str("before")}, {"axis", int64_t{-1}}, {"like_axis", int64_t{1}}}, {f64({2, 6}), boolean({4, 2})});
  add("slice_at_dim", {{"keep", str("after")}, {"axis", int64_t{1}}, {"like_axis", int64_t{-2}}}, {i32({2, 6, 3}), f64({4, 2})});
  // Python Mithril's Split: equal sections, the remainder dropped.
  add("split_section", {{"sections", int64_t{3}}, {"index", int64_t{1}}, {"axis", int64_t{1}}}, {f64({2, 6, 2})});
  add("split_section", {{"sections", int64_t{2}}, {"index", int64_t{1}}, {"axis", int64_t{-1}}}, {i64({3, 5})});  // 5 // 2
  add("split_section", {{"sections", int64_t{4}}, {"index", int64_t{0}}}, {boolean({4, 3})});
  add("split_section", {{"sections", int64_t{3}}, {"index", int64_t{2}}}, {f32({2, 2})});  // sections of 0
}

std::vector<OpCase> build_cases() {
  std::vector<OpCase> cases;
  auto add = [&](std::string op, Attributes attrs, std::vector<TensorSpec> inputs) {
    cases.push_back({std::move(op), std::move(attrs), std::move(inputs)});
  };
  for (auto family : {binary_arithmetic_cases, unary_math_cases, activations_cases, matmul_cases, shape_ops_cases, reductions_cases,
                      where_and_cast_cases, nn_cases, loss_cases, onnx_nn_math_cases, float16_cases, pools_cases,
                      convolutions_cases, normalizations_cases, onnx_shape_indexing_cases, grid_sample_cases, max_unpool_cases, integer_widths_cases, gpr_cases})
    family(add);
  return cases;
}

}  // namespace

const std::vector<OpCase>& op_cases() {
  static const std::vector<OpCase> cases = build_cases();
  return cases;
}

Tensor make_input(const TensorSpec& spec, uint64_t seed) {
  Tensor staging(DType::float64, spec.shape);
  double* v = staging.mutable_data_as<double>();
  if (!spec.values.empty()) {
    for (int64_t i = 0; i < staging.numel(); ++i) v[i] = spec.values.at(static_cast<std::size_t>(i));
  } else {
    std::mt19937_64 random(seed);
    std::uniform_real_distribution<double> uniform(spec.low, spec.high);
    for (int64_t i = 0; i < staging.numel(); ++i) {
      double x = uniform(random);
      if (spec.dtype == DType::bool_) x = x < (spec.low + spec.high) / 2 ? 0 : 1;
      else if (is_integer(spec.dtype)) x = std::round(x);
      v[i] = x;
    }
  }
  return staging.cast(spec.dtype).copy();
}

std::string describe(const OpCase& c) {
  std::string text = c.op + " {";
  bool first = true;
  for (const auto& [name, value] : c.attrs) {
    text += (first ? "" : ", ") + name + "=" + attr_str(value);
    first = false;
  }
  text += "}";
  for (std::size_t i = 0; i < c.inputs.size(); ++i)
    text += (i ? ", " : " ") + std::string(dtype_name(c.inputs[i].dtype)) + shape_str(c.inputs[i].shape);
  return text;
}

}  // namespace mithril::test
