#include <catch2/catch.hpp>

#include "core/error.h"
#include "graph/builder.h"

using namespace mithril;
using Catch::Matchers::Contains;

namespace {
SymShape dims(std::initializer_list<int64_t> sizes) {
  SymShape s;
  for (int64_t d : sizes) s.push_back(d < 0 ? Dim::any() : Dim::known(d));
  return s;
}
}  // namespace

TEST_CASE("the seed's first model infers its output shape", "[graph]") {
  Model model("my_model");
  Value x = model.input("input", dims({-1, 10}));
  Value w = model.parameter("weights", dims({10, 5}));
  Value b = model.parameter("bias", dims({5}), DType::float32, Initializer::zeros());
  model.output("output", matmul(x, w) + b);
  REQUIRE(shape_str(model.outputs()[0].info.shape) == "[null,5]");
  REQUIRE(model.outputs()[0].info.dtype == DType::float32);
  REQUIRE(model.steps().size() == 2);
  REQUIRE(model.steps()[0].name == "matmul_0");
  REQUIRE(model.steps()[1].name == "add_0");
}

TEST_CASE("a bad connection fails at the line that made it, with the node name and both shapes", "[graph]") {
  Model model("m");
  Value x = model.input("input", dims({-1, 10}));
  Value w = model.parameter("w", dims({20, 5}));
  REQUIRE_THROWS_WITH(matmul(x, w), Contains("node 'matmul_0'") && Contains("[null,10]") && Contains("[20,5]"));
  // Nothing was added.
  REQUIRE(model.steps().empty());
}

TEST_CASE("named dimensions propagate and must agree", "[graph]") {
  Model model("m");
  Value a = model.input("a", {Dim::named("batch"), Dim::known(10)});
  Value b = model.input("b", {Dim::named("batch"), Dim::known(10)});
  Value c = a + b;
  REQUIRE(shape_str(c.shape()) == "[batch,10]");
  Value d = sum(c, {1});
  REQUIRE(shape_str(d.shape()) == "[batch]");
}

TEST_CASE("dense layers are submodels owning their parameters, at any depth", "[graph]") {
  auto block = std::make_shared<Model>("block");
  Value bx = block->input("input", dims({-1, 8}));
  block->output("output", relu(dense(bx, 8, "hidden")));

  Model model("net");
  Value x = model.input("input", dims({-1, 8}));
  Value y = model.add_submodel("block1", block, {{"input", x}}).at("output");
  y = model.add_submodel("block2", block, {{"input", y}}).at("output");
  model.output("output", dense(y, 2, "head"));

  std::vector<std::string> names;
  for (const auto& p : model.parameter_paths()) names.push_back(p.path);
  REQUIRE(names == std::vector<std::string>{"block1.hidden.weight", "block1.hidden.bias", "block2.hidden.weight",
                                            "block2.hidden.bias", "head.weight", "head.bias"});
  REQUIRE(model.node_count() == 2 * 3 + 2);
  REQUIRE(shape_str(model.outputs()[0].info.shape) == "[null,2]");
}

TEST_CASE("submodel inputs are checked against their declarations", "[graph]") {
  auto layer = dense_model(10, 4);
  Model model("m");
  Value x = model.input("x", dims({3, 7}));
  REQUIRE_THROWS_WITH(model.add_submodel("d", layer, {{"input", x}}),
                      Contains("submodel 'd'") && Contains("[3,7]") && Contains("expected [batch,10]"));
  REQUIRE_THROWS_WITH(model.add_submodel("d", layer, {}), Contains("input 'input' is not connected"));
  REQUIRE_THROWS_WITH(model.add_submodel("d", layer, {{"input", x}, {"other", x}}), Contains("no input 'other'"));
}

TEST_CASE("names are identifiers and unique", "[graph]") {
  Model model("m");
  Value x = model.input("x", dims({2}));
  REQUIRE_THROWS_WITH(model.input("x", dims({2})), Contains("already used"));
  REQUIRE_THROWS_WITH(model.input("a.b", dims({2})), Contains("not an identifier"));
  REQUIRE_THROWS_WITH(model.apply("no_such_op", {x}), Contains("unknown operator 'no_such_op'"));
  REQUIRE_THROWS_WITH(model.apply("relu", {x, x}), Contains("takes 1 input(s), got 2"));
  REQUIRE_THROWS_WITH(model.apply("softmax", {x}, {{"axiss", int64_t{0}}}), Contains("unknown attribute 'axiss'"));
}

TEST_CASE("with an input of unknown rank, a node's shape waits but its dtype is the operator's", "[graph]") {
  Model model("unranked");
  Value x = model.input("x", ValueInfo{DType::float64, {}, false});
  Value n = model.apply("dim_size", {x}, {{"axis", int64_t{0}}, {"dtype", std::string("int64")}});
  Value above = model.apply("greater", {x, x});
  Value as_int = model.apply("cast", {x}, {{"dtype", std::string("int32")}});
  Value pooled = model.apply("max_pool2d", {x}, {{"kernel_size", std::vector<int64_t>{2, 2}}, {"stride", std::vector<int64_t>{1, 1}}});
  CHECK(n.dtype() == DType::int64);
  CHECK(above.dtype() == DType::bool_);
  CHECK(as_int.dtype() == DType::int32);
  CHECK(pooled.dtype() == DType::float64);
  for (const Value& v : {n, above, as_int, pooled}) CHECK_FALSE(v.info().rank_known);
}

TEST_CASE("with_input_shapes declares concrete input shapes, checked against the declared ones", "[graph]") {
  Model model("m");
  Value x = model.input("x", ValueInfo{DType::float64, {}, false});
  Value y = model.input("y", dims({-1, 3}), DType::float64);
  model.output("z", model.apply("add", {x, y}));
  auto shaped = with_input_shapes(model, {{"x", {2, 3}}, {"y", {2, 3}}});
  CHECK(shape_str(shaped->inputs()[0].info.shape) == "[2,3]");
  CHECK(shape_str(shaped->outputs()[0].info.shape) == "[2,3]");
  CHECK(shaped->steps().size() == 1);
  CHECK_THROWS_WITH(with_input_shapes(model, {{"y", {2, 4}}}), Contains("input 'y': shape [2,4] does not fit its declared [null,3]"));
  CHECK_THROWS_WITH(with_input_shapes(model, {{"w", {1}}}), Contains("model 'm' has no input 'w'"));
}
