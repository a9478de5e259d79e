#include <catch2/catch.hpp>

#include <random>
#include <set>

#include "core/error.h"
#include "graph/builder.h"
#include "graph/extract.h"
#include "io/model_json.h"
#include "physical/physical_model.h"
#include "zoo/zoo.h"

using namespace mithril;
using Catch::Matchers::Contains;

namespace {

// Two branches that meet: a cut through one branch only is invalid.
std::shared_ptr<Model> two_branch() {
  auto m = std::make_shared<Model>("classifier");
  Value x = m->input("input", {Dim::any(), Dim::known(8)});
  Value mask = m->input("mask", {Dim::any(), Dim::known(16)});
  Value h1 = relu(dense(x, 16, "hidden1"));
  Value features = tanh(dense(h1, 16, "hidden2")) * mask;
  Value logits = dense(features, 3, "head");
  m->output("features", features);
  m->output("probs", softmax(logits));
  return m;
}

std::vector<std::string> refs_consumed(const Step& s) {
  if (!s.is_submodel()) return s.inputs;
  std::vector<std::string> out;
  for (const auto& [n, r] : s.bindings) out.push_back(r);
  return out;
}

std::vector<std::string> refs_produced(const Step& s) {
  if (!s.is_submodel()) return {s.name};
  std::vector<std::string> out;
  for (const auto& [n, info] : s.outputs) out.push_back(s.name + "." + n);
  return out;
}

TensorMap random_inputs(const Model& m, int64_t batch, uint64_t seed) {
  TensorMap inputs;
  for (const InputDecl& in : m.inputs()) {
    Shape shape;
    for (const Dim& d : in.info.shape) shape.push_back(d.is_known() ? d.size : batch);
    inputs[in.name] = initialize(Initializer::normal(1.0), in.info.dtype, shape, seed, in.name);
  }
  return inputs;
}

}  // namespace

TEST_CASE("the seed's feature extractor: cut between input and an intermediate value", "[graph][extract]") {
  auto model = two_branch();
  auto part = extract_submodel(*model, {"input"}, {"hidden2.output"}, "feature_extractor");
  REQUIRE(part->name() == "feature_extractor");
  std::vector<std::string> params;
  for (const auto& p : part->parameter_paths()) params.push_back(p.path);
  REQUIRE(params == std::vector<std::string>{"hidden1.weight", "hidden1.bias", "hidden2.weight", "hidden2.bias"});
  REQUIRE(part->outputs()[0].name == "hidden2_output");
  // The part serializes and reloads like any model.
  REQUIRE(to_dict(*from_dict(to_dict(*part))) == to_dict(*part));
}

TEST_CASE("an invalid cut names the uncovered path", "[graph][extract]") {
  auto model = two_branch();
  REQUIRE_THROWS_WITH(extract_submodel(*model, {"input"}, {"features"}),
                      Contains("output 'features' depends on input 'mask' (multiply_0 <- mask), which is not among the given inputs"));
  REQUIRE_THROWS_WITH(extract_submodel(*model, {"inpt"}, {"features"}), Contains("no value 'inpt'"));
  REQUIRE_THROWS_WITH(extract_submodel(*model, {"input", "mask"}, {"featurez"}), Contains("no output or value 'featurez'"));
  REQUIRE_THROWS_WITH(extract_submodel(*model, {"input", "mask", "relu_0"}, {"features"}),
                      Contains("no requested output depends on the given input 'input'"));
  REQUIRE_THROWS_WITH(extract_submodel(*model, {"hidden1.weight"}, {"features"}), Contains("no value 'hidden1.weight'"));
}

TEST_CASE("random valid cuts reproduce the full model's values exactly", "[graph][extract]") {
  std::vector<std::shared_ptr<Model>> models = {two_branch(), zoo_model("mlp", {{"dims", "5,7,7,7,2"}}), zoo_model("simple_mlp")};
  std::mt19937 rng(1234);
  int checked = 0;
  for (const auto& model : models) {
    PhysicalModel full = PhysicalModel::compile(model, reference_backend());
    const auto& steps = model->steps();
    for (int trial = 0; trial < 12; ++trial) {
      // Cut before step k; take one value produced at or after k as the output and, as inputs,
      // whatever its ancestors at or after k consume from before k.
      std::size_t k = std::uniform_int_distribution<std::size_t>(0, steps.size() - 1)(rng);
      std::size_t last = std::uniform_int_distribution<std::size_t>(k, steps.size() - 1)(rng);
      std::vector<std::string> outs = refs_produced(steps[last]);
      std::string output = outs[std::uniform_int_distribution<std::size_t>(0, outs.size() - 1)(rng)];
      std::set<std::string> before;  // values defined before step k (including inputs)
      for (const InputDecl& in : model->inputs()) before.insert(in.name);
      for (std::size_t i = 0; i < k; ++i)
        for (const std::string& r : refs_produced(steps[i])) before.insert(r);
      std::set<std::string> needed{output}, cut;
      for (std::size_t i = last + 1; i-- > k;) {
        bool wanted = false;
        for (const std::string& r : refs_produced(steps[i])) wanted = wanted || needed.count(r);
        if (!wanted) continue;
        for (const std::string& r : refs_consumed(steps[i])) {
          if (before.count(r)) cut.insert(r);
          else needed.insert(r);
        }
      }
      std::vector<std::string> cut_inputs(cut.begin(), cut.end());
      if (cut_inputs.empty()) continue;  // output only depends on parameters/constants
      auto part = extract_submodel(*model, cut_inputs, {output});
      TensorMap inputs = random_inputs(*model, 3, static_cast<uint64_t>(trial));
      std::vector<std::string> wanted(cut_inputs);
      wanted.push_back(output);
      TensorMap values = full.evaluate(inputs, wanted);
      PhysicalModel small = PhysicalModel::compile(part, reference_backend());
      for (const std::string& p : small.get_parameter_names()) small.set_value(p, full.get_value(p));
      TensorMap part_inputs;
      for (const std::string& c : cut_inputs) {
        std::string name = c;
        for (char& ch : name)
          if (ch == '.') ch = '_';
        part_inputs[name] = values.at(c);
      }
      std::string out_name = output;
      for (char& ch : out_name)
        if (ch == '.') ch = '_';
      INFO(model->name() << ": cut " << cut_inputs.size() << " inputs, output " << output);
      REQUIRE(small(part_inputs).at(out_name).bitwise_equal(values.at(output)));
      ++checked;
    }
  }
  REQUIRE(checked >= 20);
}
