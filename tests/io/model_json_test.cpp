#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "graph/builder.h"
#include "io/model_json.h"

using namespace mithril;
using Catch::Matchers::Contains;

namespace {

std::shared_ptr<Model> simple_mlp() {
  auto model = std::make_shared<Model>("simple_mlp");
  Value x = model->input("input", {Dim::any(), Dim::known(10)});
  model->output("output", dense(relu(dense(x, 50, "hidden")), 1, "output_layer"));
  return model;
}

std::shared_ptr<Model> every_construct() {
  auto model = std::make_shared<Model>("kitchen_sink");
  model->set_metadata("producer", "tests");
  model->set_metadata("description", "quotes \" and unicode \xc3\xa9");
  Value a = model->input("a", {Dim::named("batch"), Dim::known(4)});
  Value b = model->input("b", {Dim::named("batch"), Dim::known(4)}, DType::float32);
  Value w = model->parameter("w", {Dim::known(4), Dim::known(4)}, DType::float32, Initializer::uniform(-0.5, 0.25));
  Tensor c(DType::float32, {2, 2});
  float cv[] = {0.1f, -2.5f, 1e-7f, 3.0f};
  std::copy(cv, cv + 4, c.mutable_data_as<float>());
  Value k = model->constant("k", c);
  Value s = softmax(matmul(a * 2.0, w) - b, 0);
  Value t = transpose(reshape(s, {-1, 2, 2}), {0, 2, 1});
  Value u = matmul(t, k);
  Value v = concat({sum(u, {2}), mean(u, {2}) * 1.0}, 1);
  model->output("v", v);
  model->output("s", gelu(s, true));
  return model;
}

}  // namespace

TEST_CASE("to_dict is deterministic and from_dict(to_dict(m)) round-trips byte for byte", "[io][json]") {
  for (auto model : {simple_mlp(), every_construct()}) {
    std::string first = to_dict(*model);
    REQUIRE(first == to_dict(*model));
    auto reloaded = from_dict(first, "first.json");
    REQUIRE(to_dict(*reloaded) == first);
    REQUIRE(reloaded->parameter_paths().size() == model->parameter_paths().size());
  }
}

TEST_CASE("the dict is readable: version, dotted outputs, attributes with defaults", "[io][json]") {
  std::string text = to_dict(*simple_mlp());
  REQUIRE_THAT(text, Contains("\"version\": \"1.2.0\""));
  REQUIRE_THAT(text, Contains("\"shape\": [null, 10]"));
  REQUIRE_THAT(text, Contains("\"output\": \"output_layer.output\""));
  REQUIRE_THAT(text, Contains("\"init\": \"glorot\""));
}

TEST_CASE("repeated blocks are written once under definitions", "[io][json]") {
  auto block = std::make_shared<Model>("block");
  Value bx = block->input("input", {Dim::any(), Dim::known(16)});
  block->output("output", relu(dense(bx, 16, "hidden")) + bx);
  auto net = std::make_shared<Model>("deep");
  Value x = net->input("input", {Dim::any(), Dim::known(16)});
  for (int i = 0; i < 200; ++i) x = net->add_submodel("block" + std::to_string(i), block, {{"input", x}}).at("output");
  net->output("output", x);
  std::string text = to_dict(*net);
  REQUIRE_THAT(text, Contains("\"definitions\""));
  // Each instance is a short node entry; the block body (and its dense layer) is written once.
  REQUIRE(text.size() < 200 * 160);
  REQUIRE(text.find("\"name\": \"dense\"") == text.rfind("\"name\": \"dense\""));
  auto reloaded = from_dict(text);
  REQUIRE(reloaded->parameter_paths().size() == 400);
  REQUIRE(reloaded->parameter_paths()[398].path == "block199.hidden.weight");
  REQUIRE(to_dict(*reloaded) == text);
}

TEST_CASE("a hand-written dict loads", "[io][json]") {
  const char* text = R"J({
    "version": "1.0.0",
    "name": "hand",
    "inputs": {"x": {"shape": ["n", 3]}},
    "parameters": {"w": {"shape": [3, 2], "init": "normal(0.1)"}},
    "nodes": [
      {"name": "y", "op": "matmul", "inputs": ["x", "w"]},
      {"name": "d", "model": {"name": "twice", "inputs": {"i": {"shape": [null, 2]}},
                              "nodes": [{"name": "s", "op": "add", "inputs": ["i", "i"]}],
                              "outputs": {"o": "s"}},
       "inputs": {"i": "y"}}
    ],
    "outputs": {"out": "d.o"}
  })J";
  auto model = from_dict(text, "hand.json");
  REQUIRE(shape_str(model->outputs()[0].info.shape) == "[n,2]");
  REQUIRE(model->parameters()[0].init == Initializer::normal(0.1));
}

TEST_CASE("bad dicts give one error naming the JSON path", "[io][json]") {
  auto with = [](const std::string& body) {
    return std::string(R"J({"version": "1.0.0", "name": "m", "inputs": {"x": {"shape": [null, 3]}}, )J") + body + "}";
  };
  struct Case {
    std::string json;
    std::string expected;
  };
  std::vector<Case> cases = {
      {"", "invalid JSON at line 1, column 1"},
      {"{\"version\": \"1.0.0\",\n \"name\": }", "invalid JSON at line 2, column 10"},
      {"[]", "expected a JSON object"},
      {R"J({"name": "m", "outputs": {}})J", "no \"version\""},
      {R"J({"version": 1, "name": "m", "outputs": {}})J", "version: expected a version string"},
      {R"J({"version": "2.0.0", "name": "m", "outputs": {}})J", "format version 2.0.0 is newer than this library reads (1.2.0)"},
      {R"J({"version": "1.0", "name": "m", "outputs": {}})J", "'1.0' is not a MAJOR.MINOR.PATCH version"},
      {R"J({"version": "1.0.0", "outputs": {}})J", "(top level): missing required key 'name'"},
      {R"J({"version": "1.0.0", "name": "m", "outputs": {}, "extra": 1})J", "unknown key 'extra'"},
      {R"J({"version": "1.0.0", "name": "m", "name": "n", "outputs": {}})J", "duplicate key 'name'"},
      {with(R"J("outputs": {"y": "x"}, "nodes": [{"name": "a", "op": "relu", "inputs": ["x"], "bogus": 1}])J"),
       "nodes[0]: unknown key 'bogus'"},
      {with(R"J("outputs": {"y": "x"}, "nodes": [{"name": "a", "op": 5, "inputs": ["x"]}])J"), "nodes[0].op: expected an operator name"},
      {with(R"J("outputs": {"y": "x"}, "parameters": {"w": {"shape": [3, -2]}})J"), "parameters.w.shape[1]: expected a dimension"},
      {with(R"J("outputs": {"y": "x"}, "parameters": {"w": {"shape": [3], "dtype": "float33"}})J"), "parameters.w.dtype: expected a dtype name"},
      {with(R"J("outputs": {"y": "x"}, "parameters": {"w": {"shape": [3], "init": "gloria"}})J"), "parameters.w.init: expected an initializer"},
      {with(R"J("outputs": {"y": "nope"})J"), "outputs.y: unknown value 'nope'"},
      {with(R"J("outputs": {}, "nodes": [])J"), "outputs: a model needs at least one output"},
      {with(R"J("outputs": {"y": "a"}, "nodes": [{"name": "a", "op": "relu", "inputs": ["z"]}])J"),
       "nodes[0].inputs[0]: unknown value 'z' (not defined before this node)"},
      {with(R"J("outputs": {"y": "a"}, "nodes": [{"name": "a", "op": "relux", "inputs": ["x"]}, {"name": "b", "op": "acme.thing", "inputs": ["x"]}])J"),
       "unknown operators 'relux' at nodes[0], 'acme.thing' at nodes[1]"},
      {with(R"J("outputs": {"y": "a"}, "parameters": {"w": {"shape": [4, 2]}}, "nodes": [{"name": "a", "op": "matmul", "inputs": ["x", "w"]}])J"),
       "nodes[0]: model 'm': node 'a' (matmul)"},
      {with(R"J("outputs": {"y": "a"}, "nodes": [{"name": "a", "op": "softmax", "inputs": ["x"], "attributes": {"axis": "last"}}])J"),
       "attribute 'axis' of 'softmax': expected int"},
      {with(R"J("outputs": {"y": "a"}, "nodes": [{"name": "a", "inputs": ["x"]}])J"), "nodes[0]: a node needs exactly one of \"op\" or \"model\""},
      {with(R"J("outputs": {"y": "a.o"}, "nodes": [{"name": "a", "model": "missing", "inputs": {"i": "x"}}])J"),
       "nodes[0].model: no definition named 'missing'"},
      {with(R"J("outputs": {"y": "x"}, "constants": {"c": {"dtype": "int8", "shape": [2], "data": [1, 300]}})J"),
       "constants.c.data[1]: 300 does not fit int8"},
      {with(R"J("outputs": {"y": "x"}, "constants": {"c": {"dtype": "float32", "shape": [3], "data": [1, 2]}})J"),
       "constants.c.data: 2 values for shape [3], expected 3"},
      {R"J({"version": "1.0.0", "name": "m", "outputs": {"y": "d.o"}, "nodes": [{"name": "d", "model": "a", "inputs": {}}],
           "definitions": {"a": {"name": "a", "nodes": [{"name": "n", "model": "a"}], "outputs": {"o": "n.o"}}}})J",
       "definition 'a' contains itself"},
  };
  for (const Case& c : cases) {
    INFO(c.json);
    try {
      from_dict(c.json, "bad.json");
      FAIL("no error");
    } catch (const Error& e) {
      REQUIRE_THAT(e.what(), Contains("bad.json: ") && Contains(c.expected));
    }
  }
}

namespace {

// A model whose definition d<k> wraps d<k-1> (d0 is one relu): `n` models nested in one another.
std::string definition_chain(int n) {
  std::string defs;
  for (int k = 0; k < n; ++k) {
    std::string body = k == 0 ? R"("nodes": [{"name": "r", "op": "relu", "inputs": ["input"]}], "outputs": {"output": "r"})"
                              : R"("nodes": [{"name": "inner", "model": "d)" + std::to_string(k - 1) +
                                    R"(", "inputs": {"input": "input"}}], "outputs": {"output": "inner.output"})";
    defs += (k ? ", " : "") + std::string(R"("d)") + std::to_string(k) + R"(": {"name": "d)" + std::to_string(k) +
            R"(", "inputs": {"input": {"shape": [null, 4], "dtype": "float32"}}, )" + body + "}";
  }
  return R"({"version": "1.1.0", "name": "chain", "inputs": {"input": {"shape": [null, 4], "dtype": "float32"}},)"
         R"( "nodes": [{"name": "top", "model": "d)" + std::to_string(n - 1) + R"(", "inputs": {"input": "input"}}],)"
         R"( "outputs": {"output": "top.output"}, "definitions": {)" + defs + "}}";
}

int nesting(const Model& m) {
  int deepest = 0;
  for (const Step& s : m.steps())
    if (s.is_submodel()) deepest = std::max(deepest, 1 + nesting(*s.submodel));
  return deepest;
}

}  // namespace

TEST_CASE("from_dict: a chain of 5,000 definitions, each using the previous one, loads in linear time", "[io][json][definitions]") {
  // Resolution used to walk every level below each level it added (42 s at 5,000); it is linear now.
  auto start = std::chrono::steady_clock::now();
  auto model = from_dict(definition_chain(5000), "chain.json");
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  REQUIRE(nesting(*model) == 5000);
  REQUIRE(info_str(model->outputs()[0].info) == "float32[null,4]");
  // About 0.05 s on the 2-core test machine, 5 s under ASan on a loaded one; the quadratic walk
  // took 42 s here, so only that is caught, not a noisy machine.
  CHECK(seconds < 30.0);
  // Writing it back does not nest 5,000 bodies inline (readers cap JSON nesting): deep bodies are
  // hoisted into definitions, and the text reads back to the same model, byte-stable.
  std::string text = to_dict(*model);
  auto again = from_dict(text, "again.json");
  REQUIRE(nesting(*again) == 5000);
  REQUIRE(to_dict(*again) == text);
  REQUIRE(text.size() < 20'000'000);
}

TEST_CASE("from_dict: definitions nested deeper than the cap are refused before anything is built", "[io][json][definitions]") {
  REQUIRE_THROWS_WITH(from_dict(definition_chain(6001), "deep.json"),
                      "deep.json: definitions.d6000: models nested 6001 deep through definitions (at most 6000)");
  REQUIRE_NOTHROW(from_dict(definition_chain(6000), "deep.json"));
  // A long cycle is found by the same pass, without recursing through it.
  std::string cyclic = definition_chain(3000);
  std::string from = R"("nodes": [{"name": "r", "op": "relu", "inputs": ["input"]}], "outputs": {"output": "r"})";
  cyclic.replace(cyclic.find(from), from.size(),
                 R"("nodes": [{"name": "inner", "model": "d2999", "inputs": {"input": "input"}}], "outputs": {"output": "inner.output"})");
  REQUIRE_THROWS_WITH(from_dict(cyclic, "cycle.json"), Contains("cycle.json: definitions.d0.nodes[0].model: definition 'd2999' contains itself"));
}

TEST_CASE("from_dict: a mistake inside an inline model body names its exact path, as under definitions", "[io][json][errors]") {
  auto inline_model = [](const std::string& body_extra, const std::string& weight) {
    return R"({"version": "1.1.0", "name": "m", "inputs": {"x": {"shape": [null, 10], "dtype": "float32"}},)"
           R"( "nodes": [{"name": "d", "inputs": {"input": "x"}, "model": {"name": "dense",)"
           R"( "inputs": {"input": {"shape": [null, 10], "dtype": "float32"}}, "parameters": {"weight": )" + weight + "}," +
           body_extra + R"( "nodes": [{"name": "mm", "op": "matmul", "inputs": ["input", "weight"]}], "outputs": {"output": "mm"}}}],)"
           R"( "outputs": {"y": "d.output"}})";
  };
  const std::string good_weight = R"({"shape": [10, 50], "dtype": "float32", "init": "glorot"})";
  REQUIRE_NOTHROW(from_dict(inline_model("", good_weight), "m.json"));
  struct Case {
    std::string json, expected;
  };
  std::vector<Case> cases = {
      {inline_model("", R"({"shape": [10, -50]})"),
       "m.json: nodes[0].model.parameters.weight.shape[1]: expected a dimension: a size >= 0, a dimension name, or null, got the number -50"},
      {inline_model("", R"({"shape": [10, 50], "dtype": "float33"})"), "m.json: nodes[0].model.parameters.weight.dtype: expected a dtype name"},
      {inline_model("", R"({"shape": [10, 50], "init": "gloria"})"), "m.json: nodes[0].model.parameters.weight.init: expected an initializer"},
      {inline_model(R"( "colour": "red",)", good_weight), "m.json: nodes[0].model: unknown key 'colour' (allowed: name, inputs"},
      // Two levels of inline bodies.
      {inline_model(R"( "constants": {"c": {"dtype": "float32", "shape": [1], "data": "x"}},)", good_weight),
       "m.json: nodes[0].model.constants.c.data: expected"},
  };
  for (const Case& c : cases) {
    INFO(c.json);
    REQUIRE_THROWS_WITH(from_dict(c.json, "m.json"), Contains(c.expected));
  }
  // A nested inline body.
  std::string nested = inline_model("", good_weight);
  std::string mm = R"({"name": "mm", "op": "matmul", "inputs": ["input", "weight"]})";
  nested.replace(nested.find(mm), mm.size(), mm + R"(, {"name": "z", "model": {"name": "q", "outputs": {"o": 5}}})");
  REQUIRE_THROWS_WITH(from_dict(nested, "m.json"), Contains("m.json: nodes[0].model.nodes[1].model.outputs.o: expected a value reference"));
  // Not an object nor a name: the choice itself is the problem.
  std::string number = R"({"version": "1.1.0", "name": "m", "inputs": {"x": {"shape": [2], "dtype": "float32"}},)"
                       R"( "nodes": [{"name": "d", "model": 7, "inputs": {"input": "x"}}], "outputs": {"y": "d.output"}})";
  REQUIRE_THROWS_WITH(from_dict(number, "m.json"),
                      "m.json: nodes[0].model: expected the name of a definition or an inline model body, got the number 7");
}

TEST_CASE("from_dict: a UTF-8 byte-order mark at the start is accepted", "[io][json]") {
  std::string text = to_dict(*simple_mlp());
  auto model = from_dict("\xEF\xBB\xBF" + text, "bom.json");
  REQUIRE(to_dict(*model) == text);
  // Only at the start: elsewhere it is not JSON.
  REQUIRE_THROWS_WITH(from_dict("\xEF\xBB\xBF\xEF\xBB\xBF" + text, "bom.json"), Contains("bom.json: invalid JSON at line 1"));
}
