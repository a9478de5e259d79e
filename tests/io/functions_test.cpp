// Function operators (format 1.1.0): compositions defined inside the model file itself.
#include <catch2/catch.hpp>

#include "backends/backend.h"
#include "core/error.h"
#include "io/model_json.h"
#include "physical/physical_model.h"

using namespace mithril;
using Catch::Matchers::Contains;

namespace {

const char* kScaledRelu = R"J({
  "version": "1.1.0",
  "name": "uses_function",
  "inputs": {"x": {"shape": [null, 4], "dtype": "float64"}},
  "nodes": [
    {"name": "a", "op": "fn.scaled_relu", "inputs": ["x"], "attributes": {"factor": 3.0}},
    {"name": "b", "op": "fn.scaled_relu", "inputs": ["a"]},
    {"name": "c", "op": "fn.soft", "inputs": ["b"]}
  ],
  "outputs": {"y": "c"},
  "functions": {
    "fn.scaled_relu": {"version": 1, "doc": "relu(x) * factor", "inputs": ["x"], "attributes": {"factor": 1.0},
                       "nodes": [{"name": "r", "op": "relu", "inputs": ["x"]},
                                 {"name": "s", "op": "multiply", "inputs": ["r", "@factor"]}],
                       "output": "s"},
    "fn.soft": {"inputs": ["x"], "attributes": {"axis": -1},
                "nodes": [{"name": "s", "op": "softmax", "inputs": ["x"], "attributes": {"axis": "@axis"}}],
                "output": "s"}
  }
})J";

Tensor sample() {
  Tensor t(DType::float64, {2, 4});
  double v[] = {1, -2, 0.5, 4, -1, 2, 3, 0};
  std::copy(v, v + 8, t.mutable_data_as<double>());
  return t;
}

}  // namespace

TEST_CASE("a model with functions loads, infers, runs with no plugin, and round-trips", "[io][functions]") {
  auto model = from_dict(kScaledRelu, "f.json");
  REQUIRE(shape_str(model->outputs()[0].info.shape) == "[null,4]");
  // The functions belong to the model, not to the process.
  REQUIRE(OpRegistry::global().find("fn.scaled_relu") == nullptr);
  REQUIRE(model->functions() != nullptr);
  const OpSchema* op = model->functions()->find("fn.scaled_relu");
  REQUIRE(op != nullptr);
  REQUIRE(op->kernels.empty());  // expanded when compiled
  Tensor y = PhysicalModel::compile(model, reference_backend())({{"x", sample()}}).at("y");
  // Row 0: relu * 3 = [3,0,1.5,12], then * 1 -> softmax over the row.
  double e[] = {std::exp(3.0), std::exp(0.0), std::exp(1.5), std::exp(12.0)};
  double total = e[0] + e[1] + e[2] + e[3];
  for (int i = 0; i < 4; ++i) REQUIRE(y.data_as<double>()[i] == Approx(e[i] / total).epsilon(1e-12));
  std::string dict = to_dict(*model);
  REQUIRE_THAT(dict, Contains("\"functions\"") && Contains("\"fn.scaled_relu\""));
  REQUIRE(to_dict(*from_dict(dict, "again.json")) == dict);
}

TEST_CASE("a model with functions cannot go down to 1.0.0, one without can", "[io][functions]") {
  auto model = from_dict(kScaledRelu, "f.json");
  REQUIRE_THROWS_WITH(to_dict(*model, "1.0.0"),
                      Contains("cannot be written as format 1.0.0: it uses function operators 'fn.scaled_relu', 'fn.soft'"));
  auto plain = from_dict(R"J({"version": "1.0.0", "name": "p", "inputs": {"x": {"shape": [2]}},
                              "nodes": [{"name": "r", "op": "relu", "inputs": ["x"]}], "outputs": {"y": "r"}})J");
  std::string old = to_dict(*plain, "1.0.0");
  REQUIRE_THAT(old, Contains("\"version\": \"1.0.0\""));
  REQUIRE(to_dict(*from_dict(old)) == to_dict(*plain));
  REQUIRE_THROWS_WITH(to_dict(*plain, "0.9.0"), Contains("cannot write format version '0.9.0'"));
}

TEST_CASE("bad functions are refused with their JSON path", "[io][functions]") {
  auto with_function = [](const std::string& name, const std::string& def) {
    return R"J({"version": "1.1.0", "name": "m", "inputs": {"x": {"shape": [2]}}, "outputs": {"y": "x"}, "functions": {")J" + name +
           "\": " + def + "}}";
  };
  struct Case {
    std::string json, expected;
  };
  std::vector<Case> cases = {
      {with_function("nodomain", R"J({"inputs": ["x"], "nodes": [], "output": "x"})J"), "functions.nodomain: a function is named 'domain.name'"},
      {with_function("bad.f1", R"J({"inputs": ["x"], "nodes": [{"name": "a", "op": "relu", "inputs": ["@k"]}], "output": "a"})J"),
       "functions[\"bad.f1\"].nodes[0].inputs[0]: no attribute 'k'"},
      {with_function("bad.f2", R"J({"inputs": ["x"], "nodes": [{"name": "a", "op": "relu", "inputs": ["z"]}], "output": "a"})J"),
       "nodes[0].inputs[0]: unknown value 'z'"},
      {with_function("bad.f3", R"J({"inputs": ["x"], "nodes": [], "output": "q"})J"), "output: unknown value 'q'"},
      {with_function("bad.f4", R"J({"inputs": ["x"], "nodes": [{"name": "a", "op": "nope", "inputs": ["x"]}], "output": "a"})J"),
       "unknown operator 'nope' at functions[\"bad.f4\"].nodes[0]"},
      {R"J({"version": "1.0.0", "name": "m", "inputs": {"x": {"shape": [2]}}, "outputs": {"y": "x"}, "functions": {}})J",
       "unknown key 'functions'"},
  };
  for (const Case& c : cases) {
    INFO(c.json);
    REQUIRE_THROWS_WITH(from_dict(c.json, "bad.json"), Contains("bad.json: ") && Contains(c.expected));
  }
}

TEST_CASE("two files that define one function name differently load, compile and run side by side", "[io][functions]") {
  auto first = from_dict(kScaledRelu, "f.json");
  std::string changed = kScaledRelu;
  changed.replace(changed.find("\"factor\": 1.0"), 13, "\"factor\": 2.0");
  auto second = from_dict(changed, "g.json");
  REQUIRE(first->functions()->find("fn.scaled_relu") != second->functions()->find("fn.scaled_relu"));
  auto run_first = PhysicalModel::compile(first, reference_backend());
  auto run_second = PhysicalModel::compile(second, reference_backend());
  // Node b uses the default factor: 1 in the first file, 2 in the second; softmax then differs.
  Tensor a = run_first({{"x", sample()}}).at("y");
  Tensor b = run_second({{"x", sample()}}).at("y");
  double e1[] = {std::exp(3.0), std::exp(0.0), std::exp(1.5), std::exp(12.0)};
  double e2[] = {std::exp(6.0), std::exp(0.0), std::exp(3.0), std::exp(24.0)};
  double t1 = e1[0] + e1[1] + e1[2] + e1[3], t2 = e2[0] + e2[1] + e2[2] + e2[3];
  for (int i = 0; i < 4; ++i) {
    REQUIRE(a.data_as<double>()[i] == Approx(e1[i] / t1).epsilon(1e-12));
    REQUIRE(b.data_as<double>()[i] == Approx(e2[i] / t2).epsilon(1e-12));
  }
  // Each writes back its own definition.
  REQUIRE_THAT(to_dict(*first), Contains("\"factor\": 1.0"));
  REQUIRE_THAT(to_dict(*second), Contains("\"factor\": 2.0"));
  // One tree holding both cannot be written as one file: the error names the function.
  Model both("both");
  Value x = both.input("x", {Dim::any(), Dim::known(4)}, DType::float64);
  both.add_submodel("one", first, {{"x", x}});
  both.add_submodel("two", second, {{"x", x}});
  REQUIRE_THROWS_WITH(to_dict(both), Contains("two different functions named 'fn.scaled_relu'"));
  // Loading a file leaves nothing behind in the process-wide registry.
  REQUIRE(OpRegistry::global().find("fn.soft") == nullptr);
}

TEST_CASE("a function that uses itself is refused, not a crash", "[io][functions]") {
  const char* looping = R"J({"version": "1.1.0", "name": "m", "inputs": {"x": {"shape": [2]}},
    "nodes": [{"name": "a", "op": "loop.f", "inputs": ["x"]}], "outputs": {"y": "a"},
    "functions": {"loop.f": {"inputs": ["x"], "nodes": [{"name": "a", "op": "loop.f", "inputs": ["x"]}], "output": "a"}}})J";
  REQUIRE_THROWS_WITH(from_dict(looping, "loop.json"), Contains("function 'loop.f' expands into itself"));
}

TEST_CASE("unknown operators can be kept opaque to validate the rest", "[io][functions]") {
  const char* unknown = R"J({"version": "1.1.0", "name": "m", "inputs": {"x": {"shape": [null, 3]}},
    "nodes": [{"name": "a", "op": "vendor.magic", "inputs": ["x"], "attributes": {"k": 2}},
              {"name": "b", "op": "relu", "inputs": ["a"]}], "outputs": {"y": "b"}})J";
  REQUIRE_THROWS_WITH(from_dict(unknown, "u.json"), Contains("unknown operator 'vendor.magic' at nodes[0]"));
  FromDictOptions options;
  options.allow_unknown_ops = true;
  auto model = from_dict(unknown, "u.json", options);
  REQUIRE(model->steps().size() == 2);
  REQUIRE_FALSE(model->outputs()[0].info.rank_known);
  REQUIRE(to_dict(*from_dict(to_dict(*model), "u2.json", options)) == to_dict(*model));
  REQUIRE_THROWS_WITH(PhysicalModel::compile(model, reference_backend()), Contains("vendor.magic"));
}
