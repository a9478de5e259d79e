// ONNX export: the lowering decisions (op types, initializers, opset differences, refusals),
// read back from the bytes export_onnx writes.
#include <onnx/onnx_pb.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/model_json.h"
#include "io/onnx.h"
#include "ops/families.h"
#include "test_util.h"
#include "zoo/zoo.h"

using namespace mithril;
using Catch::Matchers::Contains;
using mithril::testing::error_of;

namespace {

onnx::ModelProto parse(const std::string& bytes) {
  onnx::ModelProto m;
  REQUIRE(m.ParseFromString(bytes));
  return m;
}

std::vector<std::string> op_types(const onnx::ModelProto& m) {
  std::vector<std::string> out;
  for (const auto& n : m.graph().node()) out.push_back(n.op_type());
  return out;
}

int count_of(const std::vector<std::string>& v, const std::string& x) {
  return static_cast<int>(std::count(v.begin(), v.end(), x));
}

const onnx::NodeProto& first_node(const onnx::ModelProto& m, const std::string& op_type) {
  for (const auto& n : m.graph().node())
    if (n.op_type() == op_type) return n;
  FAIL("no " << op_type << " node");
  throw 0;
}

const onnx::AttributeProto* attribute(const onnx::NodeProto& n, const std::string& name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

Tensor counting(DType dtype, Shape shape) {
  Tensor t(dtype, shape);
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (dtype == DType::float32) t.mutable_data_as<float>()[i] = 0.25f * static_cast<float>(i) - 1.0f;
    else if (dtype == DType::float64) t.mutable_data_as<double>()[i] = 0.5 * static_cast<double>(i);
  }
  return t;
}

// x [n, 3, 4] float32 -> op(x, attributes) -> y
std::shared_ptr<Model> one_node(const std::string& op, const Attributes& attrs) {
  auto m = std::make_shared<Model>("one");
  Value x = m->input("x", {Dim::named("n"), Dim::known(3), Dim::known(4)});
  m->output("y", m->apply(op, {x}, attrs, "node"));
  return m;
}

}  // namespace

TEST_CASE("export: the zoo linear model is MatMul + Add with its parameters as initializers, names and bytes kept") {
  std::shared_ptr<Model> model = zoo_model("linear");
  NamedTensors params = {{"weights", counting(DType::float32, {10, 5})}, {"bias", counting(DType::float32, {5})}};
  onnx::ModelProto m = parse(export_onnx(*model, params));
  CHECK(m.ir_version() == 8);
  REQUIRE(m.opset_import_size() == 1);
  CHECK(m.opset_import(0).domain().empty());
  CHECK(m.opset_import(0).version() == 17);
  CHECK(m.graph().name() == "linear");
  CHECK(op_types(m) == std::vector<std::string>{"MatMul", "Add"});
  REQUIRE(m.graph().initializer_size() == 2);
  for (const auto& init : m.graph().initializer()) {
    auto it = std::find_if(params.begin(), params.end(), [&](const auto& p) { return p.first == init.name(); });
    REQUIRE(it != params.end());
    CHECK(init.data_type() == onnx::TensorProto::FLOAT);
    CHECK(std::vector<int64_t>(init.dims().begin(), init.dims().end()) == it->second.shape());
    CHECK(init.raw_data() == std::string(static_cast<const char*>(it->second.data()), it->second.nbytes()));
  }
  // The input keeps its unknown batch dim as a dim_param of its own, the known width as a value.
  REQUIRE(m.graph().input_size() == 1);
  const auto& in = m.graph().input(0);
  CHECK(in.name() == "input");
  REQUIRE(in.type().tensor_type().shape().dim_size() == 2);
  CHECK(in.type().tensor_type().shape().dim(0).dim_param() == "input_dim0");
  CHECK(in.type().tensor_type().shape().dim(1).dim_value() == 10);
  REQUIRE(m.graph().output_size() == 1);
  CHECK(m.graph().output(0).name() == "output");
  CHECK(m.graph().output(0).type().tensor_type().shape().dim(1).dim_value() == 5);
  CHECK(m.producer_name() == "mithril-cpp");
}

TEST_CASE("export: named symbolic dims become dim_param, and submodels are inlined under dotted names") {
  std::shared_ptr<Model> model = zoo_model("cnn", {{"channels", "1,2"}, {"size", "4"}, {"hidden", "3"}, {"classes", "2"}});
  NamedTensors params;
  for (const ParameterPath& p : model->parameter_paths()) params.emplace_back(p.path, counting(DType::float32, to_shape(p.info.shape)));
  onnx::ModelProto m = parse(export_onnx(*model, params));
  std::vector<std::string> names;
  for (const auto& init : m.graph().initializer()) names.push_back(init.name());
  CHECK(std::find(names.begin(), names.end(), "conv0.weight") != names.end());
  CHECK(std::find(names.begin(), names.end(), "classifier.weight") != names.end());
  bool conv_inlined = false;
  for (const auto& n : m.graph().node()) conv_inlined = conv_inlined || (n.op_type() == "Conv" && n.output(0).rfind("conv0.", 0) == 0);
  CHECK(conv_inlined);
  CHECK(count_of(op_types(m), "Conv") == 1);
  CHECK(count_of(op_types(m), "MaxPool") == 1);

  auto sym = std::make_shared<Model>("sym");
  Value x = sym->input("x", {Dim::named("batch"), Dim::known(3)});
  sym->output("y", sym->apply("relu", {x}));
  onnx::ModelProto s = parse(export_onnx(*sym, {}));
  CHECK(s.graph().input(0).type().tensor_type().shape().dim(0).dim_param() == "batch");
  CHECK(s.graph().output(0).type().tensor_type().shape().dim(0).dim_param() == "batch");
}

TEST_CASE("export: a model file's function operators are expanded into their bodies") {
  std::shared_ptr<Model> model = from_dict(R"J({"version": "1.1.0", "name": "f",
    "inputs": {"x": {"shape": [null, 4], "dtype": "float32"}},
    "nodes": [{"name": "a", "op": "exp.scaled_tanh", "inputs": ["x"], "attributes": {"k": 3.0}},
              {"name": "b", "op": "exp.scaled_tanh", "inputs": ["a"]}],
    "outputs": {"y": "b"},
    "functions": {"exp.scaled_tanh": {"inputs": ["x"], "attributes": {"k": 1.0},
      "nodes": [{"name": "m", "op": "multiply", "inputs": ["x", "@k"]}, {"name": "t", "op": "tanh", "inputs": ["m"]}],
      "output": "t"}}})J");
  onnx::ModelProto m = parse(export_onnx(*model, {}));
  std::vector<std::string> ops = op_types(m);
  CHECK(count_of(ops, "Mul") == 2);
  CHECK(count_of(ops, "Tanh") == 2);
  for (const auto& n : m.graph().node()) CHECK(n.domain().empty());
}

TEST_CASE("export: reductions take axes as an attribute before opset 18 and as an input from 18, ReduceSum always as an input") {
  std::shared_ptr<Model> mean = one_node("mean", {{"axes", AttrValue{std::vector<int64_t>{1}}}});
  for (int opset : {13, 17}) {
    OnnxExportOptions o;
    o.opset = opset;
    onnx::ModelProto m = parse(export_onnx(*mean, {}, o));
    const onnx::NodeProto& n = first_node(m, "ReduceMean");
    CHECK(n.input_size() == 1);
    REQUIRE(attribute(n, "axes"));
    CHECK(attribute(n, "axes")->ints(0) == 1);
  }
  OnnxExportOptions o18;
  o18.opset = 18;
  onnx::ModelProto m18 = parse(export_onnx(*mean, {}, o18));
  const onnx::NodeProto& n18 = first_node(m18, "ReduceMean");
  CHECK(n18.input_size() == 2);
  CHECK(attribute(n18, "axes") == nullptr);
  CHECK(m18.opset_import(0).version() == 18);

  OnnxExportOptions o13;
  o13.opset = 13;
  onnx::ModelProto sum = parse(export_onnx(*one_node("sum", {{"axes", AttrValue{std::vector<int64_t>{0, 2}}}}), {}, o13));
  CHECK(first_node(sum, "ReduceSum").input_size() == 2);
  CHECK(attribute(first_node(sum, "ReduceSum"), "axes") == nullptr);
  // null axes: every axis, no axes operand at all
  onnx::ModelProto all = parse(export_onnx(*one_node("max", {}), {}, o18));
  CHECK(first_node(all, "ReduceMax").input_size() == 1);
}

TEST_CASE("export: reshape to a literal 0 needs Reshape's allowzero (opset 14)") {
  auto model = std::make_shared<Model>("r");
  Value x = model->input("x", {Dim::known(0), Dim::known(3)});
  model->output("y", model->apply("reshape", {x}, {{"shape", AttrValue{std::vector<int64_t>{3, 0}}}}));
  OnnxExportOptions o;
  o.opset = 13;
  std::string message = error_of([&] { export_onnx(*model, {}, o); });
  CHECK_THAT(message, Contains("node 'reshape_0' (reshape)") && Contains("opset 14"));
  o.opset = 14;
  onnx::ModelProto m = parse(export_onnx(*model, {}, o));
  REQUIRE(attribute(first_node(m, "Reshape"), "allowzero"));
  CHECK(attribute(first_node(m, "Reshape"), "allowzero")->i() == 1);
  // without a 0 the attribute stays out (every opset reads it)
  onnx::ModelProto plain = parse(export_onnx(*one_node("reshape", {{"shape", AttrValue{std::vector<int64_t>{-1, 12}}}}), {}, o));
  CHECK(attribute(first_node(plain, "Reshape"), "allowzero") == nullptr);
}

TEST_CASE("export: compositions for operators ONNX lacks") {
  auto ops_of = [](const std::string& op, const Attributes& attrs) { return op_types(parse(export_onnx(*one_node(op, attrs), {}))); };
  std::vector<std::string> gelu = ops_of("gelu", {});
  CHECK(count_of(gelu, "Erf") == 1);
  CHECK(count_of(ops_of("gelu", {{"approximate", AttrValue{true}}}), "Tanh") == 1);
  std::vector<std::string> softplus = ops_of("softplus", {});
  CHECK(count_of(softplus, "Softplus") == 0);  // max(x,0) + log1p(exp(-|x|)): no overflow
  CHECK(count_of(softplus, "Relu") == 1);
  // Zero padding for max pools: ONNX's -inf pads and 0 joined to the windows that reach into the
  // padding (a constant mask); never a Pad node (onnxruntime fuses Pad into MaxPool's -inf pads).
  Attributes padded = {{"kernel_size", AttrValue{std::vector<int64_t>{2, 2}}}, {"stride", AttrValue{std::vector<int64_t>{1, 1}}},
                       {"padding", AttrValue{std::vector<int64_t>{1, 0, 0, 1}}}};
  std::vector<std::string> pool = ops_of("max_pool2d", padded);
  CHECK(count_of(pool, "Pad") == 0);
  CHECK(count_of(pool, "Where") == 1);
  CHECK(count_of(pool, "MaxPool") == 1);
  CHECK(count_of(pool, "Reshape") == 2);  // rank 3 input: pooled as [-1, 1, H, W]
  // padding as large as the window: zeros concatenated instead
  padded["padding"] = AttrValue{std::vector<int64_t>{2, 0, 0, 0}};
  std::vector<std::string> wide = ops_of("max_pool2d", padded);
  CHECK(count_of(wide, "Pad") == 0);
  CHECK(count_of(wide, "Expand") == 1);
  CHECK(count_of(wide, "MaxPool") == 1);
  std::vector<std::string> var = ops_of("variance", {{"axes", AttrValue{std::vector<int64_t>{2}}}, {"correction", AttrValue{1.0}}});
  CHECK(count_of(var, "ReduceMean") == 1);
  CHECK(count_of(var, "ReduceSum") == 1);
  // torch.flatten of a symbolic batch: a literal target [0, 12] (0 copies the batch), no Shape node
  onnx::ModelProto flat = parse(export_onnx(*one_node("flatten", {{"start_dim", AttrValue{int64_t{1}}}}), {}));
  CHECK(count_of(op_types(flat), "Shape") == 0);
  CHECK(op_types(flat) == std::vector<std::string>{"Reshape"});
  const onnx::TensorProto& target = flat.graph().initializer(0);
  CHECK(std::vector<int64_t>{reinterpret_cast<const int64_t*>(target.raw_data().data()),
                             reinterpret_cast<const int64_t*>(target.raw_data().data()) + 2} == std::vector<int64_t>{0, 12});
}

TEST_CASE("export: constants are initializers under their names, and conv padding is reordered to ONNX's begins-then-ends") {
  auto model = std::make_shared<Model>("c");
  Value x = model->input("x", {Dim::known(1), Dim::known(2), Dim::known(5), Dim::known(5)});
  Value w = model->constant("w", counting(DType::float32, {3, 2, 3, 3}));
  model->output("y", model->apply("conv2d", {x, w}, {{"padding", AttrValue{std::vector<int64_t>{1, 2, 3, 4}}}}));
  onnx::ModelProto m = parse(export_onnx(*model, {}));
  REQUIRE(m.graph().initializer_size() == 1);
  CHECK(m.graph().initializer(0).name() == "w");
  const onnx::AttributeProto* pads = attribute(first_node(m, "Conv"), "pads");
  REQUIRE(pads);
  CHECK(std::vector<int64_t>(pads->ints().begin(), pads->ints().end()) == std::vector<int64_t>{1, 3, 2, 4});
}

TEST_CASE("export: refusals name what is wrong") {
  OnnxExportOptions o;
  o.opset = 12;
  std::shared_ptr<Model> relu = one_node("relu", {});
  CHECK_THAT(error_of([&] { export_onnx(*relu, {}, o); }), Contains("opset 12") && Contains("13 to 18"));

  std::shared_ptr<Model> linear = zoo_model("linear");
  CHECK_THAT(error_of([&] { export_onnx(*linear, {{"weights", counting(DType::float32, {10, 5})}}); }),
             Contains("no value for parameter 'bias'"));

  // Every operator without a lowering in one message, with its nodes.
  OpRegistry& registry = OpRegistry::global();
  for (const char* name : {"a", "b"}) {
    if (registry.find(std::string("exporttest.") + name)) continue;
    OpSchema s;
    s.domain = "exporttest";
    s.name = name;
    s.inputs = {{"input"}};
    s.infer = [](const std::vector<ValueInfo>& in, const Attributes&) { return in[0]; };
    registry.add(s);
  }
  auto model = std::make_shared<Model>("custom");
  Value x = model->input("x", {Dim::known(2)});
  Value y = model->apply("exporttest.a", {x}, {}, "n1");
  y = model->apply("exporttest.b", {y}, {}, "n2");
  y = model->apply("relu", {y});
  y = model->apply("exporttest.a", {y}, {}, "n3");
  model->output("y", y);
  std::string message = error_of([&] { export_onnx(*model, {}); });
  CHECK_THAT(message, Contains("model 'custom': no ONNX lowering for 2 operators") &&
                          Contains("exporttest.a (2 nodes: n1, n3)") && Contains("exporttest.b (1 node: n2)"));
  CHECK_THAT(message, !Contains("relu"));
}
