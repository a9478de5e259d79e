// The library side of the four tools: each job function on real files in a temp folder, the
// summary, the comparison and the small parsers. The apps themselves are tested as programs by
// tests/e2e/*.sh.
#include <catch2/catch.hpp>

#include "test_util.h"

#include <cmath>
#include <filesystem>
#include <limits>

#include <unistd.h>

#include "core/error.h"
#include "io/npy.h"
#include "io/npz.h"
#include "tools/common.h"
#include "tools/convert.h"
#include "tools/load.h"
#include "tools/run.h"
#include "tools/save.h"
#include "tools/summary.h"
#include "tools/tensor_print.h"
#include "zoo/zoo.h"

using namespace mithril;
using namespace mithril::tools;
using Catch::Matchers::Contains;

namespace {

using mithril::testing::TempDir;

Tensor vec(std::initializer_list<float> values) {
  Tensor t(DType::float32, {static_cast<int64_t>(values.size())});
  float* p = t.mutable_data_as<float>();
  for (float v : values) *p++ = v;
  return t;
}

template <class Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("parse_shapes and parse_key_values", "[tools]") {
  auto shapes = parse_shapes({"input=5,10", "scalar=", "z=0,3"});
  CHECK(shapes.at("input") == Shape{5, 10});
  CHECK(shapes.at("scalar") == Shape{});
  CHECK(shapes.at("z") == Shape{0, 3});
  CHECK_THAT(error_of([] { parse_shapes({"input=5,x"}); }), Contains("--shape 'input=5,x'"));
  CHECK_THAT(error_of([] { parse_shapes({"input=5,-1"}); }), Contains("non-negative"));
  CHECK_THAT(error_of([] { parse_shapes({"input=5,,1"}); }), Contains("expected NAME=N,N"));
  CHECK_THAT(error_of([] { parse_shapes({"input"}); }), Contains("expected NAME=VALUE"));
  CHECK_THAT(error_of([] { parse_shapes({"input=99999999999,99999999999"}); }), Contains("--shape"));
  CHECK_THAT(error_of([] { parse_key_values({"a=1", "a=2"}, "--arg"); }), Contains("'a' given twice"));
  CHECK(parse_key_values({"dims=10,50,1"}, "--arg").at("dims") == "10,50,1");
}

TEST_CASE("summarize_model: rows, parameter counts and totals of simple_mlp", "[tools]") {
  ModelSummary s = summarize_model(*zoo_model("simple_mlp"));
  CHECK(s.model == "simple_mlp");
  CHECK(s.parameter_tensors == 4);
  CHECK(s.parameter_count == 601);
  CHECK(s.parameter_bytes == 601 * 4);
  CHECK(s.node_count == 5);
  REQUIRE(s.rows.size() == 5);
  CHECK(s.rows[0].kind == "input");
  CHECK(s.rows[1].name == "hidden");
  CHECK(s.rows[1].kind == "model");
  CHECK(s.rows[1].what == "dense");
  CHECK(s.rows[1].shape == "float32[null,50]");
  CHECK(s.rows[1].parameters == 550);
  CHECK(s.rows[2].what == "relu");
  CHECK(s.rows[3].parameters == 51);
  std::string table = format_summary(s);
  CHECK_THAT(table, Contains("total: 601 parameters in 4 tensors"));
  CHECK_THAT(table, Contains("model dense"));

  ModelSummary linear = summarize_model(*zoo_model("linear", {{"in", "3"}, {"out", "2"}}));
  CHECK(linear.rows[1].kind == "parameter");
  CHECK(linear.rows[1].what == "glorot");
  CHECK(linear.rows[1].parameters == 6);
  CHECK(linear.parameter_count == 8);
}

TEST_CASE("summarize_model: depth expands submodels under dotted names and keeps the totals", "[tools]") {
  ModelSummary deep = summarize_model(*zoo_model("simple_mlp"), {}, 1);
  std::vector<std::string> names;
  for (const SummaryRow& row : deep.rows) names.push_back(row.name);
  CHECK(names == std::vector<std::string>{"input", "hidden", "hidden.weight", "hidden.bias", "hidden.matmul_0", "hidden.add_0", "relu_0",
                                          "output_layer", "output_layer.weight", "output_layer.bias", "output_layer.matmul_0",
                                          "output_layer.add_0", "output"});
  CHECK(deep.rows[2].parameters == 500);
  CHECK(deep.rows[4].what == "matmul");
  CHECK(deep.parameter_count == 601);
  CHECK(summarize_model(*zoo_model("simple_mlp"), {}, 0).rows.size() == 5);
}

TEST_CASE("format_tensor prints numpy-like", "[tools]") {
  CHECK(format_tensor(Tensor::scalar(DType::float64, 2.5)) == "2.5");
  CHECK(format_tensor(vec({1, 2.5f, -3})) == "[ 1., 2.5, -3.]");
  Tensor m = vec({1, 2, 3, 4, 5, 6}).reshaped({2, 3});
  CHECK(format_tensor(m) == "[[1., 2., 3.],\n [4., 5., 6.]]");
  CHECK(format_tensor(Tensor::scalar(DType::bool_, 1)) == "True");
  CHECK(format_tensor(Tensor::scalar(DType::int64, -7)) == "-7");
  CHECK(format_tensor(vec({0.1f})) == "[0.1]");  // float32 in its shortest form, not 0.100000001
  Tensor big(DType::int32, {2000});
  std::string s = format_tensor(big);
  CHECK(s == "[0, 0, 0, ..., 0, 0, 0]");
  CHECK(format_tensor(Tensor(DType::float32, {0, 3})) == "[]");
}

TEST_CASE("compare_outputs: differences, tolerances, NaN, missing and extra outputs", "[tools]") {
  NamedTensors a{{"y", vec({1, 2, 4})}};
  CompareResult same = compare_outputs(a, a, 0, 0);
  CHECK(same.pass);
  CHECK(same.outputs[0].max_abs == 0);
  CHECK(same.outputs[0].max_rel == 0);

  NamedTensors b{{"y", vec({1, 2.5f, 4})}};
  CompareResult diff = compare_outputs(a, b, 0, 0);
  CHECK_FALSE(diff.pass);
  CHECK(diff.outputs[0].max_abs == 0.5);
  CHECK(diff.outputs[0].max_rel == Approx(0.2));
  CHECK(diff.outputs[0].mismatches == 1);
  CHECK(compare_outputs(a, b, 0.5, 0).pass);
  CHECK(compare_outputs(a, b, 0, 0.2).pass);
  CHECK_FALSE(compare_outputs(a, b, 0.4, 0.01).pass);
  CHECK_THAT(format_compare(diff), Contains("FAIL: 1 values beyond tolerance"));

  float nan = std::numeric_limits<float>::quiet_NaN();
  // NaN against NaN: a mismatch unless equal_nan; counted either way.
  CompareResult both_nan = compare_outputs({{"y", vec({nan, 1})}}, {{"y", vec({nan, 1})}}, 0, 0);
  CHECK_FALSE(both_nan.pass);
  CHECK(both_nan.outputs[0].nan_a == 1);
  CHECK(both_nan.outputs[0].nan_b == 1);
  CHECK(both_nan.outputs[0].nan_mismatches == 1);
  CHECK_THAT(format_compare(both_nan), Contains("1 of them NaN against a number or NaN (--equal-nan)") && Contains("NaN: 1 here, 1 there"));
  CompareResult equal_nan = compare_outputs({{"y", vec({nan, 1})}}, {{"y", vec({nan, 1})}}, 0, 0, true);
  CHECK(equal_nan.pass);
  CHECK_THAT(format_compare(equal_nan), Contains("NaN: 1 here, 1 there, equal where both"));
  // NaN against a number never passes, whatever the tolerance, and does not turn the differences into inf.
  CompareResult one_nan = compare_outputs({{"y", vec({nan, 1, 2})}}, {{"y", vec({0, 1, 2.5f})}}, 1e9, 0, true);
  CHECK_FALSE(one_nan.pass);
  CHECK(one_nan.outputs[0].max_abs == 0.5);
  CHECK(one_nan.outputs[0].max_rel == Approx(0.2));
  CHECK(one_nan.outputs[0].nan_mismatches == 1);
  CHECK(one_nan.outputs[0].mismatches == 1);

  CompareResult shape = compare_outputs(a, {{"y", vec({1, 2})}}, 0, 0);
  CHECK_FALSE(shape.pass);
  CHECK(shape.outputs[0].problem == "shape [3] vs [2]");
  CompareResult names = compare_outputs(a, {{"z", vec({1, 2, 4})}}, 0, 0);
  CHECK_FALSE(names.pass);
  REQUIRE(names.outputs.size() == 2);
  CHECK(names.outputs[0].problem == "missing in the other model");
  CHECK(names.outputs[1].problem == "only in the other model");
}

TEST_CASE("random_inputs: seeded, shapes from --shape or the declaration, missing ones listed", "[tools]") {
  auto model = zoo_model("simple_mlp");
  NamedTensors x = random_inputs(*model, {{"input", {5, 10}}}, 3);
  NamedTensors y = random_inputs(*model, {{"input", {5, 10}}}, 3);
  NamedTensors z = random_inputs(*model, {{"input", {5, 10}}}, 4);
  REQUIRE(x.size() == 1);
  CHECK(x[0].second.shape() == Shape{5, 10});
  CHECK(x[0].second.bitwise_equal(y[0].second));
  CHECK_FALSE(x[0].second.bitwise_equal(z[0].second));
  CHECK_THAT(error_of([&] { random_inputs(*model, {}, 0); }), Contains("input float32[null,10] (e.g. --shape input=N,10)"));
  CHECK_THAT(error_of([&] { random_inputs(*model, {{"other", {1}}}, 0); }), Contains("has no input 'other'"));
  auto linear = zoo_model("linear");
  CHECK_THAT(error_of([&] { random_inputs(*linear, {}, 0); }), Contains("--random needs the shape"));
}

TEST_CASE("save, convert, load and run: the seed's workflow through the tool functions", "[tools]") {
  TempDir dir;
  SaveOptions save;
  save.source = "simple_mlp";
  save.outputs = {dir / "model.json"};
  save.params_out = dir / "params.npz";
  save.seed = 11;
  SaveReport saved = save_model_files(save);
  CHECK(saved.model == "simple_mlp");
  CHECK(saved.parameter_count == 601);
  REQUIRE(saved.written.size() == 2);
  CHECK(saved.written[0].kind == "structure json");
  CHECK(saved.written[1].bytes > 2404);
  CHECK_THAT(format_save_report(saved), Contains("declared initializers, seed 11"));

  ConvertOptions convert;
  convert.input = dir / "model.json";
  convert.params_path = dir / "params.npz";
  convert.output = dir / "model.mithril";
  ConvertReport converted = convert_artifact(convert);
  CHECK(converted.tensor_count == 4);
  convert.output = dir / "model.mbin";
  convert_artifact(convert);

  LoadOptions load;
  load.path = dir / "model.mbin";
  load.verify = true;
  LoadReport loaded = inspect_artifact(load);
  CHECK(loaded.is_model);
  CHECK(loaded.has_parameters);
  CHECK(loaded.verified);
  CHECK(loaded.summary.parameter_count == 601);
  CHECK_THAT(format_load_report(loaded), Contains("4 of 4 present"));
  CHECK_THAT(load_report_json(loaded), Contains("\"parameters\": 601"));

  RunOptions run;
  run.model = dir / "model.json";
  run.params_path = dir / "params.npz";
  run.random = true;
  run.seed = 2;
  run.shapes = {"input=6,10"};
  run.compare = dir / "model.mbin";
  run.output = dir / "out.npz";
  RunReport ran = run_model(run);
  REQUIRE(ran.compare);
  CHECK(ran.compare->pass);
  CHECK(ran.compare->outputs[0].max_abs == 0);
  REQUIRE(ran.outputs.size() == 1);
  CHECK(ran.outputs[0].second.shape() == Shape{6, 1});
  NamedTensors written = read_npz(dir / "out.npz");
  CHECK(written[0].second.bitwise_equal(ran.outputs[0].second));
  CHECK_THAT(run_report_json(ran, false), Contains("\"max_abs_diff\": 0.0"));

  // Structure only: refused without init; with init it equals the values saved with the same seed.
  RunOptions bare = run;
  bare.params_path.clear();
  bare.output.clear();
  CHECK_THAT(error_of([&] { run_model(bare); }), Contains("structure only"));
  bare.init = true;
  bare.seed = 11;
  CHECK(run_model(bare).compare->pass);

  // --dtype float64 casts and reports it.
  RunOptions wide = run;
  wide.dtype = "float64";
  wide.output.clear();
  RunReport w = run_model(wide);
  CHECK(w.outputs[0].second.dtype() == DType::float64);
  REQUIRE(w.casts.size() == 2);
  CHECK(w.casts[0].what == "parameters");
  CHECK(w.casts[0].count == 4);
  CHECK(w.casts[1].what == "inputs");
}

TEST_CASE("read_inputs: npy feeds the only input, and names and shapes are checked against the model", "[tools]") {
  TempDir dir;
  auto model = zoo_model("simple_mlp");
  write_npy(dir / "x.npy", Tensor(DType::float32, {2, 10}));
  NamedTensors x = read_inputs(dir / "x.npy", *model);
  REQUIRE(x.size() == 1);
  CHECK(x[0].first == "input");
  write_npz(dir / "bad.npz", {{"input", Tensor(DType::float32, {2, 9})}});
  CHECK_THAT(error_of([&] { read_inputs(dir / "bad.npz", *model); }), Contains("bad.npz: input 'input': shape [2,9], expected [null,10]"));
  write_npz(dir / "none.npz", {});
  CHECK_THAT(error_of([&] { read_inputs(dir / "none.npz", *model); }), Contains("missing input input"));
}

TEST_CASE("convert refuses impossible requests before writing", "[tools]") {
  TempDir dir;
  SaveOptions save;
  save.source = "linear";
  save.outputs = {dir / "model.json"};
  save_model_files(save);
  ConvertOptions c;
  c.input = dir / "model.json";
  c.output = dir / "model.mithril";
  CHECK_THAT(error_of([&] { convert_artifact(c); }), Contains("structure only"));
  CHECK_FALSE(std::filesystem::exists(dir / "model.mithril"));
  c.output.clear();
  CHECK_THAT(error_of([&] { convert_artifact(c); }), Contains("nothing to write"));
  SaveOptions none;
  none.source = "linear";
  CHECK_THAT(error_of([&] { save_model_files(none); }), Contains("nothing to write"));
  none.params_out = "-";
  none.outputs = {"-"};
  CHECK_THAT(error_of([&] { save_model_files(none); }), Contains("only one output can be '-'"));
}
