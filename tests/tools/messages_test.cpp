// The messages the tools give for common mistakes (issue 10): they say what to do.
#include <catch2/catch.hpp>

#include "test_util.h"

#include <fstream>

#include "core/error.h"
#include "io/artifact.h"
#include "io/model_json.h"
#include "io/npz.h"
#include "ops/registry.h"
#include "tools/common.h"
#include "tools/load.h"
#include "tools/run.h"
#include "backends/backend.h"
#include "physical/persistence.h"

using namespace mithril;
using namespace mithril::tools;
using Catch::Matchers::Contains;

TEST_CASE("a hand-written model without \"version\" is told to add one", "[tools][messages]") {
  mithril::testing::TempDir dir;
  const std::string ours = R"({"name": "my_mlp", "inputs": {"x": {"shape": [null, 4], "dtype": "float32"}},
    "nodes": [{"name": "r", "op": "relu", "inputs": ["x"]}], "outputs": {"y": "r"}})";
  std::ofstream(dir / "m.json") << ours;
  REQUIRE_THROWS_WITH(load_artifact(dir / "m.json", tool_load_options()),
                      Contains(dir / "m.json" + ": no \"version\": add \"version\": \"1.2.0\" at the top level") &&
                          Contains("unknown Python Mithril model name: 'my_mlp'"));
  // With the version it loads.
  std::ofstream(dir / "v.json") << R"({"version": "1.1.0", )" + ours.substr(1);
  REQUIRE(load_artifact(dir / "v.json", tool_load_options()).model->name() == "my_mlp");
  // A real Python Mithril dict that fails keeps the Python Mithril message.
  std::ofstream(dir / "p.json") << R"({"name": "Foo", "submodels": {}, "connections": {}})";
  try {
    load_artifact(dir / "p.json", tool_load_options());
    FAIL("no error");
  } catch (const Error& e) {
    REQUIRE_THAT(e.what(), Contains("unknown Python Mithril model name: 'Foo'"));
    REQUIRE_THAT(e.what(), !Contains("\"version\""));
  }
  Error other(ErrorKind::schema, "x.json: something else");
  REQUIRE(std::string(missing_version_hint(R"({"version": "1.0.0", "nodes": []})", "x.json", other).what()) == "x.json: something else");
}

TEST_CASE("input problems name where the inputs came from", "[tools][messages]") {
  mithril::testing::TempDir dir;
  auto model = from_dict(R"({"version": "1.1.0", "name": "m", "inputs": {"input": {"shape": [null, 10], "dtype": "float32"}},
    "nodes": [{"name": "r", "op": "relu", "inputs": ["input"]}], "outputs": {"y": "r"}})", "m.json");
  REQUIRE_THROWS_WITH(random_inputs(*model, {{"input", {5, 11}}}, 0),
                      "--shape input=5,11: input 'input': shape [5,11], expected [null,10] (model 'm')");
  REQUIRE(random_inputs(*model, {{"input", {5, 10}}}, 0).at(0).second.shape() == Shape{5, 10});
  write_npz(dir / "c.npz", {{"input", Tensor(DType::complex64, {2, 10})}});
  REQUIRE_THROWS_WITH(read_inputs(dir / "c.npz", *model),
                      Contains(dir / "c.npz" + ": input 'input': complex64 values for a float32 input"));
}

TEST_CASE("parameter problems are all listed at once, shapes included", "[tools][messages]") {
  mithril::testing::TempDir dir;
  auto model = from_dict(R"({"version": "1.1.0", "name": "m", "inputs": {"x": {"shape": [null, 3], "dtype": "float32"}},
    "parameters": {"w": {"shape": [3, 2], "dtype": "float32"}, "b": {"shape": [2], "dtype": "float32"},
                   "v": {"shape": [2, 2], "dtype": "float32"}},
    "nodes": [{"name": "mm", "op": "matmul", "inputs": ["x", "w"]}, {"name": "a", "op": "add", "inputs": ["mm", "b"]},
              {"name": "o", "op": "matmul", "inputs": ["a", "v"]}],
    "outputs": {"y": "o"}})", "m.json");
  NamedTensors values = {{"w", Tensor(DType::float32, {2, 3})}, {"v", Tensor(DType::float64, {2, 2})},
                         {"extra", Tensor(DType::float32, {1})}};
  REQUIRE_THROWS_WITH(compile_with_parameters(model, reference_backend(), values, "p.npz"),
                      "p.npz: tensor 'w': shape [2,3], expected [3,2]; tensor 'v': dtype float64, expected float32; "
                      "tensor 'extra' is not a parameter of the model; parameter 'b' is missing");
}

TEST_CASE("list_operators: every registered operator with its inputs, attributes and backends", "[tools][messages]") {
  std::vector<OperatorInfo> ops = list_operators();
  REQUIRE(ops.size() == OpRegistry::global().names().size());
  auto find = [&](const std::string& name) -> const OperatorInfo& {
    for (const OperatorInfo& op : ops)
      if (op.name == name) return op;
    FAIL("no operator " << name);
    return ops.front();
  };
  CHECK(find("matmul").inputs == std::vector<std::string>{"left", "right"});
  CHECK(find("matmul").backends == std::vector<std::string>{"reference"});
  CHECK(find("softmax").attributes.at(0) == "axis: int = -1");
  CHECK_THAT(format_operators(ops), Contains("add (version 1): inputs left, right; attributes none; backends: reference"));
  CHECK_THAT(operators_json(ops), Contains("\"name\": \"concat\""));
}
