// Custom operators: the seed's MyCustomOp registered from C++, and plugins loaded from files.
#include <catch2/catch.hpp>

#include "backends/backend.h"
#include "core/error.h"
#include "graph/builder.h"
#include "io/model_json.h"
#include "ops/plugin.h"
#include "physical/physical_model.h"

using namespace mithril;
using Catch::Matchers::Contains;

namespace {

// The seed's example: an operator with a `factor` attribute (default 1.0) whose output has the
// input's shape and type. Registered once per process.
void register_my_custom_op() {
  static bool done = [] {
    OpSchema op;
    op.domain = "example";
    op.name = "my_custom_op";
    op.version = 2;
    op.doc = "output = input * factor";
    op.inputs = {{"x"}};
    op.attributes = {{"factor", AttrType::number, AttrValue{1.0}}};
    op.infer = [](const std::vector<ValueInfo>& in, const Attributes&) { return in[0]; };
    op.kernels["reference"] = [](const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
      double factor = attr_number(attrs, "factor");
      for (int64_t i = 0; i < in[0].numel(); ++i) out.mutable_data_as<float>()[i] = in[0].data_as<float>()[i] * static_cast<float>(factor);
    };
    OpRegistry::global().add(std::move(op));
    return true;
  }();
  (void)done;
}

std::string plugin(const std::string& name) { return std::string(MITHRIL_PLUGIN_DIR) + "/" + name + ".so"; }

std::shared_ptr<Model> model_using(const std::string& op) {
  auto m = std::make_shared<Model>("scaled");
  Value x = m->input("x", {Dim::any(), Dim::known(3)});
  m->output("y", m->apply(op, {relu(x)}, {{"factor", 2.5}}));
  return m;
}

Tensor sample() {
  Tensor t(DType::float32, {2, 3});
  float v[] = {1, -2, 3, 4, 0.5f, -6};
  std::copy(v, v + 6, t.mutable_data_as<float>());
  return t;
}

}  // namespace

TEST_CASE("the seed's custom operator: registered, saved with domain and version, reloaded, evaluated", "[ops][custom]") {
  const char* json_using = R"J({"version": "1.0.0", "name": "m", "inputs": {"x": {"shape": [null, 3]}},
    "nodes": [{"name": "c", "op": "example.my_custom_op", "inputs": ["x"]}], "outputs": {"y": "c"}})J";
  if (!OpRegistry::global().find("example.my_custom_op"))
    REQUIRE_THROWS_WITH(from_dict(json_using, "m.json"),
                        Contains("m.json: unknown operator 'example.my_custom_op' at nodes[0]") && Contains("--plugin"));
  register_my_custom_op();
  auto model = model_using("example.my_custom_op");
  std::string dict = to_dict(*model);
  REQUIRE_THAT(dict, Contains("\"op\": \"example.my_custom_op\""));
  REQUIRE_THAT(dict, Contains("\"op_version\": 2"));
  auto reloaded = from_dict(dict, "m.json");
  REQUIRE(to_dict(*reloaded) == dict);
  Tensor y = PhysicalModel::compile(reloaded, reference_backend())({{"x", sample()}}).at("y");
  std::vector<float> expected = {2.5f, 0, 7.5f, 10, 1.25f, 0};
  for (int i = 0; i < 6; ++i) REQUIRE(y.data_as<float>()[i] == expected[i]);
  // A file asking for a newer version of the operator than the one registered is refused.
  std::string newer = dict;
  newer.replace(newer.find("\"op_version\": 2"), 15, "\"op_version\": 3");
  REQUIRE_THROWS_WITH(from_dict(newer, "m.json"), Contains("operator 'example.my_custom_op' version 3 is newer than the registered version 2"));
  // The name is taken: registering it again is an error, not a silent replacement.
  OpSchema again;
  again.domain = "example";
  again.name = "my_custom_op";
  again.infer = [](const std::vector<ValueInfo>& in, const Attributes&) { return in[0]; };
  REQUIRE_THROWS_WITH(OpRegistry::global().add(again), Contains("'example.my_custom_op' is already registered"));
}

TEST_CASE("plugins register operators from shared libraries, with an ABI check", "[ops][plugin]") {
  REQUIRE_THROWS_WITH(load_plugin(plugin("wrong_abi_plugin")),
                      Contains("built for plugin ABI version 999, this mithril has version 1"));
  REQUIRE_THROWS_WITH(load_plugin(plugin("not_a_plugin")), Contains("not a mithril plugin"));
  REQUIRE_THROWS_WITH(load_plugin(plugin("no_such_plugin")), Contains("no_such_plugin.so: cannot load"));
  load_plugin(plugin("scale_plugin"));
  load_plugin(plugin("scale_plugin"));  // a second load is a no-op
  REQUIRE(OpRegistry::global().find("acme.scale") != nullptr);
  REQUIRE(loaded_plugins().size() == 1);
  Tensor y = PhysicalModel::compile(model_using("acme.scale"), reference_backend())({{"x", sample()}}).at("y");
  REQUIRE(y.data_as<float>()[2] == 7.5f);
}
