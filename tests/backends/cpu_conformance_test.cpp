// The cpu backend against the reference oracle, like ggml's test-backend-ops: every operator case
// (the shared case table plus cpu-specific shapes and broadcasts) runs on both and must agree within
// the tolerance the cpu backend declares for that node; then fused chains, seeded random graphs,
// every zoo model, and the planner's decisions (fusion, fallback, views, in place, arena).
#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>

#include "backends/backend.h"
#include "core/error.h"
#include "graph/builder.h"
#include "graph/initializer.h"
#include "ops/op_cases.h"
#include "physical/physical_model.h"
#include "zoo/zoo.h"

using namespace mithril;
using mithril::test::OpCase;
using mithril::test::TensorSpec;

namespace {

using Ints = std::vector<int64_t>;

TensorSpec f32(Shape shape, double low = -3, double high = 3) { return {DType::float32, std::move(shape), low, high}; }

AttrValue ints(Ints v) { return AttrValue{std::move(v)}; }

// Shapes and attributes the shared table does not reach: the cpu kernels' own paths (collapsed
// GEMMs, batched GEMMs, grouped and strided convolutions, broadcasts on either side, layouts).
std::vector<OpCase> cpu_cases() {
  std::vector<OpCase> c;
  auto add = [&](std::string op, Attributes attrs, std::vector<TensorSpec> in) { c.push_back({std::move(op), std::move(attrs), std::move(in)}); };
  add("matmul", {}, {f32({8, 16}), f32({16, 4})});
  add("matmul", {}, {f32({2, 3, 5, 7}), f32({7, 6})});
  add("matmul", {}, {f32({3, 4, 5}), f32({3, 5, 2})});
  add("matmul", {}, {f32({5}), f32({5, 3})});
  add("matmul", {}, {f32({4, 5}), f32({5})});
  add("matmul", {}, {f32({2, 1, 4, 5}), f32({3, 5, 6})});  // broadcast batch: reference
  add("matmul", {}, {f32({4, 300}), f32({300, 3})});
  add("conv2d", {}, {f32({2, 3, 9, 9}), f32({4, 3, 3, 3})});
  add("conv2d", {{"stride", ints({2, 2})}, {"padding", ints({1, 1, 1, 1})}}, {f32({2, 3, 9, 9}), f32({4, 3, 3, 3})});
  add("conv2d", {{"dilation", ints({2, 2})}}, {f32({1, 2, 10, 10}), f32({3, 2, 3, 3})});
  add("conv2d", {{"groups", AttrValue{int64_t{2}}}}, {f32({1, 4, 7, 7}), f32({6, 2, 3, 3})});
  add("conv2d", {{"padding", ints({0, 1, 2, 0})}}, {f32({1, 3, 6, 8}), f32({2, 3, 2, 3})});
  add("conv1d", {{"stride", ints({2})}, {"padding", ints({1, 2})}}, {f32({2, 3, 11}), f32({5, 3, 4})});
  add("conv1d", {{"groups", AttrValue{int64_t{3}}}}, {f32({1, 6, 8}), f32({3, 2, 3})});
  add("max_pool2d", {{"kernel_size", ints({2, 2})}, {"stride", ints({2, 2})}}, {f32({2, 3, 8, 8})});
  add("max_pool2d", {{"kernel_size", ints({3, 3})}, {"stride", ints({1, 2})}, {"dilation", ints({1, 2})}}, {f32({1, 2, 9, 11})});
  add("max_pool2d", {{"kernel_size", ints({2, 2})}, {"stride", ints({2, 2})}}, {f32({5, 7, 7})});
  add("max_pool2d", {{"kernel_size", ints({2, 2})}, {"stride", ints({2, 2})}, {"padding", ints({1, 1, 1, 1})}}, {f32({1, 2, 6, 6})});
  add("max_pool1d", {{"kernel_size", ints({3})}, {"stride", ints({2})}}, {f32({2, 3, 10})});
  for (const char* op : {"relu", "sigmoid", "tanh", "softplus", "exp", "abs", "negate"}) add(op, {}, {f32({3, 17})});
  add("leaky_relu", {{"slope", AttrValue{0.2}}}, {f32({4, 9})});
  add("gelu", {}, {f32({5, 7})});
  add("gelu", {{"approximate", AttrValue{true}}}, {f32({5, 7})});
  add("log", {}, {f32({3, 11}, 0.1, 5)});
  add("sqrt", {}, {f32({3, 11}, 0.1, 5)});
  for (const char* op : {"add", "subtract", "multiply", "divide"}) {
    double low = std::string(op) == "divide" ? 0.5 : -3;
    add(op, {}, {f32({2, 3, 4}), f32({4}, low, 3)});
    add(op, {}, {f32({2, 3, 4}), f32({3, 1}, low, 3)});
    add(op, {}, {f32({2, 3, 4}), f32({2, 3, 4}, low, 3)});
    add(op, {}, {f32({2, 3, 4}), f32({}, low, 3)});
    add(op, {}, {f32({4}), f32({2, 3, 4}, low, 3)});  // left broadcast: swapped for add/multiply
  }
  add("softmax", {}, {f32({4, 10})});
  add("softmax", {{"axis", AttrValue{int64_t{1}}}}, {f32({2, 5, 3})});
  add("softmax", {{"axis", AttrValue{int64_t{0}}}}, {f32({6, 2})});
  for (const char* op : {"sum", "mean"}) {
    add(op, {}, {f32({4, 6})});
    add(op, {{"axes", ints({1})}}, {f32({4, 6})});
    add(op, {{"axes", ints({0, 2})}, {"keepdims", AttrValue{true}}}, {f32({2, 3, 4})});
  }
  add("prod", {{"axes", ints({1})}}, {f32({3, 5}, 0.5, 1.5)});
  add("transpose", {{"axes", ints({2, 0, 1})}}, {f32({2, 3, 4})});
  add("transpose", {}, {f32({3, 5})});
  add("transpose", {{"axes", ints({1, 0, 2})}}, {{DType::float64, {2, 3, 4}}});
  add("transpose", {}, {{DType::int64, {3, 5}, -9, 9}});
  add("transpose", {}, {{DType::bool_, {3, 4}}});
  add("concat", {{"axis", AttrValue{int64_t{0}}}}, {f32({2, 3}), f32({4, 3})});
  add("concat", {{"axis", AttrValue{int64_t{1}}}}, {f32({2, 3}), f32({2, 5}), f32({2, 1})});
  add("concat", {{"axis", AttrValue{int64_t{0}}}}, {{DType::int64, {2, 2}, -9, 9}, {DType::int64, {1, 2}, -9, 9}});

  // --- ONNX nn/math ops (issue 14)
  auto flag = [](bool b) { return AttrValue{b}; };
  auto number = [](double v) { return AttrValue{v}; };
  add("log_softmax", {}, {f32({4, 10})});
  add("log_softmax", {{"axis", AttrValue{int64_t{1}}}}, {f32({2, 5, 3}, -50, 50)});
  for (const char* op : {"elu", "round", "hard_swish", "mish"}) add(op, {}, {f32({3, 17}, -5, 5)});
  add("elu", {{"alpha", number(0.5)}}, {f32({4, 9})});
  add("round", {}, {{DType::float32, {6}, 0, 0, {-2.5, -1.5, -0.5, 0.5, 1.5, 2.5}}});
  add("reciprocal", {}, {f32({3, 11}, 0.1, 5)});
  add("prelu", {}, {f32({2, 3, 4, 5}), f32({3, 1, 1}, 0, 1)});
  add("prelu", {}, {f32({2, 6}), f32({}, 0, 1)});
  add("prelu", {}, {f32({3, 8}), f32({3, 8}, 0, 1)});
  add("max_pool2d", {{"kernel_size", ints({3, 3})}, {"stride", ints({2, 2})}, {"padding", ints({1, 1, 1, 1})},
                     {"pad_with_neg_inf", flag(true)}},
      {f32({2, 3, 9, 9})});
  add("max_pool2d", {{"kernel_size", ints({3, 3})}, {"stride", ints({2, 2})}, {"ceil_mode", flag(true)}}, {f32({1, 2, 8, 8})});
  add("max_pool1d", {{"kernel_size", ints({3})}, {"stride", ints({2})}, {"padding", ints({1, 1})}, {"pad_with_neg_inf", flag(true)},
                     {"ceil_mode", flag(true)}},
      {f32({2, 3, 10})});
  add("max_pool3d", {{"kernel_size", ints({2, 2, 2})}, {"stride", ints({2, 2, 2})}}, {f32({1, 2, 4, 6, 6})});
  for (bool include : {false, true}) {
    add("avg_pool2d", {{"kernel_size", ints({3, 3})}, {"stride", ints({2, 2})}, {"padding", ints({1, 1, 1, 1})},
                       {"count_include_pad", flag(include)}},
        {f32({2, 3, 9, 9})});
    add("avg_pool1d", {{"kernel_size", ints({3})}, {"stride", ints({1})}, {"padding", ints({1, 1})}, {"count_include_pad", flag(include)}},
        {f32({2, 3, 10})});
    add("avg_pool3d", {{"kernel_size", ints({2, 2, 2})}, {"stride", ints({2, 2, 2})}, {"padding", ints({1, 0, 1, 0, 1, 0})},
                       {"count_include_pad", flag(include)}},
        {f32({1, 2, 5, 5, 5})});
  }
  add("avg_pool2d", {{"kernel_size", ints({2, 2})}, {"stride", ints({2, 2})}, {"ceil_mode", flag(true)}}, {f32({1, 3, 7, 7})});
  add("avg_pool2d", {{"kernel_size", ints({7, 7})}, {"stride", ints({1, 1})}}, {f32({2, 16, 7, 7})});
  add("batch_norm", {}, {f32({2, 8, 5, 5}), f32({8}), f32({8}), f32({8}), f32({8}, 0.1, 2)});
  add("batch_norm", {{"epsilon", number(1e-3)}}, {f32({6, 4}), f32({4}), f32({4}), f32({4}), f32({4}, 0.1, 2)});
  add("batch_norm", {}, {f32({2, 3, 4, 5, 6}), f32({3}), f32({3}), f32({3}), f32({3}, 0.1, 2)});
  add("instance_norm", {}, {f32({2, 8, 9, 9}), f32({8}), f32({8})});
  add("instance_norm", {{"epsilon", number(1e-3)}}, {f32({3, 4, 50}, 10, 12), f32({4}), f32({4})});
  add("layer_norm", {}, {f32({4, 16, 64}), f32({64}), f32({64})});
  add("layer_norm", {{"axis", AttrValue{int64_t{1}}}}, {f32({3, 4, 5}), f32({4, 5}), f32({1, 5})});  // bias broadcasts: reference
  add("layer_norm", {{"axis", AttrValue{int64_t{-2}}}}, {f32({3, 4, 5}), f32({4, 5}), f32({4, 5})});
  add("conv_transpose2d", {}, {f32({2, 4, 5, 5}), f32({4, 3, 3, 3})});
  add("conv_transpose2d", {{"stride", ints({2, 2})}, {"padding", ints({1, 1, 1, 1})}, {"output_padding", ints({1, 1})}},
      {f32({1, 8, 6, 6}), f32({8, 4, 4, 4})});
  add("conv_transpose2d", {{"groups", AttrValue{int64_t{2}}}, {"dilation", ints({2, 1})}, {"padding", ints({0, 1, 1, 0})}},
      {f32({1, 4, 5, 6}), f32({4, 3, 3, 2})});
  add("conv_transpose1d", {{"stride", ints({3})}, {"padding", ints({1, 2})}}, {f32({2, 3, 7}), f32({3, 5, 4})});
  add("conv_transpose3d", {{"stride", ints({2, 2, 2})}}, {f32({1, 2, 3, 3, 3}), f32({2, 3, 2, 2, 2})});
  // --- ONNX shape/indexing ops (issue 14): resize where oneDNN's resampling maps as ONNX does.
  auto text = [](const char* s) { return AttrValue{std::string(s)}; };
  add("resize", {{"sizes", ints({2, 3, 32, 48})}, {"mode", text("linear")}}, {f32({2, 3, 16, 16})});
  add("resize", {{"sizes", ints({1, 2, 5, 7})}, {"mode", text("linear")}, {"coordinate_transformation_mode", text("pytorch_half_pixel")}},
      {f32({1, 2, 9, 4})});
  add("resize", {{"sizes", ints({1, 2, 6, 4, 10})}, {"mode", text("linear")}}, {f32({1, 2, 3, 4, 5})});
  add("resize", {{"sizes", ints({2, 4, 32, 32})}, {"scales", AttrValue{std::vector<double>{1, 1, 2, 2}}},
                 {"coordinate_transformation_mode", text("asymmetric")}, {"nearest_mode", text("floor")}},
      {f32({2, 4, 16, 16})});
  add("resize", {{"sizes", ints({1, 3, 9, 8})}, {"nearest_mode", text("round_prefer_ceil")}}, {f32({1, 3, 3, 2})});
  add("resize", {{"sizes", ints({2, 3, 12})}, {"coordinate_transformation_mode", text("pytorch_half_pixel")}}, {f32({2, 3, 4})});
  add("conv3d", {}, {f32({2, 3, 6, 7, 8}), f32({4, 3, 3, 3, 3})});
  add("conv3d", {{"stride", ints({2, 1, 2})}, {"padding", ints({1, 1, 0, 1, 2, 0})}, {"dilation", ints({1, 2, 1})}, {"groups", AttrValue{int64_t{2}}}},
      {f32({1, 4, 7, 8, 9}), f32({6, 2, 3, 2, 3})});
  return c;
}

// Elements of `got` beyond |got - want| <= atol + rtol * |want| (NaN matches NaN, inf itself).
int64_t mismatches(const Tensor& got, const Tensor& want, Tolerance t, std::string& first) {
  if (got.shape() != want.shape() || got.dtype() != want.dtype()) {
    first = describe(got) + " vs " + describe(want);
    return 1;
  }
  int64_t bad = 0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    double a = got.value_at(i), b = want.value_at(i);
    if ((std::isnan(a) && std::isnan(b)) || a == b) continue;
    if (std::abs(a - b) <= t.atol + t.rtol * std::abs(b)) continue;
    if (bad++ == 0) {
      std::ostringstream s;
      s << "element " << i << ": " << a << " vs reference " << b;
      first = s.str();
    }
  }
  return bad;
}

struct Prepared {
  const OpSchema* schema;
  Attributes attrs;
  std::vector<Tensor> inputs;
  TensorType output;
};

Prepared prepare_case(const OpCase& c, uint64_t seed) {
  Prepared p;
  p.schema = OpRegistry::global().find(c.op);
  REQUIRE(p.schema != nullptr);
  p.attrs = OpRegistry::complete_attributes(*p.schema, c.attrs);
  std::vector<ValueInfo> infos;
  for (std::size_t i = 0; i < c.inputs.size(); ++i) {
    p.inputs.push_back(test::make_input(c.inputs[i], seed * 16 + i + 1));
    infos.push_back({p.inputs.back().dtype(), to_sym_shape(p.inputs.back().shape())});
  }
  ValueInfo info = p.schema->infer(infos, p.attrs);
  p.output = {info.dtype, to_shape(info.shape)};
  return p;
}

NodeSpec spec_of(const Prepared& p, bool known_values) {
  NodeSpec spec;
  spec.path = p.schema->name;
  spec.op = p.schema;
  spec.attributes = &p.attrs;
  for (const Tensor& t : p.inputs) {
    spec.inputs.push_back({t.dtype(), t.shape()});
    spec.input_values.push_back(known_values ? &t : nullptr);
  }
  spec.output = p.output;
  return spec;
}

std::vector<const Tensor*> pointers(const std::vector<Tensor>& tensors) {
  std::vector<const Tensor*> out;
  for (const Tensor& t : tensors) out.push_back(&t);
  return out;
}

// Every node the cpu backend supports placed on it, however small (placement tests).
CompileOptions all_on_backend() {
  CompileOptions o;
  o.min_node_work = 0;
  return o;
}

// Runs `spec` on cpu and compares with `want` (the reference result) within the node's tolerance.
void check_on_cpu(const NodeSpec& spec, const std::vector<Tensor>& inputs, const Tensor& want) {
  const Backend& cpu = cpu_backend();
  REQUIRE(cpu.supports(spec));
  Tensor got = Tensor::uninitialized(spec.output.dtype, spec.output.shape);
  cpu.prepare(spec)->run(pointers(inputs), got);
  std::string first;
  int64_t bad = mismatches(got, want, cpu.tolerance(spec), first);
  INFO(first);
  CHECK(bad == 0);
}

TensorMap random_inputs(const PhysicalModel& pm, int64_t batch, uint64_t seed) {
  TensorMap inputs;
  for (const InputDecl& in : pm.inputs()) {
    Shape shape;
    for (const Dim& d : in.info.shape) shape.push_back(d.is_known() ? d.size : batch);
    inputs[in.name] = initialize(Initializer::normal(1.0), in.info.dtype, shape, seed, "input:" + in.name);
  }
  return inputs;
}

void require_close(const TensorMap& got, const TensorMap& want, Tolerance t) {
  REQUIRE(got.size() == want.size());
  for (const auto& [name, value] : want) {
    INFO("output " << name);
    std::string first;
    int64_t bad = mismatches(got.at(name), value, t, first);
    INFO(first);
    CHECK(bad == 0);
  }
}

}  // namespace

TEST_CASE("every operator case runs on cpu within the node's tolerance of reference", "[backends][cpu]") {
  const Backend& cpu = cpu_backend();
  const Backend& reference = reference_backend();
  std::vector<OpCase> cases = test::op_cases();
  for (const OpCase& c : cpu_cases()) cases.push_back(c);
  std::set<std::string> exercised;
  int ran = 0;
  for (std::size_t k = 0; k < cases.size(); ++k) {
    INFO("case " << k << ": " << test::describe(cases[k]));
    Prepared p = prepare_case(cases[k], k);
    Tensor want(p.output.dtype, p.output.shape);
    reference.execute(*p.schema, p.inputs, p.attrs, want);
    for (bool known : {false, true}) {
      NodeSpec spec = spec_of(p, known);
      if (!cpu.supports(spec)) continue;
      INFO((known ? "inputs known at plan time" : "inputs bound per run"));
      Tensor got = Tensor::uninitialized(p.output.dtype, p.output.shape);
      auto kernel = cpu.prepare(spec);
      kernel->run(pointers(p.inputs), got);
      kernel->run(pointers(p.inputs), got);  // a prepared kernel runs again with the same result
      std::string first;
      int64_t bad = mismatches(got, want, cpu.tolerance(spec), first);
      INFO(first);
      CHECK(bad == 0);
      if (cpu.runs_in_place(spec)) {
        // Output written over the first input, as the planner arranges it.
        std::vector<Tensor> inputs = p.inputs;
        Tensor shared = inputs[0].copy();
        inputs[0] = shared;
        kernel->run(pointers(inputs), shared);
        CHECK(mismatches(shared, want, cpu.tolerance(spec), first) == bad);
      }
      exercised.insert(p.schema->name);
      ++ran;
    }
  }
  CHECK(ran >= 80);
  for (const std::string& name : OpRegistry::global().names()) {
    const OpSchema* op = OpRegistry::global().find(name);
    if (cpu.implements(*op)) {
      INFO("cpu operator " << name << " has no case it runs");
      CHECK(exercised.count(name) == 1);
    }
  }
}

TEST_CASE("matmul with fused bias and activation matches the unfused reference, f32 and bf16", "[backends][cpu]") {
  const Backend& reference = reference_backend();
  const OpRegistry& ops = OpRegistry::global();
  for (const char* activation : {"relu", "tanh", "gelu", "sigmoid"}) {
    for (bool bf16 : {false, true}) {
      INFO(activation << (bf16 ? " bf16" : " f32"));
      Tensor x = initialize(Initializer::normal(1.0), DType::float32, {6, 64}, 1, "x");
      Tensor w = initialize(Initializer::glorot(), DType::float32, {64, 32}, 2, "w");
      Tensor b = initialize(Initializer::normal(0.5), DType::float32, {32}, 3, "b");
      Attributes none;
      Attributes act = OpRegistry::complete_attributes(*ops.find(activation), {});
      Tensor product(DType::float32, {6, 32}), biased(DType::float32, {6, 32}), want(DType::float32, {6, 32});
      reference.execute(*ops.find("matmul"), {x, w}, none, product);
      reference.execute(*ops.find("add"), {product, b}, none, biased);
      reference.execute(*ops.find(activation), {biased}, act, want);

      NodeSpec spec;
      spec.path = "layer";
      spec.op = ops.find("matmul");
      spec.attributes = &none;
      spec.inputs = {{DType::float32, {6, 64}}, {DType::float32, {64, 32}}, {DType::float32, {32}}};
      spec.input_values = {nullptr, &w, &b};
      spec.fused = {FusedOp{ops.find("add"), &none, 2}, FusedOp{ops.find(activation), &act, -1}};
      spec.output = {DType::float32, {6, 32}};
      spec.bfloat16_compute = bf16;
      if (bf16 && !cpu_backend().supports(spec)) {
        WARN("this CPU has no bf16 matmul in oneDNN (needs AVX-512 or AMX): bf16 not checked");
        continue;
      }
      check_on_cpu(spec, {x, w, b}, want);
    }
  }
}

TEST_CASE("fused operands map onto collapsed and batched GEMMs, and unmappable ones are not fused", "[backends][cpu]") {
  const Backend& reference = reference_backend();
  const OpRegistry& ops = OpRegistry::global();
  Attributes none;
  struct Case {
    Shape a, b, operand;
    bool fusable;
  };
  // [2,3,4]@[4,5] collapses to a [6,4]@[4,5] GEMM; [3,4,8]@[3,8,5] is a batched one.
  std::vector<Case> cases = {{{2, 3, 4}, {4, 5}, {5}, true},       {{2, 3, 4}, {4, 5}, {2, 3, 5}, true},
                             {{2, 3, 4}, {4, 5}, {3, 1}, false},   {{3, 4, 8}, {3, 8, 5}, {5}, true},
                             {{3, 4, 8}, {3, 8, 5}, {3, 4, 1}, true}, {{3, 4, 8}, {3, 8, 5}, {3, 1, 1}, true}};
  for (const Case& c : cases) {
    INFO(shape_str(c.a) << " @ " << shape_str(c.b) << " + " << shape_str(c.operand));
    Tensor a = initialize(Initializer::normal(1.0), DType::float32, c.a, 1, "a");
    Tensor b = initialize(Initializer::normal(1.0), DType::float32, c.b, 2, "b");
    Tensor o = initialize(Initializer::normal(1.0), DType::float32, c.operand, 3, "o");
    Shape out = c.a;
    out.back() = c.b.back();
    Tensor product(DType::float32, out), want(DType::float32, out);
    reference.execute(*ops.find("matmul"), {a, b}, none, product);
    reference.execute(*ops.find("add"), {product, o}, none, want);
    NodeSpec spec;
    spec.path = "mm";
    spec.op = ops.find("matmul");
    spec.attributes = &none;
    spec.inputs = {{DType::float32, c.a}, {DType::float32, c.b}, {DType::float32, c.operand}};
    spec.input_values = {nullptr, nullptr, nullptr};
    spec.fused = {FusedOp{ops.find("add"), &none, 2}};
    spec.output = {DType::float32, out};
    if (!c.fusable) {
      CHECK_FALSE(cpu_backend().supports(spec));
      continue;
    }
    check_on_cpu(spec, {a, b, o}, want);
  }
}

TEST_CASE("convolution with fused bias, relu and max-pool matches the unfused reference", "[backends][cpu]") {
  const Backend& reference = reference_backend();
  const OpRegistry& ops = OpRegistry::global();
  struct Geometry {
    bool one_d;
    Shape x, w, bias;
    Attributes conv, pool;
  };
  std::vector<Geometry> cases = {
      {false, {2, 3, 12, 12}, {8, 3, 3, 3}, {1, 8, 1, 1}, {{"padding", ints({1, 1, 1, 1})}},
       {{"kernel_size", ints({2, 2})}, {"stride", ints({2, 2})}}},
      {false, {1, 4, 9, 9}, {6, 2, 3, 3}, {1, 6, 1, 1}, {{"groups", AttrValue{int64_t{2}}}},
       {{"kernel_size", ints({3, 3})}, {"stride", ints({2, 2})}}},
      {true, {2, 3, 16}, {5, 3, 3}, {1, 5, 1}, {{"padding", ints({1, 1})}}, {{"kernel_size", ints({2})}, {"stride", ints({2})}}},
      // The stem of a torchvision ResNet (ONNX MaxPool: padding ignored), and ceil_mode.
      {false, {1, 3, 32, 32}, {8, 3, 7, 7}, {1, 8, 1, 1}, {{"padding", ints({3, 3, 3, 3})}, {"stride", ints({2, 2})}},
       {{"kernel_size", ints({3, 3})}, {"stride", ints({2, 2})}, {"padding", ints({1, 1, 1, 1})}, {"pad_with_neg_inf", AttrValue{true}}}},
      {false, {1, 4, 11, 11}, {4, 4, 3, 3}, {1, 4, 1, 1}, {},
       {{"kernel_size", ints({2, 2})}, {"stride", ints({2, 2})}, {"ceil_mode", AttrValue{true}}}},
  };
  for (const Geometry& g : cases) {
    INFO((g.one_d ? "conv1d" : "conv2d") << " " << shape_str(g.x));
    const OpSchema* conv = ops.find(g.one_d ? "conv1d" : "conv2d");
    const OpSchema* pool = ops.find(g.one_d ? "max_pool1d" : "max_pool2d");
    Attributes conv_attrs = OpRegistry::complete_attributes(*conv, g.conv);
    Attributes pool_attrs = OpRegistry::complete_attributes(*pool, g.pool);
    Attributes none;
    Tensor x = initialize(Initializer::normal(1.0), DType::float32, g.x, 1, "x");
    Tensor w = initialize(Initializer::normal(0.3), DType::float32, g.w, 2, "w");
    Tensor b = initialize(Initializer::normal(0.5), DType::float32, g.bias, 3, "b");
    ValueInfo conv_info = conv->infer({{DType::float32, to_sym_shape(g.x)}, {DType::float32, to_sym_shape(g.w)}}, conv_attrs);
    Shape conv_shape = to_shape(conv_info.shape);
    ValueInfo pool_info = pool->infer({{DType::float32, conv_info.shape}}, pool_attrs);
    Shape pooled = to_shape(pool_info.shape);
    Tensor y(DType::float32, conv_shape), biased(DType::float32, conv_shape), activated(DType::float32, conv_shape), want(DType::float32, pooled);
    reference.execute(*conv, {x, w}, conv_attrs, y);
    reference.execute(*ops.find("add"), {y, b}, none, biased);
    reference.execute(*ops.find("relu"), {biased}, none, activated);
    reference.execute(*pool, {activated}, pool_attrs, want);

    NodeSpec spec;
    spec.path = "conv";
    spec.op = conv;
    spec.attributes = &conv_attrs;
    spec.inputs = {{DType::float32, g.x}, {DType::float32, g.w}, {DType::float32, g.bias}};
    spec.input_values = {nullptr, &w, &b};
    spec.fused = {FusedOp{ops.find("add"), &none, 2}, FusedOp{ops.find("relu"), &none, -1}, FusedOp{pool, &pool_attrs, -1}};
    spec.output = {DType::float32, pooled};
    check_on_cpu(spec, {x, w, b}, want);
  }
}

namespace {

// A seeded random model: dense layers, activations, broadcasts with parameters and constants,
// reshapes, transposes, concats, reductions and softmax, in random order.
std::shared_ptr<Model> random_model(uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  auto model = std::make_shared<Model>("random" + std::to_string(seed));
  int64_t width = 4 + pick(12);
  Value x = model->input("input", {Dim::any(), Dim::known(width)});
  int steps = 4 + pick(8);
  for (int s = 0; s < steps; ++s) {
    std::string tag = std::to_string(s);
    switch (pick(11)) {
      case 0: width = 3 + pick(20); x = dense(x, width, "dense" + tag); break;
      case 1: x = relu(x); break;
      case 2: x = tanh(x); break;
      case 3: x = sigmoid(x); break;
      case 4: x = x + model->parameter("p" + tag, {Dim::known(width)}, DType::float32, Initializer::normal(1.0)); break;
      case 5: x = x * model->constant("c" + tag, Tensor::scalar(DType::float32, 0.5 + pick(3))); break;
      case 6: x = softmax(x); break;
      case 7: x = transpose(transpose(x)); break;
      case 8: x = concat({x, tanh(x)}, 1); width *= 2; break;
      case 9: x = x - mean(x, {1}, true); break;
      default: x = gelu(dense(x, width, "proj" + tag)); break;
    }
  }
  model->output("output", x);
  model->output("total", sum(x, {1}));
  return model;
}

}  // namespace

TEST_CASE("seeded random graphs agree between cpu and reference, at two batch sizes", "[backends][cpu]") {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    INFO("random graph seed " << seed);
    auto model = random_model(seed);
    PhysicalModel on_cpu = PhysicalModel::compile(model, cpu_backend(), all_on_backend());
    PhysicalModel mixed = PhysicalModel::compile(model, cpu_backend(), {});  // small nodes on reference
    PhysicalModel on_reference = PhysicalModel::compile(model, reference_backend(), {});
    for (int64_t batch : {3, 300}) {
      TensorMap inputs = random_inputs(on_cpu, batch, seed);
      TensorMap want = on_reference.evaluate(inputs);
      require_close(on_cpu.evaluate(inputs), want, {1e-4, 1e-4});
      require_close(mixed.evaluate(inputs), want, {1e-4, 1e-4});
    }
  }
}

TEST_CASE("every zoo model computes the same on cpu as on reference", "[backends][cpu][zoo]") {
  for (const ZooEntry& entry : zoo_entries()) {
    INFO("zoo model " << entry.name);
    std::map<std::string, std::string> args;
    if (entry.name == "cnn") args = {{"channels", "3,8,16"}, {"size", "16"}, {"hidden", "32"}};
    auto model = zoo_model(entry.name, args);
    PhysicalModel on_cpu = PhysicalModel::compile(model, cpu_backend(), all_on_backend());
    PhysicalModel on_reference = PhysicalModel::compile(model, reference_backend(), {});
    TensorMap inputs = random_inputs(on_cpu, 4, 7);
    require_close(on_cpu.evaluate(inputs), on_reference.evaluate(inputs), {1e-4, 1e-4});
    CHECK(on_cpu.plan_info(inputs).nodes_on.count("reference") == 0);
  }
  // The default cnn (3x64x64 images) as the benchmark runs it.
  auto cnn = zoo_model("cnn");
  PhysicalModel on_cpu = PhysicalModel::compile(cnn, cpu_backend(), {});
  PhysicalModel on_reference = PhysicalModel::compile(cnn, reference_backend(), {});
  TensorMap inputs = random_inputs(on_cpu, 2, 3);
  require_close(on_cpu.evaluate(inputs), on_reference.evaluate(inputs), {1e-4, 1e-3});
}

TEST_CASE("a plan fuses, falls back, views, works in place and reuses its arena", "[backends][plan]") {
  auto model = std::make_shared<Model>("planned");
  Value x = model->input("input", {Dim::any(), Dim::known(8)});
  Value h = relu(dense(x, 16, "l0"));
  Value r = reshape(h, {-1, 4, 4});
  Value s = model->apply("sin", {r});
  Value t = tanh(s);
  model->output("output", model->apply("cos", {t}));
  PhysicalModel pm = PhysicalModel::compile(model, cpu_backend(), all_on_backend());
  TensorMap inputs = random_inputs(pm, 5, 1);
  PlanInfo info = pm.plan_info(inputs);
  std::map<std::string, PlanNodeInfo> by_node;
  for (const PlanNodeInfo& n : info.nodes) by_node[n.node] = n;
  REQUIRE(by_node.count("l0.matmul_0"));
  CHECK(by_node["l0.matmul_0"].backend == "cpu");
  CHECK(by_node["l0.matmul_0"].fused == std::vector<std::string>{"l0.add_0", "relu_0"});
  CHECK(by_node["reshape_0"].view);
  CHECK(by_node["sin_0"].backend == "reference");
  CHECK(by_node["tanh_0"].backend == "cpu");
  CHECK(by_node["tanh_0"].in_place);
  CHECK(info.nodes_on["cpu"] == 2);
  CHECK(info.nodes_on["reference"] == 2);
  CHECK(info.arena_bytes <= info.largest_two_live_bytes);
  PhysicalModel reference = PhysicalModel::compile(model, reference_backend(), {});
  reference.set_values(pm.get_values());
  require_close(pm.evaluate(inputs), reference.evaluate(inputs), {1e-5, 1e-5});

  // A chain of layers needs no more than its two largest activations.
  auto mlp = zoo_model("mlp", {{"dims", "64,256,512,128,32"}});
  PhysicalModel mlp_cpu = PhysicalModel::compile(mlp, cpu_backend(), all_on_backend());
  PlanInfo mlp_info = mlp_cpu.plan_info(random_inputs(mlp_cpu, 16, 1));
  CHECK(mlp_info.arena_bytes <= mlp_info.largest_two_live_bytes);
  CHECK(mlp_info.arena_bytes < mlp_info.intermediate_bytes);
  CHECK(mlp_info.nodes_on["cpu"] == 4);
  CHECK(mlp_info.kernel_bytes > 0);
}

TEST_CASE("a residual add of two convolutions is fused into one chain only", "[backends][plan]") {
  // resnet's downsample block: relu(conv(x, a) + conv(x, b)). Both convolutions' chains reach the
  // add; it must run once (it ran in both chains, the second one reading an unwritten buffer).
  auto model = std::make_shared<Model>("residual");
  Value x = model->input("x", {Dim::known(1), Dim::known(8), Dim::known(16), Dim::known(16)});
  Value a = model->parameter("a", {Dim::known(8), Dim::known(8), Dim::known(3), Dim::known(3)}, DType::float32, Initializer::normal(0.1));
  Value b = model->parameter("b", {Dim::known(8), Dim::known(8), Dim::known(1), Dim::known(1)}, DType::float32, Initializer::normal(0.1));
  Value left = model->apply("conv2d", {x, a}, {{"padding", std::vector<int64_t>{1, 1, 1, 1}}});
  Value right = model->apply("conv2d", {x, b});
  model->output("y", model->apply("relu", {model->apply("add", {left, right})}));
  PhysicalModel pm = PhysicalModel::compile(model, cpu_backend(), all_on_backend());
  TensorMap inputs = random_inputs(pm, 1, 3);
  int chains_with_add = 0;
  for (const PlanNodeInfo& n : pm.plan_info(inputs).nodes)
    chains_with_add += std::count(n.fused.begin(), n.fused.end(), std::string("add_0"));
  CHECK(chains_with_add <= 1);
  PhysicalModel reference = PhysicalModel::compile(model, reference_backend(), {});
  reference.set_values(pm.get_values());
  require_close(pm.evaluate(inputs), reference.evaluate(inputs), {1e-4, 1e-4});
}

TEST_CASE("small nodes run on reference unless told otherwise, and the threshold is per node", "[backends][plan]") {
  auto model = zoo_model("mlp", {{"dims", "10,50,1"}});
  PhysicalModel by_default = PhysicalModel::compile(model, cpu_backend(), {});
  PlanInfo small = by_default.plan_info(random_inputs(by_default, 5, 1));
  CHECK(small.nodes_on.count("cpu") == 0);
  // A big batch makes the first layer worth a primitive (batch * 10 * 50 multiply-adds), not the second.
  PlanInfo big = by_default.plan_info(random_inputs(by_default, 200, 1));
  std::map<std::string, std::string> where;
  for (const PlanNodeInfo& n : big.nodes) where[n.node] = n.backend;
  CHECK(where["layer0.matmul_0"] == "cpu");
  CHECK(where["layer1.matmul_0"] == "reference");
  PhysicalModel everything = PhysicalModel::compile(model, cpu_backend(), all_on_backend());
  CHECK(everything.plan_info(random_inputs(everything, 5, 1)).nodes_on.count("reference") == 0);
}

TEST_CASE("plans follow the input signature and parameter changes", "[backends][plan]") {
  auto model = zoo_model("mlp", {{"dims", "6,12,3"}});
  PhysicalModel on_cpu = PhysicalModel::compile(model, cpu_backend(), {});
  PhysicalModel on_reference = PhysicalModel::compile(model, reference_backend(), {});
  for (int64_t batch : {2, 9, 2}) {
    TensorMap inputs = random_inputs(on_cpu, batch, static_cast<uint64_t>(batch));
    require_close(on_cpu.evaluate(inputs), on_reference.evaluate(inputs), {1e-5, 1e-5});
  }
  TensorMap inputs = random_inputs(on_cpu, 4, 1);
  TensorMap before = on_cpu.evaluate(inputs);
  // Outputs are the caller's: a later run on the same plan does not write into them.
  Tensor kept = before.at("output").copy();
  on_cpu.evaluate(random_inputs(on_cpu, 4, 5));
  CHECK(before.at("output").bitwise_equal(kept));
  Tensor weight = initialize(Initializer::normal(2.0), DType::float32, on_cpu.get_shape("layer0.weight"), 9, "w");
  on_cpu.set_value("layer0.weight", weight);
  on_reference.set_value("layer0.weight", weight);
  TensorMap after = on_cpu.evaluate(inputs);
  CHECK_FALSE(after.at("output").bitwise_equal(before.at("output")));
  require_close(after, on_reference.evaluate(inputs), {1e-5, 1e-5});
  // Intermediates on request get their own plan and are copies, not arena views.
  TensorMap with_hidden = on_cpu.evaluate(inputs, {"relu_0"});
  TensorMap again = on_cpu.evaluate(random_inputs(on_cpu, 4, 2), {"relu_0"});
  CHECK_FALSE(with_hidden.at("relu_0").bitwise_equal(again.at("relu_0")));
  require_close({{"relu_0", with_hidden.at("relu_0")}}, {{"relu_0", on_reference.evaluate(inputs, {"relu_0"}).at("relu_0")}},
                {1e-5, 1e-5});
}

TEST_CASE("float64 runs on reference inside a cpu plan, bit for bit", "[backends][plan]") {
  auto model = zoo_model("mlp", {{"dims", "5,7,2"}, {"dtype", "float64"}});
  PhysicalModel on_cpu = PhysicalModel::compile(model, cpu_backend(), {});
  PhysicalModel on_reference = PhysicalModel::compile(model, reference_backend(), {});
  TensorMap inputs = random_inputs(on_cpu, 3, 1);
  CHECK(on_cpu.evaluate(inputs).at("output").bitwise_equal(on_reference.evaluate(inputs).at("output")));
  PlanInfo info = on_cpu.plan_info(inputs);
  CHECK(info.nodes_on.count("cpu") == 0);
  CHECK(info.nodes_on["reference"] > 0);
}

TEST_CASE("bfloat16 compute keeps float32 values and stays within its documented tolerance", "[backends][cpu][bf16]") {
  auto model = zoo_model("mlp", {{"dims", "256,512,64"}});
  CompileOptions bf16;
  bf16.dtype = DType::bfloat16;
  PhysicalModel fast = PhysicalModel::compile(model, cpu_backend(), bf16);
  PhysicalModel exact = PhysicalModel::compile(model, reference_backend(), {});
  REQUIRE(fast.compute_dtype() == DType::bfloat16);
  CHECK(fast.get_dtype("layer0.weight") == DType::float32);
  exact.set_values(fast.get_values());
  TensorMap inputs = random_inputs(fast, 8, 1);
  TensorMap got = fast.evaluate(inputs), want = exact.evaluate(inputs);
  CHECK(got.at("output").dtype() == DType::float32);
  // bf16 keeps 8 significant bits: relative to the output's scale, a few percent.
  double scale = 0;
  for (int64_t i = 0; i < want.at("output").numel(); ++i) scale = std::max(scale, std::abs(want.at("output").value_at(i)));
  std::string first;
  int64_t bad = mismatches(got.at("output"), want.at("output"), {0.05 * scale, 0}, first);
  INFO(first);
  CHECK(bad == 0);
  // Where oneDNN has bf16 matmul on this CPU (AVX-512 or AMX), the products really were bf16.
  bool on_cpu = fast.plan_info(inputs).nodes_on.count("cpu") > 0;
  if (on_cpu) CHECK(!got.at("output").bitwise_equal(want.at("output")));
}

TEST_CASE("compute threads are a setting: results do not depend on them beyond rounding", "[backends][cpu]") {
  auto model = zoo_model("mlp", {{"dims", "32,64,8"}});
  PhysicalModel pm = PhysicalModel::compile(model, cpu_backend(), all_on_backend());
  TensorMap inputs = random_inputs(pm, 16, 1);
  set_compute_threads(1);
  CHECK(compute_threads() == 1);
  PhysicalModel one = PhysicalModel::compile(model, cpu_backend(), all_on_backend());
  one.set_values(pm.get_values());
  TensorMap single = one.evaluate(inputs);
  set_compute_threads(0);
  CHECK(compute_threads() >= 1);
  require_close(pm.evaluate(inputs), single, {1e-5, 1e-5});
  CHECK_THROWS_AS(set_compute_threads(-1), Error);
}

TEST_CASE("backends by name", "[backends]") {
  CHECK(backend_by_name("cpu").name() == "cpu");
  CHECK(backend_by_name("reference").name() == "reference");
  CHECK(default_backend().name() == "cpu");
  CHECK(backend_names() == std::vector<std::string>{"cpu", "reference"});
  try {
    backend_by_name("gpu");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("unknown backend 'gpu' (known: cpu, reference)") != std::string::npos);
  }
}

// --- ONNX shape/indexing ops (issue 14)
TEST_CASE("resize runs on cpu only where oneDNN maps coordinates as ONNX does", "[backends][cpu]") {
  auto text = [](const char* s) { return AttrValue{std::string(s)}; };
  auto supported = [&](const Attributes& attrs, Shape input) {
    Prepared p = prepare_case(OpCase{"resize", attrs, {{DType::float32, std::move(input)}}}, 1);
    return cpu_backend().supports(spec_of(p, false));
  };
  const Shape image = {1, 2, 4, 4};
  CHECK(supported({{"sizes", ints({1, 2, 8, 8})}}, image));
  CHECK(supported({{"sizes", ints({1, 2, 6, 3})}, {"mode", text("linear")}}, image));
  // Nearest picks differ from oneDNN's for factors that are not integers, for asymmetric with
  // rounding, and for half_pixel with floor.
  CHECK_FALSE(supported({{"sizes", ints({1, 2, 6, 6})}}, image));
  CHECK_FALSE(supported({{"sizes", ints({1, 2, 8, 8})}, {"coordinate_transformation_mode", text("asymmetric")}}, image));
  CHECK_FALSE(supported({{"sizes", ints({1, 2, 8, 8})}, {"nearest_mode", text("floor")}}, image));
  // Other mappings, cubic, scales that are not the size ratio, resized N or C, other dtypes.
  CHECK_FALSE(supported({{"sizes", ints({1, 2, 8, 8})}, {"mode", text("linear")}, {"coordinate_transformation_mode", text("align_corners")}}, image));
  CHECK_FALSE(supported({{"sizes", ints({1, 2, 1, 8})}, {"mode", text("linear")}, {"coordinate_transformation_mode", text("pytorch_half_pixel")}}, image));
  CHECK_FALSE(supported({{"sizes", ints({1, 2, 8, 8})}, {"mode", text("cubic")}}, image));
  CHECK_FALSE(supported({{"sizes", ints({1, 2, 2, 2})}, {"mode", text("linear")}, {"scales", AttrValue{std::vector<double>{1, 1, 0.6, 0.6}}}}, image));
  CHECK_FALSE(supported({{"sizes", ints({1, 4, 8, 8})}, {"mode", text("linear")}}, image));
  CHECK_FALSE(supported({{"sizes", ints({8, 8})}, {"mode", text("linear")}}, {4, 4}));
  Prepared p = prepare_case(OpCase{"resize", {{"sizes", ints({1, 2, 8, 8})}}, {{DType::float64, image}}}, 1);
  CHECK_FALSE(cpu_backend().supports(spec_of(p, false)));
}

namespace {

Value param(const std::shared_ptr<Model>& model, const std::string& name, const std::vector<int64_t>& dims, double scale) {
  std::vector<Dim> shape;
  for (int64_t d : dims) shape.push_back(Dim::known(d));
  return model->parameter(name, shape, DType::float32, Initializer::normal(scale));
}

Value conv(const std::shared_ptr<Model>& model, const Value& x, const Value& w, int64_t pad) {
  std::vector<int64_t> padding(2 * 2, pad);
  return model->apply("conv2d", {x, w}, {{"padding", padding}});
}

}  // namespace

TEST_CASE("values pass channels-last between convolutions and stay plain for outputs, views and reference", "[backends][plan]") {
  // conv + bias -> relu (returned) -> max-pool -> conv -> relu -> conv + pooled (residual) -> relu,
  // read by a conv and by sin (reference) -> tanh(c) + sigmoid(c) -> conv -> flatten (a view) out.
  auto model = std::make_shared<Model>("layouts");
  Value x = model->input("x", {Dim::any(), Dim::known(8), Dim::known(16), Dim::known(16)});
  Value c1 = relu(conv(model, x, param(model, "w1", {8, 8, 3, 3}, 0.2), 1) + param(model, "b1", {1, 8, 1, 1}, 0.5));
  model->output("mid", c1);
  Value pooled = model->apply("max_pool2d", {c1},
                              {{"kernel_size", Ints{3, 3}}, {"stride", Ints{2, 2}}, {"padding", Ints{1, 1, 1, 1}}, {"pad_with_neg_inf", true}});
  Value c2 = relu(conv(model, pooled, param(model, "w2", {8, 8, 3, 3}, 0.2), 1));
  Value c3 = relu(conv(model, c2, param(model, "w3", {8, 8, 3, 3}, 0.2), 1) + pooled);
  model->output("sin", model->apply("sin", {c3}));
  Value c4 = conv(model, c3, param(model, "w4", {8, 8, 3, 3}, 0.2), 1);
  Value t = tanh(c4);
  Value c5 = conv(model, t + sigmoid(c4), param(model, "w5", {4, 8, 1, 1}, 0.3), 0);
  model->output("flat", reshape(c5, {-1, 4 * 8 * 8}));

  PhysicalModel pm = PhysicalModel::compile(model, cpu_backend(), all_on_backend());
  PhysicalModel reference = PhysicalModel::compile(model, reference_backend(), {});
  reference.set_values(pm.get_values());
  for (int64_t batch : {1, 3}) {
    INFO("batch " << batch);
    TensorMap inputs = random_inputs(pm, batch, 11);
    PlanInfo info = pm.plan_info(inputs);
    std::map<std::string, PlanNodeInfo> by_node;
    int channels_last_outputs = 0;
    for (const PlanNodeInfo& n : info.nodes) {
      by_node[n.node] = n;
      channels_last_outputs += n.channels_last_output;
      if (n.backend == "reference") {
        CHECK_FALSE(n.channels_last_output);
        CHECK(std::count(n.channels_last_inputs.begin(), n.channels_last_inputs.end(), true) == 0);
      }
    }
    CHECK(channels_last_outputs == 5);
    REQUIRE(by_node.count("conv2d_0"));
    CHECK_FALSE(by_node["conv2d_0"].channels_last_output);  // returned
    CHECK(by_node["max_pool2d_0"].backend == "cpu");
    CHECK(by_node["max_pool2d_0"].channels_last_inputs == std::vector<bool>{false});
    CHECK(by_node["max_pool2d_0"].channels_last_output);
    CHECK(by_node["conv2d_1"].channels_last_output);
    // src, weights, the residual; its result is read by reference's sin too.
    CHECK(by_node["conv2d_2"].channels_last_inputs == std::vector<bool>{true, false, true});
    CHECK_FALSE(by_node["conv2d_2"].channels_last_output);
    CHECK(by_node["conv2d_3"].channels_last_output);
    CHECK(by_node["sigmoid_0"].channels_last_output);
    CHECK(by_node["tanh_0"].fused == std::vector<std::string>{"add_2"});
    CHECK(by_node["tanh_0"].channels_last_inputs == std::vector<bool>{true, true});
    CHECK(by_node["tanh_0"].channels_last_output);
    CHECK(by_node["conv2d_4"].channels_last_inputs == std::vector<bool>{true, false});
    CHECK_FALSE(by_node["conv2d_4"].channels_last_output);  // viewed by the reshape
    require_close(pm.evaluate(inputs), reference.evaluate(inputs), {1e-4, 1e-4});
  }
}

TEST_CASE("a conv1d chain and pools run channels-last and match reference", "[backends][plan]") {
  auto model = std::make_shared<Model>("layouts_1d");
  Value x = model->input("x", {Dim::any(), Dim::known(4), Dim::known(20)});
  Value c = model->apply("conv1d", {x, param(model, "w1", {6, 4, 3}, 0.3)}, {{"padding", Ints{1, 1}}});
  Value d = relu(model->apply("conv1d", {c, param(model, "w2", {6, 6, 3}, 0.3)}, {{"padding", Ints{1, 1}}}));
  Value avg = model->apply("avg_pool1d", {c}, {{"kernel_size", Ints{2}}, {"stride", Ints{2}}});
  Value e = model->apply("conv1d", {d, param(model, "w3", {6, 6, 2}, 0.3)}, {{"stride", Ints{2}}});
  model->output("y", e + avg);
  PhysicalModel pm = PhysicalModel::compile(model, cpu_backend(), all_on_backend());
  PhysicalModel reference = PhysicalModel::compile(model, reference_backend(), {});
  reference.set_values(pm.get_values());
  TensorMap inputs = random_inputs(pm, 2, 5);
  int channels_last_outputs = 0;
  for (const PlanNodeInfo& n : pm.plan_info(inputs).nodes) channels_last_outputs += n.channels_last_output;
  CHECK(channels_last_outputs >= 3);
  require_close(pm.evaluate(inputs), reference.evaluate(inputs), {1e-4, 1e-4});
}

TEST_CASE("a node of constants runs once when the plan is built, and again after set_value", "[backends][plan]") {
  // torch's Linear exported to ONNX: x @ transpose(W) + b.
  auto model = std::make_shared<Model>("folded");
  Value x = model->input("x", {Dim::any(), Dim::known(6)});
  Value w = param(model, "w", {4, 6}, 0.5);
  model->output("y", model->apply("matmul", {x, transpose(w)}) + param(model, "b", {4}, 0.5));
  PhysicalModel pm = PhysicalModel::compile(model, cpu_backend(), all_on_backend());
  PhysicalModel reference = PhysicalModel::compile(model, reference_backend(), {});
  reference.set_values(pm.get_values());
  TensorMap inputs = random_inputs(pm, 3, 2);
  PlanInfo info = pm.plan_info(inputs);
  std::map<std::string, PlanNodeInfo> by_node;
  for (const PlanNodeInfo& n : info.nodes) by_node[n.node] = n;
  REQUIRE(by_node.count("transpose_0"));
  CHECK(by_node["transpose_0"].folded);
  CHECK(info.nodes_on["cpu"] == 1);
  require_close(pm.evaluate(inputs), reference.evaluate(inputs), {1e-5, 1e-5});
  Tensor other = initialize(Initializer::normal(1.0), DType::float32, {4, 6}, 9, "w");
  pm.set_value("w", other);
  reference.set_value("w", other);
  require_close(pm.evaluate(inputs), reference.evaluate(inputs), {1e-5, 1e-5});
}
