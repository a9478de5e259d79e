// The format history and its driver: golden before/after pairs for every step, idempotence,
// refusals that list every offending construct, and the up/down mechanics on a test table.
#include <catch2/catch.hpp>

#include <filesystem>
#include <regex>

#include "core/error.h"
#include "io/atomic_file.h"
#include "backends/backend.h"
#include "io/model_json.h"
#include "physical/physical_model.h"
#include "versioning/format_history.h"
#include "test_util.h"

using namespace mithril;
using namespace mithril::versioning;
namespace fs = std::filesystem;

namespace {

using mithril::testing::error_of;

// Golden pairs live in testdata/versioning/<from>_to_<to>/<name>.before.json / .after.json.
std::vector<fs::path> golden_befores(const std::string& step) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(fs::path(MITHRIL_TESTDATA) / "versioning" / step)) {
    std::string name = entry.path().filename().string();
    if (name.size() > 12 && name.substr(name.size() - 12) == ".before.json") out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("every step of the library's history has golden before/after pairs", "[versioning][golden]") {
  const FormatHistory& history = format_history();
  REQUIRE(history.versions.front() == kPythonMithrilVersion);
  REQUIRE(history.versions.back() == kModelFormatVersion);
  REQUIRE(history.steps.size() + 1 == history.versions.size());
  for (const FormatStep& step : history.steps) {
    INFO("step " << step.from << " -> " << step.to);
    CHECK(fs::exists(fs::path(MITHRIL_TESTDATA) / ".." / step.file));
    CHECK(golden_befores(step.from + "_to_" + step.to).size() >= 5);
  }
}

TEST_CASE("python-mithril -> 1.0.0 golden pairs migrate byte for byte", "[versioning][golden]") {
  for (const fs::path& before : golden_befores("python-mithril_to_1.0.0")) {
    std::string stem = before.string().substr(0, before.string().size() - 12);
    INFO(before.filename().string());
    std::string input = read_file(before.string());
    std::string expected = read_file(stem + ".after.json");
    CHECK(detect_format_version(input) == kPythonMithrilVersion);
    std::string migrated = update_model_dict_version(input, "1.0.0", before.filename().string());
    CHECK(migrated == expected);
    // The result is canonical (what to_dict writes) and migrating it again changes nothing.
    CHECK(mithril::to_dict(*from_dict(migrated), "1.0.0") == migrated);
    CHECK(update_model_dict_version(migrated, "1.0.0") == migrated);
  }
}

TEST_CASE("1.0.0 -> 1.1.0 golden pairs migrate byte for byte, and back without loss", "[versioning][golden]") {
  for (const fs::path& before : golden_befores("1.0.0_to_1.1.0")) {
    std::string stem = before.string().substr(0, before.string().size() - 12);
    INFO(before.filename().string());
    std::string input = read_file(before.string());
    std::string expected = read_file(stem + ".after.json");
    std::string up = update_model_dict_version(input, "1.1.0");
    CHECK(up == expected);
    CHECK(mithril::to_dict(*from_dict(up), "1.1.0") == up);
    CHECK(update_model_dict_version(up, "1.1.0") == up);
    CHECK(update_model_dict_version(up, "1.0.0") == input);  // lossless round trip down
  }
}

TEST_CASE("1.1.0 -> 1.2.0 golden pairs migrate byte for byte, and back without loss", "[versioning][golden]") {
  for (const fs::path& before : golden_befores("1.1.0_to_1.2.0")) {
    std::string stem = before.string().substr(0, before.string().size() - 12);
    INFO(before.filename().string());
    std::string input = read_file(before.string());
    std::string expected = read_file(stem + ".after.json");
    std::string up = update_model_dict_version(input, "1.2.0");
    CHECK(up == expected);
    CHECK(to_dict(*from_dict(up)) == up);
    CHECK(update_model_dict_version(up, "1.1.0") == input);  // lossless round trip down
  }
}

TEST_CASE("1.2.0 -> 1.1.0 refuses list inputs and concat axis null, listing every one", "[versioning][down]") {
  std::string dict = R"J({"version": "1.2.0", "name": "lists",
    "inputs": {"xs": {"shape": null, "dtype": "float64", "list": true}, "y": {"shape": [2], "dtype": "float64"}},
    "nodes": [{"name": "a", "op": "concat", "inputs": ["xs"], "attributes": {"axis": 0}},
              {"name": "b", "op": "concat", "inputs": ["a", "y"], "attributes": {"axis": null}}],
    "outputs": {"out": "b"}})J";
  CHECK(error_of([&] { update_model_dict_version(dict, "1.1.0", "l.json"); }) ==
        "l.json: cannot go down from 1.2.0 to 1.1.0 without loss: 2 constructs block it: "
        "inputs.xs (a list input (format 1.2.0)), nodes[1].attributes.axis (concat with axis null (format 1.2.0))");
  CHECK_THAT(error_of([&] { update_model_dict_version(dict, "1.0.0", "l.json"); }), Catch::Contains("from 1.2.0 to 1.1.0"));
  CHECK_THAT(error_of([&] { mithril::to_dict(*from_dict(dict), "1.1.0"); }),
             Catch::Contains("it uses list input 'xs', node 'b' (concat with axis null) (format 1.2.0)"));
}

TEST_CASE("a list input runs with as many elements as are given", "[versioning][lists]") {
  // Python Mithril's Concat over a list given when the model runs: a list input (format 1.2.0).
  std::string dict = update_model_dict_version(R"({"name": "Concat", "args": {"axis": null}})");
  auto model = from_dict(dict);
  REQUIRE(model->inputs().size() == 1);
  CHECK(model->inputs()[0].list);
  CHECK_THAT(dict, Catch::Contains(R"("list": true)"));
  CompileOptions options;
  options.shapes = {{"input_0", {2, 1}}, {"input_1", {3}}};
  PhysicalModel pm = PhysicalModel::compile(model, reference_backend(), options);
  Tensor a(DType::float64, {2, 1}), b(DType::float64, {3});
  for (int i = 0; i < 2; ++i) a.mutable_data_as<double>()[i] = i + 1;
  for (int i = 0; i < 3; ++i) b.mutable_data_as<double>()[i] = 10 + i;
  Tensor out = pm.evaluate({{"input_0", a}, {"input_1", b}}).at("output");
  REQUIRE(out.shape() == Shape{5});
  CHECK(out.data_as<double>()[0] == 1);
  CHECK(out.data_as<double>()[4] == 12);
  // No element given: the error says how to name them.
  CHECK_THAT(error_of([&] { PhysicalModel::compile(model, reference_backend(), CompileOptions{}); }),
             Catch::Contains("list input 'input' has no element: give them as input_0, input_1, ..."));
  // Only a variadic operator input takes a list.
  CHECK_THAT(error_of([] {
               from_dict(R"({"version": "1.2.0", "name": "m", "inputs": {"xs": {"shape": null, "list": true}},
                 "nodes": [{"name": "r", "op": "relu", "inputs": ["xs"]}], "outputs": {"y": "r"}})");
             }),
             Catch::Contains("input 'xs' is a list of tensors: only a variadic operator input takes one"));
}

TEST_CASE("Python's list forms of Concat: a ToList of connections and the older Concat(n)", "[versioning][lists]") {
  // A list of connections: Python inserts a ToList(n) whose list goes to Concat's input.
  std::string to_list = update_model_dict_version(R"({"name": "Model", "submodels": {
      "m_0": {"name": "ToList", "args": {"n": 2}}, "m_1": {"name": "Concat", "args": {"axis": 1}}},
    "connections": {"m_0": {"input1": "a", "input2": "b"},
                    "m_1": {"input": {"key": {"connect": [["m_0", "output"]]}}, "output": {"key": {"name": "y"}}}},
    "exposed_keys": ["y"]})", "1.0.0");  // a fixed number of inputs: format 1.0.0 expresses it
  CHECK_THAT(to_list, Catch::Contains(R"("op": "concat",)"));
  CHECK_THAT(to_list, Catch::Contains(R"("inputs": ["a", "b"],)"));
  // Older dicts: Concat(n) with keys input1..inputN.
  std::string old = update_model_dict_version(R"({"name": "Concat", "args": {"n": 3, "axis": 0}})", "1.0.0");
  CHECK_THAT(old, Catch::Contains(R"("inputs": ["input1", "input2", "input3"])"));
  // A tensor where a list is expected is refused, naming the model.
  CHECK_THAT(error_of([] {
               update_model_dict_version(R"({"name": "Model", "submodels": {"m_0": {"name": "Relu"}, "m_1": {"name": "Concat"}},
                 "connections": {"m_0": {"input": "x"}, "m_1": {"input": {"key": {"connect": [["m_0", "output"]]}}}}})", kModelFormatVersion, "t.json");
             }),
             Catch::Contains("t.json: submodels.m_0: its output, a tensor, is connected to a key that takes a list of tensors"));
  // Back to Python: a list input stays Concat's input.
  std::string back = versioning::to_dict(*from_dict(update_model_dict_version(R"({"name": "Concat", "args": {"axis": null}})")), kPythonMithrilVersion);
  CHECK_THAT(back, Catch::Contains(R"("name": "Concat")"));
  CHECK_THAT(back, Catch::Contains(R"("input": {)"));
  // Python's dict_to_model cannot read the ToList its model_to_dict writes: refused, with the reason.
  CHECK_THAT(error_of([&] { versioning::to_dict(*from_dict(to_list), kPythonMithrilVersion); }),
             Catch::Contains("concat of several values (Python Mithril's dict_to_model cannot read the ToList"));
}

TEST_CASE("python-mithril dicts migrate to the current format in one call", "[versioning]") {
  std::string current = update_model_dict_version(R"({"name": "Relu"})");
  CHECK(detect_format_version(current) == kModelFormatVersion);
  CHECK(to_dict(*from_dict(current)) == current);
}

TEST_CASE("1.1.0 -> 1.0.0 refuses a dict with functions, listing every blocking construct", "[versioning][down]") {
  std::string dict = R"J({"version": "1.1.0", "name": "uses_function",
    "inputs": {"x": {"shape": [null, 4], "dtype": "float64"}},
    "nodes": [{"name": "a", "op": "fn.scaled_relu", "inputs": ["x"], "attributes": {"factor": 3.0}},
              {"name": "b", "op": "relu", "inputs": ["a"]}],
    "outputs": {"y": "b"},
    "functions": {"fn.scaled_relu": {"version": 1, "inputs": ["x"], "attributes": {"factor": 1.0},
                  "nodes": [{"name": "r", "op": "relu", "inputs": ["x"]}, {"name": "s", "op": "multiply", "inputs": ["r", "@factor"]}],
                  "output": "s"}}})J";
  CHECK(error_of([&] { update_model_dict_version(dict, "1.0.0", "f.json"); }) ==
        "f.json: cannot go down from 1.1.0 to 1.0.0 without loss: 2 constructs block it: "
        "functions[\"fn.scaled_relu\"] (a function definition (format 1.1.0)), nodes[0].op (uses function 'fn.scaled_relu')");
}

TEST_CASE("a current dict comes back byte-identical, even when not canonical", "[versioning]") {
  std::string text = "{\"version\": \"1.2.0\", \"name\": \"m\", \"inputs\": {\"x\": {\"shape\": [2]}}, "
                     "\"nodes\": [], \"outputs\": {\"y\": \"x\"}}";
  CHECK(update_model_dict_version(text) == text);
  CHECK(detect_format_version(text) == "1.2.0");
  CHECK(update_model_dict_version(text, kModelFormatVersion) == text);
}

TEST_CASE("unknown Python model names are all listed with their JSON paths", "[versioning][errors]") {
  std::string dict = R"({"name": "Model", "submodels": {"m1": {"name": "Unique"}, "m2": {"name": "Relu"},
    "m3": {"name": "Layer", "args": {"activation": "Swish"}}, "m4": {"name": "MLP", "args": {"activations": ["relu", {"name": "Mish"}]}}}})";
  std::string what = error_of([&] { update_model_dict_version(dict, kModelFormatVersion, "old.json"); });
  CHECK_THAT(what, Catch::Contains("old.json: unknown Python Mithril model names: 'Unique' at submodels.m1.name, "
                                   "'Swish' at submodels.m3.args.activation, 'Mish' at submodels.m4.args.activations[1].name"));
  CHECK_THAT(what, !Catch::Contains("'Relu'"));
}

TEST_CASE("python-mithril step refusals name the construct and its place", "[versioning][errors]") {
  CHECK_THAT(error_of([] {
               update_model_dict_version(R"({"name": "Model", "submodels": {"m1": {"name": "Sum"}},
                 "connections": {"m1": {"input": "x", "axis": {"key": {"connect": [["m9", "output"]]}}}}})");
             }),
             Catch::Contains("connections.m1.axis.key.connect[0]: no earlier submodel 'm9'"));
  CHECK_THAT(error_of([] { update_model_dict_version(R"({"name": "Relu", "version": 3})"); }),
             Catch::Contains("version: expected a version string"));
  CHECK_THAT(error_of([] { update_model_dict_version(R"({"is_train_model": true, "model": {"name": "Relu"}, "name": "x"})"); }),
             Catch::Contains("TrainModel"));
  CHECK_THAT(error_of([] { update_model_dict_version(R"({"name": "Linear", "connections": {}, "args": {}}]})"); }),
             Catch::Contains("invalid JSON at line 1"));
}

TEST_CASE("Python names are case-insensitive and `$n` keys become identifiers", "[versioning]") {
  std::string out = update_model_dict_version(R"({"name": "model", "submodels": {"a": "relu", "b": {"name": "TANH"}},
    "connections": {"a": {"input": "$1"}, "b": {"input": {"key": {"connect": [["a", "output"]]}}, "output": "y"}}})");
  auto model = from_dict(out);
  REQUIRE(model->inputs().size() == 1);
  CHECK(model->inputs()[0].name == "_1");
  REQUIRE(model->outputs().size() == 1);
  CHECK(model->outputs()[0].name == "y");
}

TEST_CASE("unknown and newer versions are refused naming the known ones", "[versioning][errors]") {
  std::string newer = R"({"version": "7.0.0", "name": "m"})";
  CHECK_THAT(error_of([&] { update_model_dict_version(newer, kModelFormatVersion, "n.json"); }),
             Catch::Contains("n.json: format version '7.0.0' is not one this library knows (python-mithril, 1.0.0, 1.1.0, 1.2.0)"));
  CHECK_THAT(error_of([] { update_model_dict_version(R"({"name": "Relu"})", "0.5.0"); }),
             Catch::Contains("'0.5.0' is not one this library knows"));
}

// A test table with one more (made-up) version, 1.3.0, adding an "extras" section: a new version
// is one row, one step up and a step down that refuses with every blocking construct.
namespace {

std::string set_version(std::string json, const std::string& from, const std::string& to) {
  return std::regex_replace(json, std::regex("\"version\": \"" + from + "\""), "\"version\": \"" + to + "\"");
}

FormatHistory test_history() {
  FormatHistory h = format_history();
  h.versions.push_back("1.3.0");
  FormatStep step;
  step.from = "1.2.0";
  step.to = "1.3.0";
  step.file = "tests/versioning/versioning_test.cpp";
  step.up = [](const std::string& json, const std::string&) {
    std::string out = set_version(to_dict(*from_dict(json)), "1.2.0", "1.3.0");
    return out.substr(0, out.rfind("\n}")) + ",\n  \"extras\": {}\n}\n";
  };
  step.down = [](const std::string& json, const std::string& source) {
    std::vector<Blocker> blockers;
    std::smatch m;
    std::string rest = json;
    while (std::regex_search(rest, m, std::regex("\"fn_([a-z]+)\""))) {
      blockers.push_back({"extras.fn_" + m[1].str(), "an extra (format 1.3.0)"});
      rest = m.suffix();
    }
    throw_blockers(source, "1.3.0", "1.2.0", blockers);
    std::string out = set_version(json, "1.3.0", "1.2.0");
    return std::regex_replace(out, std::regex(",\n  \"extras\": \\{\\}\n"), "\n");
  };
  h.steps.push_back(step);
  h.current = "1.3.0";
  // And a step with no way down, to show that such a step is refused before any step runs.
  h.steps[0].down = nullptr;
  h.steps[0].no_down_reason = "no way down in this test table";
  return h;
}

}  // namespace

TEST_CASE("the driver composes steps one at a time, up and down", "[versioning][driver]") {
  FormatHistory h = test_history();
  CHECK(migration_path(h, kPythonMithrilVersion, "1.3.0") ==
        std::vector<std::string>{"python-mithril", "1.0.0", "1.1.0", "1.2.0", "1.3.0"});
  CHECK(migration_path(h, "1.3.0", "1.0.0") == std::vector<std::string>{"1.3.0", "1.2.0", "1.1.0", "1.0.0"});

  std::string python = R"({"name": "Relu"})";
  std::string v120 = update_model_dict_version(python);
  std::string v100 = update_model_dict_version(python, "1.0.0");
  std::string v130 = update_model_dict_version(h, python, "1.3.0");  // four steps
  CHECK(detect_format_version(v130) == "1.3.0");
  CHECK_THAT(v130, Catch::Contains("\"extras\": {}"));
  CHECK(update_model_dict_version(h, v130, "1.3.0") == v130);  // already there: unchanged
  // Lossless down, one step and two steps.
  CHECK(update_model_dict_version(h, v130, "1.2.0") == v120);
  CHECK(update_model_dict_version(h, v130, "1.0.0") == v100);
  CHECK(update_model_dict_version(h, v120, "1.3.0") == v130);

  // A dict using the new constructs: every blocker is listed.
  std::string blocked = v130.substr(0, v130.rfind("\"extras\"")) + "\"extras\": {\"fn_gelu\": 1, \"fn_swish\": 2}\n}\n";
  CHECK(error_of([&] { update_model_dict_version(h, blocked, "1.2.0", "f.json"); }) ==
        "f.json: cannot go down from 1.3.0 to 1.2.0 without loss: 2 constructs block it: extras.fn_gelu (an extra "
        "(format 1.3.0)), extras.fn_swish (an extra (format 1.3.0))");
  // Down past a step that has no down function at all: refused before any step runs.
  CHECK_THAT(error_of([&] { update_model_dict_version(h, v130, kPythonMithrilVersion, "f.json"); }),
             Catch::Contains("cannot go down from 1.0.0 to python-mithril: no way down in this test table"));
  // The library's own table goes all the way down to a Python Mithril dict.
  CHECK(detect_format_version(update_model_dict_version(v120, kPythonMithrilVersion)) == kPythonMithrilVersion);
}
