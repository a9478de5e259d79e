// Inference on symbolic shapes, and the errors inference and kernels report.
#include <catch2/catch.hpp>

#include "backends/backend.h"
#include "core/error.h"
#include "ops/registry.h"
#include "ops/shape_inference.h"

using namespace mithril;

namespace {

// "[batch,null,10]" -> {named batch, unknown, known 10}.
SymShape sym(const std::string& text) {
  SymShape shape;
  std::string inner = text.substr(1, text.size() - 2);
  std::size_t start = 0;
  while (!inner.empty() && start <= inner.size()) {
    std::size_t comma = inner.find(',', start);
    std::string item = inner.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item == "null") shape.push_back(Dim::any());
    else if (std::isdigit(static_cast<unsigned char>(item[0]))) shape.push_back(Dim::known(std::stoll(item)));
    else shape.push_back(Dim::named(item));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return shape;
}

ValueInfo f32(const std::string& shape) { return {DType::float32, sym(shape)}; }
ValueInfo of(DType dtype, const std::string& shape) { return {dtype, sym(shape)}; }

ValueInfo infer(const std::string& op, const std::vector<ValueInfo>& inputs, const Attributes& given = {}) {
  const OpSchema* schema = OpRegistry::global().find(op);
  REQUIRE(schema != nullptr);
  return schema->infer(inputs, OpRegistry::complete_attributes(*schema, given));
}

struct SymbolicCase {
  std::string op;
  Attributes attrs;
  std::vector<ValueInfo> inputs;
  std::string expected;
};

struct ErrorCase {
  std::string op;
  Attributes attrs;
  std::vector<ValueInfo> inputs;
  ErrorKind kind;
  std::string message;  // the whole message must contain this
};

using Ints = std::vector<int64_t>;

}  // namespace

TEST_CASE("broadcasting over symbolic dimensions", "[ops][inference]") {
  CHECK(shape_str(broadcast_shapes({sym("[batch,10]"), sym("[10]")})) == "[batch,10]");
  CHECK(shape_str(broadcast_shapes({sym("[batch,1]"), sym("[1,10]")})) == "[batch,10]");
  CHECK(shape_str(broadcast_shapes({sym("[batch,10]"), sym("[batch,1]")})) == "[batch,10]");
  CHECK(shape_str(broadcast_shapes({sym("[batch,10]"), sym("[seq,10]")})) == "[null,10]");
  CHECK(shape_str(broadcast_shapes({sym("[null,10]"), sym("[5,1]")})) == "[5,10]");
  CHECK(shape_str(broadcast_shapes({sym("[batch]"), sym("[null]")})) == "[null]");
  CHECK(shape_str(broadcast_shapes({sym("[]"), sym("[2,3]")})) == "[2,3]");
  CHECK(shape_str(broadcast_shapes({sym("[3,1]"), sym("[1,4]"), sym("[2,1,1]")})) == "[2,3,4]");
  CHECK_THROWS_WITH(broadcast_shapes({sym("[5,10]"), sym("[3,10]")}), "cannot broadcast [5,10] with [3,10]");
}

TEST_CASE("operators infer symbolic output shapes", "[ops][inference]") {
  std::vector<SymbolicCase> cases = {
      {"add", {}, {f32("[batch,10]"), f32("[10]")}, "[batch,10]"},
      {"maximum", {}, {f32("[1,3]"), f32("[batch,1]")}, "[batch,3]"},
      {"divide", {}, {f32("[batch,10]"), f32("[seq,10]")}, "[null,10]"},
      {"exp", {}, {f32("[batch,null]")}, "[batch,null]"},
      {"softmax", {}, {f32("[batch,10]")}, "[batch,10]"},
      {"matmul", {}, {f32("[null,10]"), f32("[10,5]")}, "[null,5]"},
      {"matmul", {}, {f32("[batch,seq,64]"), f32("[64,32]")}, "[batch,seq,32]"},
      {"matmul", {}, {f32("[batch,seq,k]"), f32("[batch,k,seq]")}, "[batch,seq,seq]"},
      {"matmul", {}, {f32("[2,1,3,4]"), f32("[5,4,2]")}, "[2,5,3,2]"},
      {"matmul", {}, {f32("[k]"), f32("[k,n]")}, "[n]"},
      {"matmul", {}, {f32("[m,k]"), f32("[k]")}, "[m]"},
      {"matmul", {}, {f32("[4]"), f32("[4]")}, "[]"},
      {"reshape", {{"shape", Ints{-1, 40}}}, {f32("[batch,10,4]")}, "[batch,40]"},
      {"reshape", {{"shape", Ints{-1, 4}}}, {f32("[batch,seq,4]")}, "[null,4]"},
      {"reshape", {{"shape", Ints{4, -1}}}, {f32("[2,3,4]")}, "[4,6]"},
      {"reshape", {{"shape", Ints{3, 0}}}, {f32("[0,3]")}, "[3,0]"},
      {"reshape", {{"shape", Ints{2, 5}}}, {f32("[batch]")}, "[2,5]"},
      {"transpose", {}, {f32("[batch,3,4]")}, "[4,3,batch]"},
      {"transpose", {{"axes", Ints{0, -1, 1}}}, {f32("[batch,seq,8]")}, "[batch,8,seq]"},
      {"concat", {{"axis", int64_t{1}}}, {f32("[batch,3]"), f32("[batch,5]")}, "[batch,8]"},
      {"concat", {}, {f32("[2,3]"), f32("[batch,3]")}, "[null,3]"},
      {"concat", {{"axis", int64_t{-1}}}, {f32("[null,3]"), f32("[4,3]")}, "[4,6]"},
      {"flatten", {{"start_dim", int64_t{1}}}, {f32("[batch,3,4]")}, "[batch,12]"},
      {"flatten", {}, {f32("[batch,3,4]")}, "[null]"},
      {"flatten", {{"end_dim", int64_t{0}}}, {f32("[batch,3,4]")}, "[batch,3,4]"},
      {"flatten", {}, {f32("[]")}, "[1]"},
      {"flatten", {}, {f32("[batch,0]")}, "[0]"},
      {"sum", {{"axes", int64_t{1}}}, {f32("[batch,10]")}, "[batch]"},
      {"mean", {{"axes", int64_t{0}}, {"keepdims", true}}, {f32("[batch,10]")}, "[1,10]"},
      {"max", {}, {f32("[batch,10]")}, "[]"},
      {"variance", {{"axes", Ints{-1}}, {"keepdims", true}}, {f32("[batch,seq,8]")}, "[batch,seq,1]"},
      {"prod", {{"axes", Ints{}}}, {f32("[batch,2]")}, "[batch,2]"},
      {"where", {}, {of(DType::bool_, "[batch,1]"), f32("[1,10]"), f32("[]")}, "[batch,10]"},
      {"cast", {{"dtype", std::string("float16")}}, {of(DType::int64, "[batch]")}, "[batch]"},
  };
  for (const SymbolicCase& c : cases) {
    INFO(c.op << " " << c.expected);
    ValueInfo out = infer(c.op, c.inputs, c.attrs);
    CHECK(shape_str(out.shape) == c.expected);
  }
  CHECK(infer("cast", {of(DType::int64, "[batch]")}, {{"dtype", std::string("float16")}}).dtype == DType::float16);
  CHECK(infer("where", {of(DType::bool_, "[2]"), of(DType::int32, "[2]"), of(DType::int32, "[2]")}).dtype == DType::int32);
  CHECK(infer("sum", {of(DType::int32, "[2]")}).dtype == DType::int32);
}

TEST_CASE("inference errors name what disagrees", "[ops][inference]") {
  const ValueInfo i64 = of(DType::int64, "[5,10]");
  std::vector<ErrorCase> cases = {
      {"add", {}, {f32("[5,10]"), f32("[3,10]")}, ErrorKind::shape, "cannot broadcast [5,10] with [3,10]"},
      {"add", {}, {f32("[5,10]"), i64}, ErrorKind::shape, "dtype mismatch: float32 vs int64"},
      {"add", {}, {of(DType::bool_, "[2]"), of(DType::bool_, "[2]")}, ErrorKind::shape, "add needs a numeric input, got bool"},
      {"add", {}, {f32("[2]")}, ErrorKind::schema, "'add' takes 2 input(s), got 1"},
      {"divide", {}, {i64, i64}, ErrorKind::shape, "divide needs a floating-point input, got int64"},
      {"exp", {}, {i64}, ErrorKind::shape, "exp needs a floating-point input, got int64"},
      {"relu", {}, {of(DType::int32, "[3]")}, ErrorKind::shape, "relu needs a floating-point input, got int32"},
      {"matmul", {}, {f32("[5,10]"), f32("[20,1]")}, ErrorKind::shape, "inner dimensions differ: [5,10] @ [20,1]"},
      {"matmul", {}, {f32("[2,5,10]"), f32("[3,10,4]")}, ErrorKind::shape,
       "batch dimensions do not broadcast: [2,5,10] @ [3,10,4]"},
      {"matmul", {}, {f32("[]"), f32("[3]")}, ErrorKind::shape, "matmul needs operands of rank 1 or more: [] @ [3]"},
      {"matmul", {}, {f32("[2,3]"), of(DType::float64, "[3,2]")}, ErrorKind::shape, "dtype mismatch: float32 vs float64"},
      {"softmax", {{"axis", int64_t{2}}}, {f32("[3,4]")}, ErrorKind::shape, "axis 2 is out of range for rank 2"},
      {"softmax", {{"axis", int64_t{-3}}}, {f32("[3,4]")}, ErrorKind::shape, "axis -3 is out of range for rank 2"},
      {"softmax", {{"axis", std::string("x")}}, {f32("[3,4]")}, ErrorKind::schema, "attribute 'axis' of 'softmax'"},
      {"leaky_relu", {{"alpha", 0.1}}, {f32("[3]")}, ErrorKind::schema, "unknown attribute 'alpha'"},
      {"sum", {{"axes", Ints{0, -2}}}, {f32("[3,4]")}, ErrorKind::shape, "repeated axis -2 in [0,-2]"},
      {"sum", {{"axes", int64_t{3}}}, {f32("[3,4]")}, ErrorKind::shape, "axis 3 is out of range for rank 2"},
      {"mean", {}, {of(DType::int32, "[3]")}, ErrorKind::shape, "mean needs a floating-point input, got int32"},
      {"max", {{"axes", int64_t{1}}}, {f32("[3,0]")}, ErrorKind::shape, "max over an empty axis 1 of [3,0] has no identity"},
      {"variance", {{"correction", -1.0}}, {f32("[3]")}, ErrorKind::schema, "correction must be >= 0"},
      {"transpose", {{"axes", Ints{0, 1}}}, {f32("[2,3,4]")}, ErrorKind::shape, "axes [0,1] do not match the rank 3 of [2,3,4]"},
      {"transpose", {{"axes", Ints{0, 0}}}, {f32("[2,3]")}, ErrorKind::shape, "repeated axis 0 in [0,0]"},
      {"transpose", {{"axes", Ints{0, 2}}}, {f32("[2,3]")}, ErrorKind::shape, "axis 2 is out of range for rank 2"},
      {"reshape", {{"shape", Ints{4, 2}}}, {f32("[2,3]")}, ErrorKind::shape,
       "cannot reshape [2,3] (6 elements) into [4,2] (8 elements)"},
      {"reshape", {{"shape", Ints{4, -1}}}, {f32("[2,3]")}, ErrorKind::shape, "cannot reshape [2,3] (6 elements) into [4,-1]"},
      {"reshape", {{"shape", Ints{0, -1}}}, {f32("[0,3]")}, ErrorKind::shape, "cannot reshape [0,3] (0 elements) into [0,-1]"},
      {"reshape", {{"shape", Ints{-1, -1}}}, {f32("[2,3]")}, ErrorKind::schema, "more than one -1 in shape [-1,-1]"},
      {"reshape", {{"shape", Ints{-2, 3}}}, {f32("[2,3]")}, ErrorKind::schema, "negative size -2 in shape [-2,3]"},
      {"reshape", {}, {f32("[2,3]")}, ErrorKind::schema, "needs attribute 'shape'"},
      {"concat", {}, {f32("[2,3]"), f32("[2,4]")}, ErrorKind::shape,
       "concat along axis 0: shapes [2,3] and [2,4] differ in axis 1"},
      {"concat", {}, {f32("[2,3]"), f32("[2]")}, ErrorKind::shape, "concat: ranks differ: [2,3] and [2]"},
      {"concat", {}, {f32("[2]"), of(DType::int32, "[2]")}, ErrorKind::shape, "dtype mismatch: float32 vs int32"},
      {"concat", {}, {f32("[]"), f32("[]")}, ErrorKind::shape, "cannot concatenate 0-d values"},
      {"concat", {{"axis", int64_t{1}}}, {f32("[2]")}, ErrorKind::shape, "axis 1 is out of range for rank 1"},
      {"concat", {}, {}, ErrorKind::schema, "takes at least 1 input(s), got 0"},
      {"flatten", {{"start_dim", int64_t{2}}, {"end_dim", int64_t{1}}}, {f32("[2,3,4]")}, ErrorKind::shape,
       "flatten: start_dim 2 comes after end_dim 1 for [2,3,4]"},
      {"flatten", {{"start_dim", int64_t{3}}}, {f32("[2,3,4]")}, ErrorKind::shape, "axis 3 is out of range for rank 3"},
      {"where", {}, {f32("[2]"), f32("[2]"), f32("[2]")}, ErrorKind::shape, "where: condition must be bool, got float32"},
      {"where", {}, {of(DType::bool_, "[3]"), f32("[2]"), f32("[2]")}, ErrorKind::shape, "cannot broadcast [3] with [2] with [2]"},
      {"where", {}, {of(DType::bool_, "[2]"), f32("[2]"), of(DType::float64, "[2]")}, ErrorKind::shape,
       "dtype mismatch: float32 vs float64"},
      {"cast", {{"dtype", std::string("float128")}}, {f32("[2]")}, ErrorKind::schema, "cast: unknown dtype 'float128'"},
      {"cast", {{"dtype", std::string("float32")}}, {of(DType::complex64, "[2]")}, ErrorKind::unsupported,
       "cast from complex64 to float32"},
  };
  for (const ErrorCase& c : cases) {
    INFO(c.op << ": expecting \"" << c.message << "\"");
    try {
      infer(c.op, c.inputs, c.attrs);
      FAIL("no error");
    } catch (const Error& e) {
      INFO("got \"" << e.what() << "\"");
      CHECK(std::string(e.what()).find(c.message) != std::string::npos);
      CHECK(error_kind_name(e.kind()) == std::string(error_kind_name(c.kind)));
    }
  }
}

// --- ONNX nn/math ops (issue 14)
TEST_CASE("the ONNX nn/math operators infer symbolic shapes and name what disagrees", "[ops][inference]") {
  std::vector<SymbolicCase> cases = {
      {"less", {}, {f32("[batch,1]"), f32("[3]")}, "[batch,3]"},
      {"argmax", {{"axis", int64_t{1}}}, {f32("[batch,10]")}, "[batch,1]"},
      {"argmin", {{"axis", int64_t{-1}}, {"keepdims", false}}, {f32("[batch,seq,10]")}, "[batch,seq]"},
      {"log_softmax", {}, {f32("[batch,10]")}, "[batch,10]"},
      {"prelu", {}, {f32("[batch,8,h,w]"), f32("[8,1,1]")}, "[batch,8,h,w]"},
      {"max_pool2d", {{"kernel_size", Ints{3, 3}}, {"stride", Ints{2, 2}}, {"ceil_mode", true}}, {f32("[batch,8,8,8]")}, "[batch,8,4,4]"},
      {"max_pool2d", {{"kernel_size", Ints{3, 3}}, {"stride", Ints{2, 2}}, {"ceil_mode", true}, {"padding", Ints{1, 1, 1, 1}}},
       {f32("[batch,8,h,8]")}, "[batch,8,null,5]"},
      {"avg_pool1d", {{"kernel_size", Ints{2}}, {"stride", Ints{2}}}, {f32("[batch,8,seq]")}, "[batch,8,null]"},
      {"conv_transpose2d", {{"stride", Ints{2, 2}}, {"padding", Ints{1, 1, 1, 1}}, {"output_padding", Ints{1, 1}}},
       {f32("[batch,16,7,h]"), f32("[16,4,3,3]")}, "[batch,4,14,null]"},
      {"conv_transpose1d", {{"groups", int64_t{2}}}, {f32("[batch,4,5]"), f32("[4,3,2]")}, "[batch,6,6]"},
      {"conv3d", {{"padding", Ints{1, 1, 0, 0, 0, 0}}}, {f32("[batch,2,4,5,6]"), f32("[3,2,3,3,3]")}, "[batch,3,4,3,4]"},
      {"batch_norm", {}, {f32("[batch,c,8]"), f32("[4]"), f32("[4]"), f32("[4]"), f32("[4]")}, "[batch,c,8]"},
      {"layer_norm", {{"axis", int64_t{-2}}}, {f32("[batch,seq,64]"), f32("[seq,64]"), f32("[64]")}, "[batch,seq,64]"},
  };
  for (const SymbolicCase& c : cases) {
    INFO(c.op << " " << c.expected);
    CHECK(shape_str(infer(c.op, c.inputs, c.attrs).shape) == c.expected);
  }
  CHECK(infer("equal", {of(DType::int8, "[2]"), of(DType::int8, "[2]")}).dtype == DType::bool_);
  CHECK(infer("isinf", {f32("[2]")}).dtype == DType::bool_);
  CHECK(infer("argmax", {of(DType::uint8, "[2,3]")}).dtype == DType::int64);

  std::vector<ErrorCase> errors = {
      {"less", {}, {of(DType::bool_, "[2]"), of(DType::bool_, "[2]")}, ErrorKind::shape, "less needs a numeric input, got bool"},
      {"logical_and", {}, {f32("[2]"), f32("[2]")}, ErrorKind::shape, "logical_and needs bool inputs, got float32"},
      {"round", {}, {of(DType::int32, "[2]")}, ErrorKind::shape, "round needs a floating-point input, got int32"},
      {"clip", {{"min", std::string("a")}}, {f32("[2]")}, ErrorKind::schema, "attribute 'min' of 'clip'"},
      {"argmax", {{"axis", int64_t{2}}}, {f32("[3,4]")}, ErrorKind::shape, "axis 2 is out of range for rank 2"},
      {"argmin", {{"axis", int64_t{1}}}, {f32("[3,0]")}, ErrorKind::shape, "argmin over the empty axis 1 of [3,0]"},
      {"max_pool2d", {{"kernel_size", Ints{2, 2}}, {"stride", Ints{1, 1}}, {"padding", Ints{2, 0, 0, 0}}, {"pad_with_neg_inf", true}},
       {f32("[1,1,4,4]")}, ErrorKind::shape, "padding [2,0,0,0] must be smaller than the window [2,2]"},
      {"avg_pool2d", {{"kernel_size", Ints{2, 2}}, {"stride", Ints{1, 1}}}, {of(DType::int32, "[1,1,4,4]")}, ErrorKind::shape,
       "avg_pool2d needs a floating-point input, got int32"},
      {"conv_transpose2d", {{"output_padding", Ints{1, 0}}}, {f32("[1,2,3,3]"), f32("[2,2,3,3]")}, ErrorKind::schema,
       "output_padding [1,0] must be smaller than the stride or the dilation of its axis"},
      {"conv_transpose2d", {}, {f32("[1,3,3,3]"), f32("[2,2,3,3]")}, ErrorKind::shape, "input has 3 channels, weight [2,2,3,3] expects 2"},
      {"conv_transpose2d", {{"padding", Ints{3, 3, 0, 0}}}, {f32("[1,2,1,3]"), f32("[2,2,2,2]")}, ErrorKind::shape,
       "padding [3,3,0,0] leaves no output"},
      {"batch_norm", {}, {f32("[2,4,5]"), f32("[3]"), f32("[4]"), f32("[4]"), f32("[4]")}, ErrorKind::shape,
       "batch_norm: scale must be [C] for input [2,4,5], got [3]"},
      {"batch_norm", {}, {f32("[4]"), f32("[4]"), f32("[4]"), f32("[4]"), f32("[4]")}, ErrorKind::shape,
       "batch_norm needs an input [N, C, ...], got [4]"},
      {"instance_norm", {}, {f32("[2,4,5]"), f32("[4]")}, ErrorKind::schema, "'instance_norm' takes 3 input(s), got 2"},
      {"layer_norm", {}, {f32("[2,3,8]"), f32("[3,8]"), f32("[8]")}, ErrorKind::shape,
       "layer_norm: scale [3,8] must broadcast to the normalized axes of input [2,3,8]"},
      {"layer_norm", {{"epsilon", -1.0}}, {f32("[2,8]"), f32("[8]"), f32("[8]")}, ErrorKind::schema, "epsilon must be >= 0"},
      {"group_norm", {{"num_groups", int64_t{4}}}, {f32("[2,3,2]")}, ErrorKind::shape,
       "group_norm: a sample of input [2,3,2] has 6 elements, not divisible into 4 groups"},
      {"scaled_dot_product_attention", {}, {f32("[2,3,4]"), f32("[2,5,3]"), f32("[2,5,2]")}, ErrorKind::shape,
       "query and key differ in their last axis"},
      {"scaled_dot_product_attention", {}, {f32("[3,4]"), f32("[5,4]"), f32("[4,2]")}, ErrorKind::shape,
       "key and value differ in their number of rows"},
      {"squeeze", {{"axes", Ints{1}}}, {f32("[1,3]")}, ErrorKind::shape, "squeeze: axis 1 of [1,3] has size 3, not 1"},
      {"group_norm", {{"num_groups", int64_t{0}}}, {f32("[2,3]")}, ErrorKind::schema, "num_groups must be >= 1, got 0"},
      {"group_norm", {{"num_groups", int64_t{1}}}, {of(DType::int64, "[2,3]")}, ErrorKind::shape, "floating"},
      {"mod", {}, {f32("[2]"), of(DType::float64, "[2]")}, ErrorKind::shape, "dtype mismatch: float32 vs float64"},
      {"prelu", {}, {f32("[2,3]"), f32("[4]")}, ErrorKind::shape, "cannot broadcast [2,3] with [4]"},
  };
  for (const ErrorCase& c : errors) {
    INFO(c.op << ": expecting \"" << c.message << "\"");
    try {
      infer(c.op, c.inputs, c.attrs);
      FAIL("no error");
    } catch (const Error& e) {
      INFO("got \"" << e.what() << "\"");
      CHECK(std::string(e.what()).find(c.message) != std::string::npos);
      CHECK(error_kind_name(e.kind()) == std::string(error_kind_name(c.kind)));
    }
  }
}

TEST_CASE("reference kernels refuse dtypes they do not implement", "[ops][kernels]") {
  const Backend& backend = reference_backend();
  auto run = [&](const std::string& op, std::vector<Tensor> inputs, const Attributes& given = {}) {
    const OpSchema* schema = OpRegistry::global().find(op);
    Attributes attrs = OpRegistry::complete_attributes(*schema, given);
    std::vector<ValueInfo> infos;
    for (const Tensor& t : inputs) infos.push_back({t.dtype(), to_sym_shape(t.shape())});
    ValueInfo info = schema->infer(infos, attrs);  // inference accepts these dtypes
    Tensor out(info.dtype, to_shape(info.shape));
    backend.execute(*schema, inputs, attrs, out);
  };
  CHECK_THROWS_WITH(run("exp", {Tensor(DType::float16, {2})}), "reference kernel of 'exp' does not support float16");
  // Binary arithmetic takes float16 through float32 (as numpy computes it).
  Tensor half = Tensor(DType::float32, {2}).cast(DType::float16);
  CHECK_NOTHROW(run("add", {half, half}));
  CHECK_THROWS_WITH(run("sum", {Tensor(DType::bfloat16, {2})}), "reference kernel of 'sum' does not support bfloat16");
  CHECK_THROWS_WITH(run("matmul", {Tensor(DType::uint8, {2, 2}), Tensor(DType::uint8, {2, 2})}),
                    "reference kernel of 'matmul' does not support uint8");
  CHECK_THROWS_WITH(run("matmul", {Tensor(DType::bfloat16, {2, 2}), Tensor(DType::bfloat16, {2, 2})}),
                    "reference kernel of 'matmul' does not support bfloat16");
  try {
    run("softmax", {Tensor(DType::float16, {2})});
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::unsupported);
  }
  // Shape operators move bytes, so any dtype works.
  CHECK_NOTHROW(run("transpose", {Tensor(DType::complex128, {2, 3})}));
  CHECK_NOTHROW(run("concat", {Tensor(DType::float16, {2}), Tensor(DType::float16, {3})}));
}
