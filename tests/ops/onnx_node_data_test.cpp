// ONNX's own node test data (Debian's libonnx-testdata) for the shape/indexing operators of
// issue 14, run through our inference and reference kernels without the importer:
// testdata/ops/onnx_node_cases.py maps each single-node model onto our operator, folding shape
// operands into attributes as the operator contract says the importer does. Outputs are held to
// ONNX's rule (|got - expected| <= 1e-7 + 1e-3 |expected|), dtypes and shapes must be equal.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <rapidjson/document.h>

#include "backends/backend.h"
#include "core/error.h"
#include "ops/registry.h"
#include "test_util.h"

using namespace mithril;
namespace fs = std::filesystem;

namespace {

const char* const kNodeData = "/usr/share/libonnx-testdata/data/node";

AttrValue attr_from_json(const rapidjson::Value& v) {
  if (v.IsNull()) return AttrValue{};
  if (v.IsBool()) return v.GetBool();
  if (v.IsInt64()) return v.GetInt64();
  if (v.IsNumber()) return v.GetDouble();
  if (v.IsString()) return std::string(v.GetString());
  REQUIRE(v.IsArray());
  bool integers = true;
  for (const auto& e : v.GetArray()) integers = integers && e.IsInt64();
  if (integers) {
    std::vector<int64_t> list;
    for (const auto& e : v.GetArray()) list.push_back(e.GetInt64());
    return list;
  }
  std::vector<double> list;
  for (const auto& e : v.GetArray()) list.push_back(e.GetDouble());
  return list;
}

Tensor read_tensor(const fs::path& dir, const rapidjson::Value& spec) {
  std::optional<DType> dtype = dtype_from_name(spec["dtype"].GetString());
  REQUIRE(dtype.has_value());
  Shape shape;
  for (const auto& d : spec["shape"].GetArray()) shape.push_back(d.GetInt64());
  Tensor t(*dtype, shape);
  std::ifstream in(dir / spec["file"].GetString(), std::ios::binary);
  in.read(static_cast<char*>(t.mutable_data()), static_cast<std::streamsize>(t.nbytes()));
  REQUIRE(in.gcount() == static_cast<std::streamsize>(t.nbytes()));
  return t;
}

}  // namespace

TEST_CASE("ONNX's node test data for the shape and indexing operators", "[ops][onnx]") {
  if (!fs::exists(kNodeData)) {
    mithril::testing::skip_test(std::string(kNodeData) + " is absent (Debian package libonnx-testdata)");
    return;
  }
  mithril::testing::TempDir dir;
  std::string command = std::string(MITHRIL_PYTHON) + " " + MITHRIL_TESTDATA + "/ops/onnx_node_cases.py " + kNodeData +
                        " " + dir.path.string();
  REQUIRE(std::system(command.c_str()) == 0);

  const Backend& backend = reference_backend();
  std::ifstream cases(dir / "cases.jsonl");
  std::string line;
  std::map<std::string, int> per_op;
  while (std::getline(cases, line)) {
    if (line.empty()) continue;
    rapidjson::Document c;
    c.Parse(line.c_str());
    REQUIRE_FALSE(c.HasParseError());
    std::string op = c["op"].GetString();
    INFO(c["name"].GetString() << " as " << op);
    const OpSchema* schema = OpRegistry::global().find(op);
    REQUIRE(schema != nullptr);
    Attributes given;
    for (const auto& m : c["attrs"].GetObject()) given[m.name.GetString()] = attr_from_json(m.value);
    Attributes attrs = OpRegistry::complete_attributes(*schema, given);
    std::vector<Tensor> inputs;
    std::vector<ValueInfo> infos;
    for (const auto& spec : c["inputs"].GetArray()) {
      inputs.push_back(read_tensor(dir.path, spec));
      infos.push_back({inputs.back().dtype(), to_sym_shape(inputs.back().shape())});
    }
    Tensor expected = read_tensor(dir.path, c["outputs"][0]);
    ValueInfo info = schema->infer(infos, attrs);
    REQUIRE(is_concrete(info.shape));
    CHECK(dtype_name(info.dtype) == dtype_name(expected.dtype()));
    REQUIRE(shape_str(to_shape(info.shape)) == shape_str(expected.shape()));
    Tensor out(info.dtype, to_shape(info.shape));
    backend.execute(*schema, inputs, attrs, out);
    int64_t mismatches = 0;
    for (int64_t i = 0; i < out.numel(); ++i) {
      double got = out.value_at(i), want = expected.value_at(i);
      bool same = std::isnan(want) ? std::isnan(got) : std::abs(got - want) <= 1e-7 + 1e-3 * std::abs(want);
      if (!same && ++mismatches <= 3) FAIL_CHECK("element " << i << ": got " << got << ", ONNX " << want);
    }
    CHECK(mismatches == 0);
    ++per_op[op];
  }
  // Every operator the script maps has data in ONNX 1.12's suite; an empty run proves nothing.
  std::set<std::string> expected_ops = {"cumsum",  "depth_to_space", "expand",        "gather",        "gather_elements",
                                        "gather_nd", "one_hot",      "pad",           "resize",        "scatter_elements",
                                        "scatter_nd", "slice",        "space_to_depth", "tile",         "top_k_indices",
                                        "top_k_values", "trilu",        "einsum"};
  for (const std::string& op : expected_ops) {
    INFO("operator " << op);
    CHECK(per_op[op] > 0);
  }
  int total = 0;
  for (const auto& [op, count] : per_op) total += count;
  WARN(total << " ONNX node test cases over " << per_op.size() << " operators");
}
