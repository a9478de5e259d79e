// infer_parameter_shapes: widths of parameters learned from the inputs, as Python Mithril's
// compile infers them (a migrated Linear(dimension=8) has weight [8, "weight_in"]).
#include <catch2/catch.hpp>

#include "graph/walk.h"
#include "io/model_json.h"

using namespace mithril;

namespace {

std::map<std::string, FlatValue> input(const std::string& name, Shape shape) {
  return {{name, FlatValue{name, ValueInfo{DType::float64, to_sym_shape(shape)}}}};
}

}  // namespace

TEST_CASE("parameter widths are learned through matmul, one layer after another", "[graph][shapes]") {
  // x @ w1.T -> relu -> @ w2.T: w1's input width comes from x, w2's from w1's output width.
  auto model = from_dict(R"({"version": "1.1.0", "name": "two_layers",
    "inputs": {"x": {"shape": null, "dtype": "float64"}},
    "parameters": {"w1": {"shape": [8, "w1_in"], "dtype": "float64", "init": "zeros"},
                   "b1": {"shape": ["w1_out"], "dtype": "float64", "init": "zeros"},
                   "w2": {"shape": [2, "w2_in"], "dtype": "float64", "init": "zeros"}},
    "nodes": [{"name": "t1", "op": "transpose", "inputs": ["w1"]}, {"name": "m1", "op": "matmul", "inputs": ["x", "t1"]},
              {"name": "h", "op": "relu", "inputs": ["m1"]},
              {"name": "t2", "op": "transpose", "inputs": ["w2"]}, {"name": "y", "op": "matmul", "inputs": ["h", "t2"]}],
    "outputs": {"y": "y"}})");
  auto shapes = infer_parameter_shapes(*model, input("x", {4, 3}));
  CHECK(shapes.at("w1") == Shape{8, 3});
  CHECK(shapes.at("w2") == Shape{2, 8});
  CHECK(shapes.count("b1") == 0);  // nothing says what w1_out is: stays unknown
  // A shape already given is not learned again.
  std::map<std::string, Shape> given = {{"w1", Shape{8, 3}}};
  WalkOptions options;
  options.parameter_shapes = &given;
  auto rest = infer_parameter_shapes(*model, input("x", {4, 3}), options);
  CHECK(rest.count("w1") == 0);
  CHECK(rest.at("w2") == Shape{2, 8});
}

TEST_CASE("broadcasting against a known size other than 1 binds a width; size 1 says nothing", "[graph][shapes]") {
  auto model = from_dict(R"({"version": "1.1.0", "name": "norm",
    "inputs": {"x": {"shape": null, "dtype": "float64"}, "one": {"shape": null, "dtype": "float64"}},
    "parameters": {"scale": {"shape": ["d"], "dtype": "float64", "init": "ones"},
                   "other": {"shape": ["e"], "dtype": "float64", "init": "ones"}},
    "nodes": [{"name": "y", "op": "multiply", "inputs": ["x", "scale"]}, {"name": "z", "op": "add", "inputs": ["one", "other"]}],
    "outputs": {"y": "y", "z": "z"}})");
  std::map<std::string, FlatValue> inputs = input("x", {2, 3, 5});
  inputs.merge(input("one", {1}));
  auto shapes = infer_parameter_shapes(*model, inputs);
  CHECK(shapes.at("scale") == Shape{5});
  CHECK(shapes.count("other") == 0);
}
