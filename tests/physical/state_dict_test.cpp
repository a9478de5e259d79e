// PhysicalModel::state_dict / load_state_dict through a mapping: torch-style names and [out, in]
// Linear weights into the zoo mlp and back, and every unmatched or mis-shaped tensor reported.
#include <catch2/catch.hpp>

#include "test_util.h"

#include <functional>

#include "core/error.h"
#include "io/atomic_file.h"
#include "physical/state_dict.h"
#include "zoo/zoo.h"

using namespace mithril;
using Catch::Matchers::Contains;

namespace {

PhysicalModel compiled_mlp(uint64_t seed) {
  CompileOptions options;
  options.seed = seed;
  return PhysicalModel::compile(zoo_model("mlp", {{"dims", "6,16,3"}}), reference_backend(), options);
}

// torch.nn.Sequential(Linear(6,16), ReLU(), Linear(16,3)) names.
StateDictMapping torch_mapping() {
  StateDictMapping m;
  m.rules = {parse_name_rule("^0\\.=layer0."), parse_name_rule("^2\\.=layer1.")};
  m.torch_linear = true;
  return m;
}
StateDictMapping reverse_mapping() {
  StateDictMapping m;
  m.rules = {parse_name_rule("^layer0\\.=0."), parse_name_rule("^layer1\\.=2.")};
  m.torch_linear = true;
  return m;
}

using mithril::testing::error_of;

}  // namespace

TEST_CASE("name rules: first matching rule wins, groups as $1 or backslash-1, bad rules refused", "[physical][state_dict]") {
  std::vector<NameRule> rules = {parse_name_rule("^(\\d+)\\.weight$=layer\\1.w"), parse_name_rule("^(\\d+)\\.=block$1."),
                                 parse_name_rule("a\\=b=c")};
  CHECK(map_name(rules, "3.weight") == "layer3.w");
  CHECK(map_name(rules, "3.bias") == "block3.bias");
  CHECK(map_name(rules, "xa=by") == "xcy");
  CHECK(map_name(rules, "other") == "other");
  CHECK_THAT(error_of([] { parse_name_rule("no equals sign"); }), Contains("expected REGEX=REPLACEMENT"));
  CHECK_THAT(error_of([] { parse_name_rule("([a=b"); }), Contains("invalid regular expression"));
}

TEST_CASE("mapping files: rules, comments, torch-linear, and errors that name the line", "[physical][state_dict]") {
  testing::TempDir dir;
  write_file_atomic(dir / "m.map", "# torch Sequential\n\n  ^0\\.=layer0.  \ntorch-linear\n^2\\.=layer1.\r\n");
  StateDictMapping m = read_mapping_file(dir / "m.map");
  REQUIRE(m.rules.size() == 2);
  CHECK(m.torch_linear);
  CHECK(map_name(m.rules, "2.bias") == "layer1.bias");
  write_file_atomic(dir / "bad.map", "^0\\.=layer0.\n(oops=x\n");
  CHECK_THAT(error_of([&] { read_mapping_file(dir / "bad.map"); }), Contains("bad.map: line 2: --map '(oops=x'"));
}

TEST_CASE("state_dict out through a mapping and load_state_dict back give the same model", "[physical][state_dict]") {
  PhysicalModel a = compiled_mlp(1);
  CHECK(dense_weight_paths(a.logical()) == std::vector<std::string>{"layer0.weight", "layer1.weight"});
  NamedTensors ours = a.state_dict();
  REQUIRE(ours.size() == 4);
  CHECK(ours[0].first == "layer0.weight");
  NamedTensors torch_sd = a.state_dict(reverse_mapping());
  REQUIRE(torch_sd.size() == 4);
  CHECK(torch_sd[0].first == "0.weight");
  CHECK(torch_sd[0].second.shape() == Shape{16, 6});  // torch Linear layout [out, in]
  CHECK(torch_sd[1].first == "0.bias");
  CHECK(torch_sd[2].first == "2.weight");
  CHECK(transpose2d(torch_sd[0].second).bitwise_equal(a.get_value("layer0.weight")));

  PhysicalModel b = compiled_mlp(2);
  b.load_state_dict(torch_sd, torch_mapping(), "sd.pt");
  for (const std::string& name : a.get_parameter_names()) CHECK(b.get_value(name).bitwise_equal(a.get_value(name)));

  PhysicalModel c = compiled_mlp(3);  // from a map, as the seed's load_state_dict(dict) takes it
  c.load_state_dict(TensorMap(torch_sd.begin(), torch_sd.end()), torch_mapping(), "sd.pt");
  for (const std::string& name : a.get_parameter_names()) CHECK(c.get_value(name).bitwise_equal(a.get_value(name)));
}

TEST_CASE("load_state_dict reports every unmatched, missing and mis-shaped tensor at once", "[physical][state_dict]") {
  PhysicalModel a = compiled_mlp(1);
  NamedTensors torch_sd = a.state_dict(reverse_mapping());
  PhysicalModel b = compiled_mlp(2);

  std::string unmapped = error_of([&] { b.load_state_dict(torch_sd, {}, "sd.pt"); });
  CHECK_THAT(unmapped, Contains("sd.pt: tensor '0.weight' is not a parameter of the model"));
  CHECK_THAT(unmapped, Contains("parameter 'layer1.bias' is missing (no tensor maps to it)"));

  StateDictMapping no_transpose = torch_mapping();
  no_transpose.torch_linear = false;
  CHECK_THAT(error_of([&] { b.load_state_dict(torch_sd, no_transpose, "sd.pt"); }),
             Contains("tensor '0.weight' (mapped to 'layer0.weight'): shape [16,6], expected [6,16]"));

  NamedTensors wrong = torch_sd;
  wrong[2].second = Tensor(DType::float32, {3, 15});
  CHECK_THAT(error_of([&] { b.load_state_dict(wrong, torch_mapping(), "sd.pt"); }),
             Contains("tensor '2.weight' (mapped to 'layer1.weight', transposed): shape [3,15], expected [3,16]"));

  NamedTensors twice = torch_sd;
  twice.emplace_back("layer0.bias", torch_sd[1].second);
  CHECK_THAT(error_of([&] { b.load_state_dict(twice, torch_mapping(), "sd.pt"); }),
             Contains("tensors '0.bias' and 'layer0.bias' both map to parameter 'layer0.bias'"));

  NamedTensors extra = torch_sd;
  extra.emplace_back("num_batches_tracked", Tensor(DType::int64, {}));
  CHECK_THAT(error_of([&] { b.load_state_dict(extra, torch_mapping(), "sd.pt"); }), Contains("'num_batches_tracked' is not a parameter"));
  b.load_state_dict(extra, torch_mapping(), "sd.pt", /*allow_extra=*/true);
  CHECK(b.get_value("layer1.bias").bitwise_equal(a.get_value("layer1.bias")));
}
