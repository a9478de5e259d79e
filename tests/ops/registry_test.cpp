// The operator list checks itself: a new operator cannot be added without inference, a reference
// kernel, documentation and a numpy-checked case (STYLE.md item 4).
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "backends/backend.h"
#include "op_cases.h"
#include "ops/registry.h"

using namespace mithril;
using namespace mithril::test;

namespace {
// Built-in operators are the ones without a domain; tests may register custom ones beside them.
std::vector<std::string> builtin_names() {
  std::vector<std::string> names;
  for (const std::string& name : OpRegistry::global().names())
    if (OpRegistry::global().find(name)->domain.empty()) names.push_back(name);
  return names;
}
}  // namespace

TEST_CASE("every built-in operator has inference, a reference kernel, docs and a test case", "[ops][registry]") {
  reference_backend();  // attaches the reference kernels
  std::set<std::string> tested, attributes_used;
  for (const OpCase& c : op_cases()) {
    tested.insert(c.op);
    for (const auto& [name, value] : c.attrs) attributes_used.insert(c.op + "." + name);
  }
  std::vector<std::string> names = builtin_names();
  REQUIRE_FALSE(names.empty());
  for (const std::string& name : names) {
    INFO("operator " << name);
    const OpSchema* schema = OpRegistry::global().find(name);
    REQUIRE(schema != nullptr);
    CHECK(schema->domain.empty());
    CHECK(schema->version == 1);
    CHECK(schema->infer);
    CHECK_FALSE(schema->doc.empty());
    CHECK(schema->kernels.count("reference") == 1);
    CHECK(tested.count(name) == 1);
    for (const AttrSpec& spec : schema->attributes) {
      INFO("attribute " << spec.name);
      CHECK(attributes_used.count(name + "." + spec.name) == 1);
    }
  }
  for (const std::string& op : tested) {
    INFO("the case table names operator " << op);
    CHECK(OpRegistry::global().find(op) != nullptr);
  }
}

TEST_CASE("the built-in operator list is the documented one", "[ops][registry]") {
  std::vector<std::string> expected = {
      "abs",      "add",      "cast",     "concat",   "cos",        "divide",    "exp",      "flatten", "gelu",
      "leaky_relu", "log",    "matmul",   "max",      "maximum",    "mean",      "min",      "minimum", "multiply",
      "negate",   "power",    "prod",     "relu",     "reshape",    "sigmoid",   "sin",      "softmax", "softplus",
      "sqrt",     "subtract", "sum",      "tanh",     "transpose",  "variance",  "where",
      // nn and loss families
      "identity", "gather", "conv1d", "conv2d", "max_pool1d", "max_pool2d", "robust_sqrt", "robust_log",
      "robust_power", "cross_entropy", "binary_cross_entropy",
      // for Python Mithril's library (FloorDivide, ShiftLeft, ShiftRight, StableReciprocal, GroupNorm, Squeeze, ScaledDotProduct,
      // TsnePJoint; the GPR family: Cholesky, GPRAlpha, Eigvalsh, GPRVOuter, and Size/Length as dim_size and eye_of_dim;
      // RNNCell and LSTMCell cutting a state at the batch size: slice_at_dim; Split: split_section)
      "floor_divide", "shift_left", "shift_right", "stable_reciprocal", "cartesian_difference",
      "polynomial_features", "group_norm", "squeeze",
      "scaled_dot_product_attention", "tsne_p_joint", "cholesky", "gpr_alpha", "gpr_eigvalsh", "gpr_v_outer",
      "dim_size", "eye_of_dim", "slice_at_dim", "split_section",
      // --- ONNX nn/math ops (issue 14)
      "log_softmax", "equal", "less", "less_equal", "greater", "greater_equal", "logical_and", "logical_or",
      "logical_xor", "logical_not", "argmax", "argmin", "erf", "floor", "ceil", "round", "sign", "reciprocal", "tan",
      "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "isnan", "isinf", "clip", "mod", "prelu",
      "elu", "selu", "celu", "hard_sigmoid", "hard_swish", "softsign", "thresholded_relu", "shrink", "mish",
      "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d", "conv3d", "conv_transpose1d", "conv_transpose2d",
      "conv_transpose3d", "batch_norm", "instance_norm", "layer_norm", "hardmax",
      // --- ONNX shape/indexing ops (issue 14)
      "slice", "expand", "tile", "pad", "depth_to_space", "space_to_depth", "gather_elements", "scatter_elements",
      "gather_nd", "scatter_nd", "one_hot", "trilu", "cumsum", "resize", "einsum", "top_k_values", "top_k_indices",
      // --- ONNX operators for the conformance suite
      "grid_sample", "reverse_sequence", "tf_idf_vectorizer", "det", "max_unpool"};
  std::sort(expected.begin(), expected.end());
  CHECK(builtin_names() == expected);
}

TEST_CASE("the README's counts of operators and operator cases are the tables'", "[ops][registry]") {
  std::ifstream in(std::string(MITHRIL_TESTDATA) + "/../README.md");
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  WARN(op_cases().size() << " operator cases over " << builtin_names().size() << " built-in operators");
  std::smatch m;
  std::string readme = text.str();
  REQUIRE(std::regex_search(readme, m, std::regex(R"((\d+)\s+operator\s+cases\s+over\s+the\s+(\d+)\s+built-in\s+operators)")));
  CHECK(std::stoul(m[1].str()) == op_cases().size());
  CHECK(std::stoul(m[2].str()) == builtin_names().size());
}
