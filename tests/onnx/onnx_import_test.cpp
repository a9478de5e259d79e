// ONNX import (io/onnx.h) on the small models of testdata/onnx (written by make_fixtures.py).
#include <catch2/catch.hpp>

#include "backends/backend.h"
#include "io/onnx.h"
#include "physical/persistence.h"
#include "physical/physical_model.h"
#include "test_util.h"

using namespace mithril;
using mithril::testing::error_of;

namespace {

std::string fixture(const std::string& name) { return std::string(MITHRIL_TESTDATA) + "/onnx/" + name; }

TensorMap run(const OnnxModel& m, const TensorMap& inputs) {
  PhysicalModel p = compile_with_parameters(m.model, reference_backend(), m.parameters, "test");
  return p.evaluate(inputs);
}

Tensor floats(Shape shape, std::vector<float> values) {
  Tensor t(DType::float32, shape);
  for (std::size_t i = 0; i < values.size(); ++i) t.mutable_data_as<float>()[i] = values[i];
  return t;
}

}  // namespace

TEST_CASE("onnx import: names are kept or mapped to identifiers, named dims come from dim_param") {
  OnnxModel m = import_onnx(fixture("linear.onnx"));
  REQUIRE(m.model->inputs().size() == 1);
  CHECK(m.model->inputs()[0].name == "input_1");
  CHECK(m.model->inputs()[0].info.shape[0].symbol == "batch");
  CHECK(m.model->inputs()[0].info.shape[1].size == 4);
  std::vector<std::string> params;
  for (const auto& [name, t] : m.parameters) params.push_back(name);
  CHECK(params == std::vector<std::string>{"fc_weight", "onnx__Add_2"});
  CHECK(m.metadata.at("onnx.original_name.fc_weight") == "fc.weight");
  CHECK(m.metadata.at("onnx.original_name.input_1") == "input.1");
  CHECK(m.metadata.at("onnx.producer") == "make_fixtures");
  CHECK(m.metadata.at("onnx.doc") == "a linear layer");
  CHECK(m.metadata.at("onnx.meta.author") == "tests");
  CHECK(m.metadata.at("onnx.opset") == "13");
  REQUIRE(m.model->outputs().size() == 1);
  CHECK(m.model->outputs()[0].name == "out");

  // relu(x @ W + b) with W = arange(12)/10 as [4,3], b = [0.5, -1, 2].
  TensorMap out = run(m, {{"input_1", floats({1, 4}, {1, 0, 0, 1})}});
  const float* y = out.at("out").data_as<float>();
  CHECK(y[0] == Approx(0.0 + 0.9 + 0.5));
  CHECK(y[1] == Approx(0.1 + 1.0 - 1));
  CHECK(y[2] == Approx(0.2 + 1.1 + 2));
}

TEST_CASE("onnx import: a Shape -> Gather -> Concat -> Reshape subgraph folds to a reshape attribute") {
  OnnxModel m = import_onnx(fixture("shape_subgraph.onnx"));
  int reshapes = 0;
  for (const Step& s : m.model->steps()) {
    CHECK(s.op->name == "reshape");  // no gather/concat left: they were evaluated at import
    reshapes += s.op->name == "reshape";
  }
  CHECK(reshapes == 1);
  CHECK(m.model->outputs()[0].info.shape == to_sym_shape({2, 12}));
}

TEST_CASE("onnx import: a shape operand from a graph input needs --freeze, and works with it") {
  std::string e = error_of([] { import_onnx(fixture("dynamic_reshape.onnx")); });
  CHECK_THAT(e, Catch::Contains("node 'y' (Reshape): operand 'shape' (input 1, 'shape') must be known"));
  CHECK_THAT(e, Catch::Contains("--freeze NAME=FILE"));
  OnnxImportOptions options;
  Tensor shape(DType::int64, Shape{2});
  shape.mutable_data_as<int64_t>()[0] = 3;
  shape.mutable_data_as<int64_t>()[1] = -1;
  options.frozen_inputs.emplace_back("shape", shape);
  OnnxModel m = import_onnx(fixture("dynamic_reshape.onnx"), options);
  CHECK(m.model->inputs().size() == 1);
  CHECK(m.model->outputs()[0].info.shape == to_sym_shape({3, 4}));
  options.frozen_inputs[0].first = "nope";
  CHECK_THAT(error_of([&] { import_onnx(fixture("dynamic_reshape.onnx"), options); }),
             Catch::Contains("--freeze nope: the model has no graph input of that name"));
}

TEST_CASE("onnx import: every unsupported operator is listed once with its count and opset") {
  std::string e = error_of([] { import_onnx(fixture("unsupported.onnx")); });
  CHECK_THAT(e, Catch::Contains("unsupported ONNX operators: NonZero (opset 13) x2, Unique (opset 13) x1"));
  CHECK_THAT(e, !Catch::Contains("Relu"));
}

TEST_CASE("onnx import: bad files give one clear error") {
  CHECK_THAT(error_of([] { import_onnx(fixture("truncated.onnx")); }), Catch::Contains("not a valid ONNX model"));
  CHECK_THAT(error_of([] { import_onnx(fixture("missing.onnx")); }), Catch::Contains("cannot be read"));
  OnnxImportOptions unchecked;
  unchecked.check = false;
  CHECK_THAT(error_of([&] { import_onnx(fixture("bad_initializer.onnx"), unchecked); }),
             Catch::Contains("initializer 'w': raw data holds 8 bytes, float32[3] needs 12"));
  // ONNX's checker looks for external files first; without it our reader says the same.
  CHECK_THAT(error_of([&] { import_onnx(fixture("external_missing.onnx")); }),
             Catch::Contains("ONNX checker") && Catch::Contains("missing.bin"));
  CHECK_THAT(error_of([&] { import_onnx(fixture("external_missing.onnx"), unchecked); }),
             Catch::Contains("initializer 'w': external data file") && Catch::Contains("missing.bin' cannot be read"));
  CHECK_THAT(error_of([&] { import_onnx(fixture("external_out_of_bounds.onnx")); }),
             Catch::Contains("initializer 'w': external data [8, +12) goes past the end"));
  CHECK_THAT(error_of([&] { import_onnx(fixture("external_escape.onnx"), unchecked); }),
             Catch::Contains("must be a relative path inside the model's folder"));
}

TEST_CASE("onnx import: external data is read relative to the model's folder, at its offset") {
  OnnxModel m = import_onnx(fixture("external.onnx"));
  REQUIRE(m.parameters.size() == 1);
  const float* w = m.parameters[0].second.data_as<float>();
  CHECK(w[0] == 1);
  CHECK(w[2] == 3);
}

TEST_CASE("onnx import: an opset-6 model goes through ONNX's version converter") {
  OnnxModel m = import_onnx(fixture("old_opset6.onnx"));
  CHECK(m.metadata.at("onnx.opset") == "6");
  CHECK(m.metadata.at("onnx.converted_to_opset") == "13");
  // (x - mean) * scale / sqrt(var + eps) + bias per channel, then + bias along the last axis (Add-6's
  // broadcast=1 without axis aligns trailing axes, as numpy).
  TensorMap out = run(m, {{"x", floats({1, 2, 2, 2}, {0.5f, 1.5f, 0.5f, 0.5f, -0.5f, 1.5f, -0.5f, -0.5f})}});
  const float* y = out.at("y").data_as<float>();
  CHECK(y[0] == Approx(0).margin(1e-4));
  CHECK(y[1] == Approx(2).margin(1e-4));
  CHECK(y[4] == Approx(1).margin(1e-4));
  CHECK(y[5] == Approx(1 + 2 * 2 / std::sqrt(4 + 1e-5) + 1).margin(1e-4));
}

TEST_CASE("onnx import: an op without a converter is imported through its ONNX function body, and Constant nodes are constants") {
  OnnxModel m = import_onnx(fixture("function_op.onnx"));
  bool has_two = false;
  for (const ConstantDecl& c : m.model->constants()) has_two = has_two || c.name == "two";
  CHECK(has_two);
  std::vector<float> x{1, 2, 3, 4, -1, 0, 1, 6};
  TensorMap out = run(m, {{"x", floats({1, 2, 2, 2}, x)}});
  const float* y = out.at("y").data_as<float>();
  for (int channel = 0; channel < 2; ++channel) {
    double mean = 0, var = 0;
    for (int i = 0; i < 4; ++i) mean += x[channel * 4 + i] / 4.0;
    for (int i = 0; i < 4; ++i) var += (x[channel * 4 + i] - mean) * (x[channel * 4 + i] - mean) / 4.0;
    for (int i = 0; i < 4; ++i)
      CHECK(y[channel * 4 + i] == Approx(2 * (x[channel * 4 + i] - mean) / (std::sqrt(var) + 1e-9)).margin(1e-5));
  }
}

TEST_CASE("onnx import: hostile attribute and operand values are refused naming the node") {
  // Each once reached an unchecked index or a division by zero, in our converters or in ONNX's own
  // shape inference (testdata/onnx/make_fixtures.py).
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"max-pool-zero-stride", "attribute 'strides' holds 0: it must be positive"},
      {"average-pool-rank-mismatch", "has rank 2, expected 4 for a 2-D window"},
      {"max-pool-ceil-rank-mismatch", "has rank 1, expected 3 for a 1-D window"},
      {"conv-weight-rank-2", "the input has rank 3 and the weight rank 2: they must be equal"},
      {"range-empty-start", "operand 'start' must hold one value, it holds 0"},
      {"range-huge", "do not give a range of at most 2^31 values"},
      {"range-infinite", "do not give a range of at most 2^31 values"},
      {"split-without-outputs", "the node has no outputs"},
      {"cumsum-empty-axis", "operand 'axis' must hold one value, it holds 0"},
      {"one-hot-nan-depth", "depth nan is not a positive size"},
      {"resize-infinite-scale", "scale inf of axis 2 gives no valid size"},
      {"rnn-billion-steps", "a sequence of 1000000000 steps is longer than the 100000 unrolled at import"},
  };
  OnnxImportOptions unchecked;
  unchecked.check = false;
  // Found by the onnx fuzzer: ONNX's own inference of an opset-8 Scan without num_scan_inputs crashed.
  CHECK_THAT(error_of([&] { import_onnx(std::string(MITHRIL_TESTDATA) + "/fuzz/onnx/crash-scan-opset8-without-num-scan-inputs.onnx", unchecked); }),
             Catch::Contains("loops (Scan, Loop) are not imported"));
  for (const auto& [name, message] : cases) {
    INFO(name);
    std::string file = std::string(MITHRIL_TESTDATA) + "/fuzz/onnx/hostile-" + name + ".onnx";
    CHECK_THAT(error_of([&] { import_onnx(file, unchecked); }), Catch::Contains(message) && Catch::Contains("node"));
  }
}
