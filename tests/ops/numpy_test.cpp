// Runs every case of the table through inference and the reference kernel and compares dtype,
// shape and values with numpy (one python process computes all expected outputs).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include <unistd.h>

#include "backends/backend.h"
#include "core/error.h"
#include "op_cases.h"
#include "ops/registry.h"

using namespace mithril;
using namespace mithril::test;
namespace fs = std::filesystem;

namespace {

struct Expected {
  std::string error;  // numpy refused the case
  DType dtype = DType::float32;
  Shape shape;
  Tensor values;
  std::vector<char> ties;  // per element: numpy rounded a value halfway between two integers
};

void write_bytes(const fs::path& path, const Tensor& t) {
  std::ofstream out(path, std::ios::binary);
  out.write(static_cast<const char*>(t.data()), static_cast<std::streamsize>(t.nbytes()));
  REQUIRE(out.good());
}

Tensor read_bytes(const fs::path& path, DType dtype, const Shape& shape) {
  Tensor t(dtype, shape);
  std::ifstream in(path, std::ios::binary);
  in.read(static_cast<char*>(t.mutable_data()), static_cast<std::streamsize>(t.nbytes()));
  REQUIRE(in.gcount() == static_cast<std::streamsize>(t.nbytes()));
  return t;
}

// Writes every case's inputs, runs the oracle once, reads back what numpy computed.
std::vector<Expected> numpy_results(const std::vector<std::vector<Tensor>>& inputs) {
  fs::path dir = fs::temp_directory_path() / ("mithril_ops_" + std::to_string(getpid()));
  fs::create_directories(dir);
  {
    std::ofstream manifest(dir / "cases.jsonl");
    for (std::size_t c = 0; c < op_cases().size(); ++c) {
      const OpCase& op_case = op_cases()[c];
      const Attributes attrs = OpRegistry::complete_attributes(*OpRegistry::global().find(op_case.op), op_case.attrs);
      // attr_str() writes the JSON form of every value the table uses (no strings with quotes).
      std::string attr_json;
      for (const auto& [name, value] : attrs) attr_json += (attr_json.empty() ? "\"" : ", \"") + name + "\": " + attr_str(value);
      manifest << "{\"id\": " << c << ", \"op\": \"" << op_case.op << "\", \"attrs\": {" << attr_json << "}, \"inputs\": [";
      for (std::size_t i = 0; i < inputs[c].size(); ++i) {
        std::string file = "in_" + std::to_string(c) + "_" + std::to_string(i) + ".bin";
        write_bytes(dir / file, inputs[c][i]);
        manifest << (i ? ", " : "") << "{\"file\": \"" << file << "\", \"dtype\": \"" << dtype_name(inputs[c][i].dtype())
                 << "\", \"shape\": " << attr_str(inputs[c][i].shape()) << "}";
      }
      manifest << "]}\n";
    }
  }
  std::string command = std::string(MITHRIL_PYTHON) + " " + MITHRIL_TESTDATA + "/ops/numpy_oracle.py " + dir.string();
  REQUIRE(std::system(command.c_str()) == 0);

  std::vector<Expected> expected(op_cases().size());
  std::ifstream results(dir / "results.txt");
  std::string line;
  while (std::getline(results, line)) {
    std::istringstream fields(line);
    std::size_t id;
    std::string dtype;
    fields >> id >> dtype;
    REQUIRE(id < expected.size());
    Expected& e = expected[id];
    if (dtype == "error") {
      std::getline(fields, e.error);
      continue;
    }
    REQUIRE(dtype_from_name(dtype).has_value());
    e.dtype = *dtype_from_name(dtype);
    std::size_t rank;
    fields >> rank;
    e.shape.resize(rank);
    for (auto& d : e.shape) fields >> d;
    e.values = read_bytes(dir / ("out_" + std::to_string(id) + ".bin"), e.dtype, e.shape);
    if (fs::path ties = dir / ("ties_" + std::to_string(id) + ".bin"); fs::exists(ties)) {
      std::ifstream in(ties, std::ios::binary);
      e.ties.assign(std::istreambuf_iterator<char>(in), {});
      REQUIRE(static_cast<int64_t>(e.ties.size()) == shape_numel(e.shape));
    }
  }
  fs::remove_all(dir);
  return expected;
}

// float64 within 1e-12 and float32 within 1e-5, relative. Sums and dot products that cancel to a
// value far below their terms differ from numpy's (pairwise, BLAS) order by more than that
// relative to the small result, so the tolerance has a floor of the same relative size taken
// against 1% of the output's largest magnitude. Integers, bools and float16 must match exactly.
bool close(double actual, double expected, DType dtype, double magnitude) {
  if (std::isnan(actual) || std::isnan(expected)) return std::isnan(actual) && std::isnan(expected);
  if (std::isinf(actual) || std::isinf(expected)) return actual == expected;
  double relative = dtype == DType::float64 ? 1e-12 : dtype == DType::float32 ? 1e-5 : 0.0;
  return std::abs(actual - expected) <= relative * std::max(std::abs(expected), 1e-2 * magnitude);
}

}  // namespace

TEST_CASE("every operator case matches numpy", "[ops][numpy]") {
  const Backend& backend = reference_backend();
  std::vector<std::vector<Tensor>> inputs;
  for (std::size_t c = 0; c < op_cases().size(); ++c) {
    std::vector<Tensor> tensors;
    for (std::size_t i = 0; i < op_cases()[c].inputs.size(); ++i)
      tensors.push_back(make_input(op_cases()[c].inputs[i], c * 16 + i + 1));
    inputs.push_back(std::move(tensors));
  }
  std::vector<Expected> expected = numpy_results(inputs);
  WARN(op_cases().size() << " operator cases compared with numpy");

  for (std::size_t c = 0; c < op_cases().size(); ++c) {
    const OpCase& op_case = op_cases()[c];
    INFO("case " << c << ": " << describe(op_case));
    const OpSchema* schema = OpRegistry::global().find(op_case.op);
    REQUIRE(schema != nullptr);
    Attributes attrs = OpRegistry::complete_attributes(*schema, op_case.attrs);
    std::vector<ValueInfo> infos;
    for (const Tensor& t : inputs[c]) infos.push_back({t.dtype(), to_sym_shape(t.shape())});
    ValueInfo info = schema->infer(infos, attrs);
    REQUIRE(is_concrete(info.shape));
    Tensor out(info.dtype, to_shape(info.shape));
    backend.execute(*schema, inputs[c], attrs, out);

    const Expected& e = expected[c];
    REQUIRE(e.error.empty());
    REQUIRE(dtype_name(out.dtype()) == dtype_name(e.dtype));
    REQUIRE(shape_str(out.shape()) == shape_str(e.shape));
    double magnitude = 0;
    for (int64_t i = 0; i < out.numel(); ++i)
      if (std::isfinite(e.values.value_at(i))) magnitude = std::max(magnitude, std::abs(e.values.value_at(i)));
    int64_t mismatches = 0;
    for (int64_t i = 0; i < out.numel(); ++i) {
      if (close(out.value_at(i), e.values.value_at(i), out.dtype(), magnitude)) continue;
      // A tie: float64 lands a bit above or below it by the order of the sums; either neighbor.
      if (!e.ties.empty() && e.ties[static_cast<std::size_t>(i)] && std::abs(out.value_at(i) - e.values.value_at(i)) == 1) continue;
      if (++mismatches <= 3) FAIL_CHECK("element " << i << ": got " << out.value_at(i) << ", numpy " << e.values.value_at(i));
    }
    CHECK(mismatches == 0);
  }
}
