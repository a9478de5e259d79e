#include <catch2/catch.hpp>

#include "core/error.h"
#include "io/model_json.h"
#include "zoo/zoo.h"

using namespace mithril;
using Catch::Matchers::Contains;

TEST_CASE("every zoo model builds with its defaults and round-trips through JSON", "[zoo]") {
  for (const ZooEntry& entry : zoo_entries()) {
    auto model = zoo_model(entry.name);
    std::string dict = to_dict(*model);
    REQUIRE(to_dict(*from_dict(dict)) == dict);
  }
}

TEST_CASE("zoo arguments shape the model", "[zoo]") {
  auto mlp = zoo_model("mlp", {{"dims", "4,8,8,2"}, {"activation", "tanh"}, {"dtype", "float64"}});
  auto params = mlp->parameter_paths();
  REQUIRE(params.size() == 6);
  REQUIRE(params[4].path == "layer2.weight");
  REQUIRE(shape_str(params[4].info.shape) == "[8,2]");
  REQUIRE(params[4].info.dtype == DType::float64);
  auto linear = zoo_model("linear", {{"in", "3"}, {"out", "2"}});
  REQUIRE(shape_str(linear->outputs()[0].info.shape) == "[null,2]");
}

TEST_CASE("bad zoo requests name what is wrong", "[zoo]") {
  REQUIRE_THROWS_WITH(zoo_model("resnet"), Contains("no zoo model 'resnet' (known: cnn, linear, mlp, simple_mlp)"));
  REQUIRE_THROWS_WITH(zoo_model("mlp", {{"width", "3"}}), Contains("has no argument 'width' (it has: dims, activation, dtype)"));
  REQUIRE_THROWS_WITH(zoo_model("mlp", {{"dims", "10,x"}}), Contains("argument dims=10,x: expected positive integers"));
  REQUIRE_THROWS_WITH(zoo_model("mlp", {{"dims", "10"}}), Contains("at least two widths"));
  REQUIRE_THROWS_WITH(zoo_model("mlp", {{"activation", "swish"}}), Contains("expected relu, tanh, sigmoid or gelu"));
  REQUIRE_THROWS_WITH(zoo_model("linear", {{"dtype", "int8"}}), Contains("expected float32 or float64"));
}
