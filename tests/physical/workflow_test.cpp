// The seed's "Example: Complete Serialization Workflow", in C++.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "graph/builder.h"
#include "io/model_json.h"
#include "physical/physical_model.h"

using namespace mithril;
using Catch::Matchers::Contains;

namespace {

std::shared_ptr<Model> build_simple_mlp() {
  auto model = std::make_shared<Model>("simple_mlp");
  Value x = model->input("input", {Dim::any(), Dim::known(10)});
  Value h = relu(dense(x, 50, "hidden"));
  Value y = dense(h, 1, "output_layer");
  model->output("output", y);
  return model;
}

Tensor random_tensor(const Shape& shape, uint64_t seed) {
  return initialize(Initializer::normal(1.0), DType::float32, shape, seed, "test_input");
}

CompileOptions seeded(uint64_t seed) {
  CompileOptions options;
  options.seed = seed;
  return options;
}

CompileOptions with_dtype(DType dtype, uint64_t seed) {
  CompileOptions options = seeded(seed);
  options.dtype = dtype;
  return options;
}

CompileOptions with_shape(const std::string& input, Shape shape) {
  CompileOptions options;
  options.shapes[input] = std::move(shape);
  return options;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(a.value_at(i) - b.value_at(i)));
  return m;
}

}  // namespace

TEST_CASE("complete serialization workflow: reloaded model gives exactly the same outputs", "[physical][workflow]") {
  auto dir = std::filesystem::temp_directory_path() / "mithril_workflow_test";
  std::filesystem::create_directories(dir);
  std::string structure = (dir / "model_structure.json").string();

  // 1-2. Create the model and save its structure.
  auto model = build_simple_mlp();
  save_model_json(*model, structure);

  // 3-4. Compile and initialize parameters (normal * 0.1, seeded).
  const Backend& backend = reference_backend();
  PhysicalModel compiled = PhysicalModel::compile(model, backend);
  std::vector<std::string> names = compiled.get_parameter_names();
  REQUIRE(names == std::vector<std::string>{"hidden.weight", "hidden.bias", "output_layer.weight", "output_layer.bias"});
  REQUIRE(compiled.get_shape("hidden.weight") == Shape{10, 50});
  TensorMap params;
  for (const auto& name : names)
    params[name] = initialize(Initializer::normal(0.1), DType::float32, compiled.get_shape(name), 42, name);
  compiled.set_values(params);

  // 6. Rebuild from the file and copy the parameters.
  auto rebuilt_model = load_model_json(structure);
  PhysicalModel rebuilt = PhysicalModel::compile(rebuilt_model, backend);
  for (const auto& name : compiled.get_parameter_names()) rebuilt.set_value(name, compiled.get_value(name));

  // 7. Same input, same outputs: max difference exactly 0.
  Tensor input = random_tensor({5, 10}, 7);
  Tensor original = compiled({{"input", input}}).at("output");
  Tensor again = rebuilt({{"input", input}}).at("output");
  REQUIRE(original.shape() == Shape{5, 1});
  REQUIRE(max_abs_diff(original, again) == 0.0);
  REQUIRE(original.bitwise_equal(again));
  std::filesystem::remove_all(dir);
}

TEST_CASE("evaluation matches a hand computation", "[physical]") {
  auto model = std::make_shared<Model>("affine");
  Value x = model->input("x", {Dim::named("batch"), Dim::known(2)}, DType::float64);
  Value w = model->parameter("w", {Dim::known(2), Dim::known(2)}, DType::float64);
  Value b = model->parameter("b", {Dim::known(2)}, DType::float64);
  model->output("y", relu(matmul(x, w) + b));
  PhysicalModel pm = PhysicalModel::compile(model, reference_backend());
  Tensor wv(DType::float64, {2, 2}), bv(DType::float64, {2}), xv(DType::float64, {3, 2});
  double wd[] = {1, -1, 2, 0.5}, bd[] = {0.5, -1}, xd[] = {1, 2, -3, 1, 0, 0};
  std::copy(wd, wd + 4, wv.mutable_data_as<double>());
  std::copy(bd, bd + 2, bv.mutable_data_as<double>());
  std::copy(xd, xd + 6, xv.mutable_data_as<double>());
  pm.set_values({{"w", wv}, {"b", bv}});
  Tensor y = pm({{"x", xv}}).at("y");
  // x @ w + b: [1*1+2*2+0.5, 1*-1+2*0.5-1] = [5.5, -1] -> relu [5.5, 0]; [-3+2+0.5, 3+0.5-1] = [-0.5, 2.5] -> [0, 2.5]; [0.5, -1] -> [0.5, 0]
  std::vector<double> expected = {5.5, 0, 0, 2.5, 0.5, 0};
  REQUIRE(y.shape() == Shape{3, 2});
  for (int i = 0; i < 6; ++i) REQUIRE(y.data_as<double>()[i] == expected[i]);
}

TEST_CASE("compile and evaluate report bad shapes and names", "[physical]") {
  auto model = build_simple_mlp();
  PhysicalModel pm = PhysicalModel::compile(model, reference_backend());
  REQUIRE_THROWS_WITH(pm.set_value("hidden.weight", Tensor(DType::float32, {50, 10})),
                      Contains("parameter 'hidden.weight': shape [50,10], expected [10,50]"));
  REQUIRE_THROWS_WITH(pm.set_value("hidden.wieght", Tensor(DType::float32, {10, 50})), Contains("unknown parameter 'hidden.wieght'"));
  REQUIRE_THROWS_WITH(pm({{"input", Tensor(DType::float32, {5, 9})}}), Contains("input 'input': shape [5,9], expected [null,10]"));
  REQUIRE_THROWS_WITH(pm(TensorMap{}), Contains("missing input input of model"));
  REQUIRE_THROWS_WITH(PhysicalModel::compile(model, reference_backend(), with_shape("inputs", {5, 10})), Contains("no input 'inputs'"));
}

TEST_CASE("initializers are seeded and reproducible", "[physical]") {
  auto model = build_simple_mlp();
  PhysicalModel a = PhysicalModel::compile(model, reference_backend(), seeded(3));
  PhysicalModel b = PhysicalModel::compile(model, reference_backend(), seeded(3));
  PhysicalModel c = PhysicalModel::compile(model, reference_backend(), seeded(4));
  REQUIRE(a.get_value("hidden.weight").bitwise_equal(b.get_value("hidden.weight")));
  REQUIRE_FALSE(a.get_value("hidden.weight").bitwise_equal(c.get_value("hidden.weight")));
  // Biases default to zeros; glorot weights have std sqrt(2/(10+50)).
  const Tensor& bias = a.get_value("hidden.bias");
  for (int64_t i = 0; i < bias.numel(); ++i) REQUIRE(bias.value_at(i) == 0.0);
  // Normal(0, std) samples, within 5 standard errors of the sample size n: the mean (std/sqrt(n)),
  // the root mean square (relative 1/sqrt(2n)) and the share within one std (0.6827, which a
  // uniform of the same std would miss: 0.577).
  auto check_normal = [](const Tensor& t, double std) {
    double n = static_cast<double>(t.numel()), sum = 0, sq = 0, inside = 0;
    for (int64_t i = 0; i < t.numel(); ++i) {
      sum += t.value_at(i);
      sq += t.value_at(i) * t.value_at(i);
      inside += std::abs(t.value_at(i)) < std ? 1 : 0;
    }
    INFO(n << " samples of normal(0, " << std << ")");
    CHECK(std::abs(sum / n) < 5 * std / std::sqrt(n));
    CHECK(std::abs(std::sqrt(sq / n) / std - 1) < 5 / std::sqrt(2 * n));
    CHECK(std::abs(inside / n - 0.6827) < 5 * std::sqrt(0.6827 * 0.3173 / n));
  };
  check_normal(a.get_value("hidden.weight"), std::sqrt(2.0 / 60));  // 500 values: 5 standard errors of the RMS are 16%
  // Enough values to tell the law apart from near misses (5 standard errors of the RMS are 0.8%).
  check_normal(initialize(Initializer::glorot(), DType::float64, {200, 800}, 7, "w"), std::sqrt(2.0 / 1000));
  for (auto init : {Initializer::ones(), Initializer::uniform(-2, -1), Initializer::normal(0.5)}) {
    Tensor t = initialize(init, DType::float64, {1000}, 1, "p");
    REQUIRE(t.bitwise_equal(initialize(init, DType::float64, {1000}, 1, "p")));
  }
  Tensor u = initialize(Initializer::uniform(-2, -1), DType::float64, {1000}, 1, "p");
  for (int64_t i = 0; i < u.numel(); ++i) REQUIRE((u.value_at(i) >= -2 && u.value_at(i) < -1));
  REQUIRE(Initializer::parse("uniform(-1,1)") == Initializer::uniform(-1, 1));
  REQUIRE(Initializer::parse(Initializer::normal(0.25).str()) == Initializer::normal(0.25));
  REQUIRE_THROWS_WITH(Initializer::parse("gloria"), Contains("unknown initializer 'gloria'"));
}

TEST_CASE("compiling for float64 casts parameters and inputs", "[physical]") {
  auto model = build_simple_mlp();
  PhysicalModel f32 = PhysicalModel::compile(model, reference_backend(), seeded(1));
  PhysicalModel f64 = PhysicalModel::compile(model, reference_backend(), with_dtype(DType::float64, 1));
  REQUIRE(f64.get_dtype("hidden.weight") == DType::float64);
  f64.set_values(f32.get_values());
  Tensor x = random_tensor({4, 10}, 9);
  Tensor y32 = f32({{"input", x}}).at("output");
  Tensor y64 = f64({{"input", x}}).at("output");
  REQUIRE(y64.dtype() == DType::float64);
  REQUIRE(max_abs_diff(y32, y64) < 1e-5);
}

TEST_CASE("huge declared parameters are refused before any allocation", "[physical]") {
  auto model = std::make_shared<Model>("huge");
  Value x = model->input("x", {Dim::known(2), Dim::known(100000)});
  Value w = model->parameter("w", {Dim::known(100000), Dim::known(100000)});
  model->output("y", matmul(x, w));
  REQUIRE_THROWS_WITH(PhysicalModel::compile(model, reference_backend()),
                      Contains("its parameters need 37.3 GiB") && Contains("load their values instead"));
  CompileOptions deferred;
  deferred.initialize_parameters = false;
  PhysicalModel pm = PhysicalModel::compile(model, reference_backend(), deferred);
  REQUIRE(pm.get_shape("w") == Shape{100000, 100000});
  REQUIRE_FALSE(pm.has_all_values());
  REQUIRE_THROWS_WITH(pm({{"x", Tensor(DType::float32, {2, 100000})}}), Contains("parameters without a value: 'w'"));
}
