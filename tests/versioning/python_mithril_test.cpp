// The python-mithril step both ways, on small dicts: Python's compile names, `$n` auto-names,
// bare names, outputs when only valued inputs are exposed, and the export (python_mithril/
// export.cpp) with its refusals. The cases made with the real Python Mithril are replayed by
// tests/e2e/python_mithril_cases.sh.
#include <catch2/catch.hpp>

#include <algorithm>

#include <rapidjson/document.h>

#include "core/error.h"
#include "io/model_json.h"
#include "versioning/format_history.h"
#include "test_util.h"

using namespace mithril;
namespace v = mithril::versioning;

namespace {

using mithril::testing::error_of;

std::vector<std::string> names(const std::vector<ParameterDecl>& decls) {
  std::vector<std::string> out;
  for (const auto& d : decls) out.push_back(d.name);
  return out;
}

rapidjson::Document parse(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  REQUIRE(!doc.HasParseError());
  return doc;
}

// x -> matmul(x, w) + c -> relu -> y, and z = sum over axis 1 of y (a 1.1.0 dict).
const char* kSmall = R"({"version": "1.1.0", "name": "small",
  "inputs": {"x": {"shape": [null, 3], "dtype": "float64"}},
  "parameters": {"w": {"shape": [3, 2], "dtype": "float64", "init": "zeros"}},
  "constants": {"c": {"dtype": "float64", "shape": [2], "data": [0.5, -1.0]}},
  "nodes": [{"name": "mm", "op": "matmul", "inputs": ["x", "w"]},
            {"name": "plus", "op": "add", "inputs": ["mm", "c"]},
            {"name": "y", "op": "relu", "inputs": ["plus"]},
            {"name": "z", "op": "sum", "inputs": ["y"], "attributes": {"axes": [0, 1], "keepdims": true}}],
  "outputs": {"y": "y", "z": "z"}})";

}  // namespace

TEST_CASE("python-mithril: unnamed keys get the names Python's compile gives them", "[versioning][python-mithril]") {
  // Two Linears: their weights and biases are numbered from 0; MLP keeps its own names.
  auto two = from_dict(v::update_model_dict_version(R"({"name": "Model",
    "submodels": {"m_0": {"name": "Linear", "args": {"dimension": 4}}, "m_1": {"name": "Linear", "args": {"dimension": 2}}},
    "connections": {"m_0": {"input": {"key": {"name": "x"}}, "output": {"key": {"name": "h"}}},
                    "m_1": {"input": {"key": {"connect": [["m_0", "output"]]}}, "output": {"key": {"name": "y"}}}}})"));
  CHECK(names(two->parameters()) == std::vector<std::string>{"weight_0", "bias_0", "weight_1", "bias_1"});
  // One Linear: plain names; a user's own "weight" elsewhere numbers the unnamed ones.
  auto named = from_dict(v::update_model_dict_version(R"({"name": "Model",
    "submodels": {"m_0": {"name": "Linear"}, "m_1": {"name": "Linear"}, "m_2": {"name": "Linear"}},
    "connections": {"m_0": {"input": {"key": {"name": "x"}}, "weight": {"key": {"name": "weight"}}},
                    "m_1": {"input": {"key": {"connect": [["m_0", "output"]]}}},
                    "m_2": {"input": {"key": {"connect": [["m_1", "output"]]}}, "output": {"key": {"name": "y"}}}}})"));
  CHECK(names(named->parameters()) ==
        std::vector<std::string>{"weight", "bias_0", "weight_0", "bias_1", "weight_1", "bias_2"});
  auto mlp = from_dict(v::update_model_dict_version(R"({"name": "Model",
    "submodels": {"m_0": {"name": "MLP", "args": {"activations": ["Relu", "Relu"], "dimensions": [3, 1]}}},
    "connections": {"m_0": {"input": {"key": {"name": "x"}}, "output": {"key": {"name": "y"}}}}})"));
  CHECK(names(mlp->parameters()) == std::vector<std::string>{"weight0", "bias0", "weight1", "bias1"});
}

TEST_CASE("python-mithril: $n auto-names in exposed_keys, and outputs when only inputs are exposed",
          "[versioning][python-mithril]") {
  // As model_to_dict writes a model with two unnamed constants: exposed_keys lists them as $1, $2.
  auto m = from_dict(v::update_model_dict_version(R"({"name": "Model",
    "submodels": {"m_0": {"name": "Add"}, "m_1": {"name": "Multiply"}},
    "connections": {"m_0": {"left": {"key": {"name": "x"}}, "right": {"tensor": 3.0}, "output": {"key": {"name": "a"}}},
                    "m_1": {"left": {"key": {"connect": [["m_0", "output"]]}}, "right": {"tensor": [1.0, 2.0]},
                            "output": {"key": {"name": "y"}}}},
    "exposed_keys": ["$1", "$2"]})"));
  REQUIRE(m->outputs().size() == 1);
  CHECK(m->outputs()[0].name == "y");  // the canonical output, since only constants are exposed
  REQUIRE(m->constants().size() == 2);
  CHECK(m->constants()[0].name == "right_0");
  CHECK(m->constants()[1].name == "right_1");
  // A $n that names no constant and no output is refused as a schema error.
  CHECK_THAT(error_of([] {
               v::update_model_dict_version(R"({"name": "Model", "submodels": {"m_0": {"name": "Add"}},
                 "connections": {"m_0": {"left": {"key": {"name": "x"}}, "output": {"key": {"name": "y"}}}},
                 "exposed_keys": ["$1"]})");
             }),
             Catch::Contains("exposed_keys[0]: auto-named key '$1' resolves to an input without a value"));
}

TEST_CASE("python-mithril: a bare model name is a dict", "[versioning][python-mithril]") {
  CHECK(v::detect_format_version("\"Relu\"") == v::kPythonMithrilVersion);
  auto m = from_dict(v::update_model_dict_version("\"sigmoid\""));
  REQUIRE(m->steps().size() == 1);
  CHECK(m->steps()[0].op->name == "sigmoid");
}

TEST_CASE("python-mithril export: one Python primitive per node, names and values kept", "[versioning][python-mithril]") {
  std::string text = v::update_model_dict_version(kSmall, v::kPythonMithrilVersion, "small.json");
  CHECK(v::detect_format_version(text) == v::kPythonMithrilVersion);
  auto d = parse(text);
  CHECK(std::string(d["name"].GetString()) == "Model");
  const auto& subs = d["submodels"];
  CHECK(std::string(subs["m_0"]["name"].GetString()) == "MatrixMultiply");
  CHECK(std::string(subs["m_1"]["name"].GetString()) == "Add");
  CHECK(std::string(subs["m_2"]["name"].GetString()) == "Relu");
  CHECK(std::string(subs["m_3"]["name"].GetString()) == "Sum");
  CHECK(subs["m_3"]["args"]["axis"].Size() == 2);  // several axes: a tuple
  CHECK(std::string(subs["m_3"]["tuples"][0].GetString()) == "axis");
  const auto& c = d["connections"];
  CHECK(std::string(c["m_0"]["left"]["key"]["name"].GetString()) == "x");
  CHECK(std::string(c["m_0"]["right"]["key"]["name"].GetString()) == "w");
  CHECK(std::string(c["m_1"]["left"]["key"]["connect"][0][0].GetString()) == "m_0");
  CHECK(c["m_1"]["right"]["key"]["value"]["tensor"][1].GetDouble() == -1.0);  // the constant, by name
  CHECK(std::string(c["m_1"]["right"]["key"]["name"].GetString()) == "c");
  CHECK(std::string(c["m_2"]["output"]["key"]["name"].GetString()) == "y");
  CHECK(std::string(d["exposed_keys"][1].GetString()) == "z");
  CHECK(std::string(d["assigned_differentiabilities"][0][0].GetString()) == "w");
  // The same through versioning::to_dict, and back up: the structure survives.
  CHECK(v::to_dict(*from_dict(kSmall), v::kPythonMithrilVersion) == text);
  auto back = from_dict(v::update_model_dict_version(text));
  CHECK(names(back->parameters()) == std::vector<std::string>{"w"});
  CHECK(back->constants().size() == 1);
  CHECK(back->outputs().size() == 2);
}

TEST_CASE("python-mithril export refuses what Python cannot express, naming every blocker", "[versioning][python-mithril]") {
  const char* model = R"({"version": "1.1.0", "name": "m",
    "inputs": {"x": {"shape": [1, 1, 8, 8], "dtype": "float64"}},
    "parameters": {"k": {"shape": [1, 1, 3, 3], "dtype": "float64", "init": "zeros"}},
    "nodes": [{"name": "conv", "op": "conv2d", "inputs": ["x", "k"], "attributes": {"stride": [1, 2]}},
              {"name": "infinite", "op": "isinf", "inputs": ["conv"]},
              {"name": "pool", "op": "max_pool2d", "inputs": ["x"],
               "attributes": {"kernel_size": [2, 2], "stride": [2, 2], "padding": [1, 1, 1, 1]}}],
    "outputs": {"y": "infinite", "p": "pool"}})";
  std::string e = error_of([&] { v::update_model_dict_version(model, v::kPythonMithrilVersion, "m.json"); });
  CHECK_THAT(e, Catch::Contains("m.json: cannot go down from 1.1.0 to python-mithril without loss: 3 constructs block it"));
  CHECK_THAT(e, Catch::Contains("node conv (stride [1,2]"));
  CHECK_THAT(e, Catch::Contains("node infinite (operator 'isinf' has no Python Mithril model"));
  CHECK_THAT(e, Catch::Contains("node pool (padding [1,1,1,1]"));
  // A submodel's parameters have dotted names, which Python cannot use as keys.
  const char* nested = R"({"version": "1.1.0", "name": "outer",
    "inputs": {"x": {"shape": [2], "dtype": "float64"}},
    "nodes": [{"name": "sub", "inputs": {"a": "x"},
               "model": {"name": "inner", "inputs": {"a": {"shape": [2], "dtype": "float64"}},
                         "parameters": {"b": {"shape": [2], "dtype": "float64", "init": "zeros"}},
                         "nodes": [{"name": "s", "op": "add", "inputs": ["a", "b"]}], "outputs": {"output": "s"}}}],
    "outputs": {"y": "sub.output"}})";
  std::string n = error_of([&] { v::to_dict(*from_dict(nested), v::kPythonMithrilVersion); });
  CHECK_THAT(n, Catch::Contains("parameter sub.b (not a Python identifier"));
}

TEST_CASE("python-mithril: a value of the wrong type is a schema error, a construct we cannot express unsupported",
          "[versioning][python-mithril]") {
  try {
    v::update_model_dict_version(R"({"name": "Model", "submodels": {"m_0": {"name": "Flatten", "args": {"start_dim": "one"}}},
      "connections": {"m_0": {"input": {"key": {"name": "x"}}, "output": {"key": {"name": "y"}}}}})", "1.0.0", "f.json");
    FAIL("accepted a string start_dim");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::schema);
    CHECK_THAT(e.what(), Catch::Contains("f.json: submodels.m_0 (Flatten): start_dim: expected an integer, got the string \"one\""));
  }
  try {
    v::update_model_dict_version(R"({"name": "Concat", "args": {"axis": null}})", "1.0.0", "g.json");
    FAIL("wrote Concat over a list input as format 1.0.0");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::unsupported);
    CHECK_THAT(e.what(), Catch::Contains("g.json: cannot be expressed in format 1.0.0: it needs 1.2.0"));
  }
}

TEST_CASE("python-mithril: RNN cells and the models repeating them, keys and refusals", "[versioning][python-mithril]") {
  // An RNNCell's keys in Python's order: input, its Indexer's 0 ($2), prev_hidden, the weights;
  // so [m_0, 6] is w_ho, and its assigned shape completes w_ho while bias_o learns d_out from it.
  auto cell = from_dict(v::update_model_dict_version(R"({"name": "Model", "submodels": {"m_0": {"name": "RNNCell"}},
    "connections": {"m_0": {"input": "x", "prev_hidden": "h", "output": {"key": {"name": "y"}}}},
    "assigned_shapes": [[[["m_0", 6], [3, 4]]]]})"));
  CHECK(names(cell->parameters()) == std::vector<std::string>{"w_hh", "w_ih", "bias_h", "w_ho", "bias_o"});
  CHECK(shape_str(cell->parameters()[3].info.shape) == "[3,4]");
  // OneToMany of two LSTM steps: one set of shared weights, the targets read for their sizes.
  auto decoder = from_dict(v::update_model_dict_version(
      R"({"name": "OneToMany", "args": {"cell_type": "LSTMCell", "max_sequence_length": 2}})"));
  CHECK(decoder->parameters().size() == 10);
  std::vector<std::string> inputs;
  for (const auto& i : decoder->inputs()) inputs.push_back(i.name);
  std::sort(inputs.begin(), inputs.end());
  CHECK(inputs == std::vector<std::string>{"initial_cell", "initial_hidden", "input", "target1"});
  // Refused, each naming the place.
  auto refusal = [](const std::string& dict) { return error_of([&] { v::update_model_dict_version(dict, "1.2.0", "r.json"); }); };
  CHECK_THAT(refusal(R"({"name": "ManyToOne", "args": {"cell_type": "GRUCell", "max_sequence_length": 3}})"),
             Catch::Contains("r.json: args.cell_type: expected RNNCell or LSTMCell, got 'GRUCell'"));
  CHECK_THAT(refusal(R"({"name": "ManyToOne", "args": {"cell_type": "RNNCell", "max_sequence_length": 1}})"),
             Catch::Contains("r.json: args.max_sequence_length: expected an integer from 2 to 1024, got the number 1"));
  CHECK_THAT(refusal(R"({"name": "OneToMany", "args": {"cell_type": "RNNCell", "max_sequence_length": 100000}})"),
             Catch::Contains("r.json: args.max_sequence_length: expected an integer from 1 to 1024, got the number 100000"));
  CHECK_THAT(refusal(R"({"name": "OneToMany", "args": {"max_sequence_length": 2}})"),
             Catch::Contains("r.json: (top level): needs args.cell_type (RNNCell or LSTMCell)"));
  CHECK_THAT(refusal(R"({"name": "Model", "submodels": {"m_0": {"name": "LSTMCell"}},
    "connections": {"m_0": {"w_hh": "w"}}})"),
             Catch::Contains("r.json: submodels.m_0: model 'LSTMCell' has no key 'w_hh' (keys: input, prev_hidden, prev_cell"));
  CHECK_THAT(refusal(R"({"name": "OneToManyInference", "args": {"cell_type": "RNNCell", "max_sequence_length": 2}})"),
             Catch::Contains("unknown Python Mithril model name: 'OneToManyInference'"));
}
