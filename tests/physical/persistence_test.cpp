#include <catch2/catch.hpp>

#include "test_util.h"

#include <cstdlib>
#include <filesystem>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/mbin.h"
#include "io/model_json.h"
#include "physical/persistence.h"
#include "zoo/zoo.h"

using namespace mithril;
using Catch::Matchers::Contains;

namespace {

using mithril::testing::TempDir;

PhysicalModel compiled_mlp(uint64_t seed) {
  CompileOptions options;
  options.seed = seed;
  return PhysicalModel::compile(zoo_model("mlp", {{"dims", "6,16,3"}}), reference_backend(), options);
}

Tensor input_batch() { return initialize(Initializer::normal(1.0), DType::float32, {4, 6}, 11, "x"); }

}  // namespace

TEST_CASE("save and load a physical model as .mithril and .mbin give identical outputs", "[physical][persistence]") {
  TempDir dir;
  PhysicalModel original = compiled_mlp(5);
  Tensor expected = original({{"input", input_batch()}}).at("output");
  for (const std::string name : {"m.mithril", "m.mbin"}) {
    original.save(dir / name);
    PhysicalModel loaded = PhysicalModel::load(dir / name, reference_backend());
    REQUIRE(loaded.get_parameter_names() == original.get_parameter_names());
    REQUIRE(loaded({{"input", input_batch()}}).at("output").bitwise_equal(expected));
    REQUIRE(to_dict(loaded.logical()) == to_dict(original.logical()));
  }
  // .mbin parameters are views of the mapping unless eager.
  REQUIRE(load_binary(dir / "m.mbin", reference_backend()).get_value("layer0.weight").is_borrowed());
  REQUIRE_FALSE(load_binary(dir / "m.mbin", reference_backend(), true).get_value("layer0.weight").is_borrowed());
}

TEST_CASE("saving is reproducible byte for byte", "[physical][persistence]") {
  TempDir dir;
  PhysicalModel model = compiled_mlp(1);
  for (const std::string ext : {".mithril", ".mbin"}) {
    model.save(dir / ("a" + ext));
    model.save(dir / ("b" + ext));
    REQUIRE(read_file(dir / ("a" + ext)) == read_file(dir / ("b" + ext)));
  }
}

TEST_CASE("numpy and unzip can inspect a .mithril file", "[physical][persistence][numpy]") {
  TempDir dir;
  PhysicalModel model = compiled_mlp(2);
  model.save(dir / "m.mithril");
  write_npz(dir / "w.npz", {{"w", model.get_value("layer1.weight")}});
  std::string script = dir / "check.py";
  write_file_atomic(script,
                    "import sys, json, numpy as np, zipfile\n"
                    "z = np.load(sys.argv[1])\n"
                    "w = np.load(sys.argv[2])['w']\n"
                    "assert np.array_equal(z['layer1.weight'], w), 'parameter differs'\n"
                    "meta = json.loads(zipfile.ZipFile(sys.argv[1]).read('mithril.json'))\n"
                    "assert meta['format'] == 'mithril' and meta['model_format_version'] == '1.2.0', meta\n"
                    "model = json.loads(zipfile.ZipFile(sys.argv[1]).read('model.json'))\n"
                    "assert model['name'] == 'mlp'\n");
  std::string command = std::string(MITHRIL_PYTHON) + " " + script + " " + (dir / "m.mithril") + " " + (dir / "w.npz");
  REQUIRE(std::system(command.c_str()) == 0);
  // Info-ZIP's unzip (scripts/setup installs it) tests every member's CRC-32 and lists them all.
  std::string listing = dir / "unzip.txt";
  command = "unzip -t " + (dir / "m.mithril") + " >" + listing + " 2>&1";
  int status = std::system(command.c_str());
  std::string out = read_file(listing);
  INFO(out);
  REQUIRE(status == 0);
  REQUIRE_THAT(out, Contains("No errors detected in compressed data"));
  for (const std::string member : {"mithril.json", "model.json", "layer0.weight.npy", "layer0.bias.npy",
                                   "layer1.weight.npy", "layer1.bias.npy"})
    CHECK_THAT(out, Contains("testing: " + member));
}

TEST_CASE("binding parameters lists every problem at once", "[physical][persistence]") {
  PhysicalModel model = compiled_mlp(3);
  NamedTensors values = parameter_tensors(model);
  values.erase(values.begin());                                           // layer0.weight missing
  values[0].second = Tensor(DType::float32, {3});                          // layer0.bias: wrong shape
  values[1].second = values[1].second.cast(DType::float64);                // layer1.weight: wrong dtype
  values.emplace_back("layer9.weight", Tensor(DType::float32, {1}));       // extra
  try {
    bind_parameters(model, values, "params.npz");
    FAIL("no error");
  } catch (const Error& e) {
    std::string m = e.what();
    REQUIRE_THAT(m, Contains("params.npz: "));
    REQUIRE_THAT(m, Contains("tensor 'layer0.bias': shape [3], expected [16]"));
    REQUIRE_THAT(m, Contains("tensor 'layer1.weight': dtype float64, expected float32"));
    REQUIRE_THAT(m, Contains("tensor 'layer9.weight' is not a parameter of the model"));
    REQUIRE_THAT(m, Contains("parameter 'layer0.weight' is missing"));
  }
  BindOptions lenient;
  lenient.allow_extra = true;
  lenient.cast = true;
  NamedTensors good = parameter_tensors(model);
  good[2].second = good[2].second.cast(DType::float64);
  good.emplace_back("unrelated", Tensor(DType::float32, {1}));
  bind_parameters(model, good, "params.npz", lenient);
  REQUIRE(model.get_dtype("layer1.weight") == DType::float32);
}

TEST_CASE("a bad physical file is refused with its name", "[physical][persistence]") {
  TempDir dir;
  write_file_atomic(dir / "x.mithril", "not a zip at all");
  REQUIRE_THROWS_WITH(PhysicalModel::load(dir / "x.mithril", reference_backend()), Contains("x.mithril: not a model or tensor file"));
  write_npz(dir / "p.npz", {{"a", Tensor(DType::float32, {2})}});
  REQUIRE_THROWS_WITH(PhysicalModel::load(dir / "p.npz", reference_backend()), Contains("p.npz: not a physical model file"));
  REQUIRE_THROWS_WITH(compiled_mlp(1).save(dir / "m.tflite"), Contains("cannot tell the output kind"));
  REQUIRE_THROWS_WITH(compiled_mlp(1).save(dir / "m.npz"), Contains("a physical model is saved as .mithril or .mbin"));
}
