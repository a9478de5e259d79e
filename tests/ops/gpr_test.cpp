// The GPR family of Python Mithril (cholesky, gpr_alpha, gpr_eigvalsh, gpr_v_outer) and the shape
// readers dim_size and eye_of_dim (and slice_at_dim, which RNN cells cut their states with), beyond their numpy cases: both branches on known answers (a
// positive definite matrix, and one that is not, whose Cholesky is the NaN-only None), what
// inference refuses, and the kernels' errors (a singular matrix, NaN given to a triangular solve).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "core/error.h"
#include "op_test_util.h"
#include "test_util.h"

using namespace mithril;
using mithril::test::infer;
using mithril::test::make;
using mithril::test::run;
using mithril::testing::error_of;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

Tensor f64(Shape shape, const std::vector<double>& values) { return make(DType::float64, std::move(shape), values); }
Tensor nan_matrix(int64_t n) { return f64({n, n}, std::vector<double>(static_cast<std::size_t>(n * n), kNaN)); }
Tensor scalar(double v) { return f64({}, {v}); }

void check_values(const Tensor& t, const std::vector<double>& expected, double tolerance = 1e-12) {
  REQUIRE(t.numel() == static_cast<int64_t>(expected.size()));
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("element " << i);
    CHECK(std::abs(t.value_at(static_cast<int64_t>(i)) - expected[i]) <= tolerance);
  }
}

// [[4, 2], [2, 5]] = L L^T with L = [[2, 0], [1, 2]].
const std::vector<double> kPositive = {4, 2, 2, 5}, kFactor = {2, 0, 1, 2};
// Symmetric with eigenvalues 3 and -1: Cholesky fails at its second pivot.
const std::vector<double> kIndefinite = {1, 2, 2, 1};

}  // namespace

TEST_CASE("cholesky gives the lower factor from the lower triangle, or NaN only for Python's None", "[ops][gpr]") {
  check_values(run("cholesky", {f64({2, 2}, kPositive)}), kFactor);
  // numpy reads the lower triangle only: the upper one does not matter.
  check_values(run("cholesky", {f64({2, 2}, {4, -99, 2, 5})}), kFactor);
  const std::vector<std::vector<double>> not_positive_matrices = {kIndefinite, {0, 0, 0, 1}, {kNaN, 0, 0, 1}};
  for (const auto& not_positive : not_positive_matrices) {
    Tensor l = run("cholesky", {f64({2, 2}, not_positive)});
    for (int64_t i = 0; i < 4; ++i) CHECK(std::isnan(l.value_at(i)));
  }
}

TEST_CASE("gpr_alpha solves with the factor, or with LU on K_term when L is None", "[ops][gpr]") {
  // K alpha = b with K = [[4, 2], [2, 5]], b = [2, 9]: alpha = [-1/16 ... ]; checked as K @ alpha.
  Tensor b = f64({2, 1}, {2, 9});
  Tensor with_factor = run("gpr_alpha", {b, f64({2, 2}, kFactor), f64({2, 2}, kIndefinite)});
  Tensor with_lu = run("gpr_alpha", {b, nan_matrix(2), f64({2, 2}, kPositive)});
  double a0 = with_factor.value_at(0), a1 = with_factor.value_at(1);
  CHECK(std::abs(4 * a0 + 2 * a1 - 2) < 1e-12);
  CHECK(std::abs(2 * a0 + 5 * a1 - 9) < 1e-12);
  check_values(with_lu, {a0, a1});
  // The fallback solves K_term itself, indefinite or not: [[1, 2], [2, 1]] x = [3, 3] -> [1, 1].
  check_values(run("gpr_alpha", {f64({2}, {3, 3}), nan_matrix(2), f64({2, 2}, kIndefinite)}), {1, 1});
  // Several right-hand sides.
  CHECK(shape_str(run("gpr_alpha", {f64({2, 3}, {1, 2, 3, 4, 5, 6}), nan_matrix(2), f64({2, 2}, kPositive)}).shape()) == "[2,3]");
}

TEST_CASE("gpr_eigvalsh is diag(L), or the clipped eigenvalues of K_term's lower triangle when L is None", "[ops][gpr]") {
  check_values(run("gpr_eigvalsh", {f64({2, 2}, kIndefinite), f64({2, 2}, kFactor), scalar(0.5)}), {2, 2});
  check_values(run("gpr_eigvalsh", {f64({2, 2}, kIndefinite), nan_matrix(2), scalar(-5)}), {-1, 3});
  check_values(run("gpr_eigvalsh", {f64({2, 2}, kIndefinite), nan_matrix(2), scalar(2.220446049250313e-16)}), {2.220446049250313e-16, 3});
  // Only the lower triangle counts ([[1, x], [2, 1]] is [[1, 2], [2, 1]]).
  check_values(run("gpr_eigvalsh", {f64({2, 2}, {1, 40, 2, 1}), nan_matrix(2), scalar(-5)}), {-1, 3});
  // A 3 x 3 with known eigenvalues: diag(1, 2, 4) rotated by a permutation is still 1, 2, 4.
  check_values(run("gpr_eigvalsh", {f64({3, 3}, {2, 0, 0, 0, 4, 0, 0, 0, 1}), nan_matrix(3), scalar(-5)}), {1, 2, 4});
}

TEST_CASE("gpr_v_outer is v.T v with the factor, or K.T lstsq(K_term, K) when L is None", "[ops][gpr]") {
  Tensor k = f64({2, 2}, {1, 2, 3, 4});
  // With L, v = L^-1 K and v.T v = K.T (L L^T)^-1 K = K.T K_pd^-1 K: the same as the fallback on K_pd.
  Tensor with_factor = run("gpr_v_outer", {k, f64({2, 2}, kIndefinite), f64({2, 2}, kFactor)});
  Tensor with_lstsq = run("gpr_v_outer", {k, f64({2, 2}, kPositive), nan_matrix(2)});
  std::vector<double> expected;
  for (int64_t i = 0; i < 4; ++i) expected.push_back(with_factor.value_at(i));
  check_values(with_lstsq, expected, 1e-12);
  // A singular K_term: lstsq's minimum-norm solution. K_term = diag(2, 0), K = I: x = diag(1/2, 0)
  // and K.T x = diag(1/2, 0).
  check_values(run("gpr_v_outer", {f64({2, 2}, {1, 0, 0, 1}), f64({2, 2}, {2, 0, 0, 0}), nan_matrix(2)}), {0.5, 0, 0, 0});
  // K [N, M] gives [M, M].
  CHECK(shape_str(run("gpr_v_outer", {f64({2, 3}, {1, 2, 3, 4, 5, 6}), f64({2, 2}, kPositive), nan_matrix(2)}).shape()) == "[3,3]");
}

TEST_CASE("the GPR operators refuse shapes that do not fit, naming what is wrong", "[ops][gpr]") {
  ValueInfo square{DType::float64, {Dim::known(3), Dim::known(3)}}, wide{DType::float64, {Dim::known(3), Dim::known(4)}};
  ValueInfo column{DType::float64, {Dim::known(3), Dim::known(1)}}, other{DType::float64, {Dim::known(2), Dim::known(2)}};
  ValueInfo zero_d{DType::float64, {}};
  CHECK(error_of([&] { infer("cholesky", {wide}); }) == "cholesky: input must be a square matrix [N, N], got [3,4]");
  CHECK(error_of([&] { infer("gpr_alpha", {column, other, square}); }) == "gpr_alpha: L [2,2] and K_term [3,3] differ in size");
  CHECK(error_of([&] { infer("gpr_alpha", {ValueInfo{DType::float64, {Dim::known(2), Dim::known(1)}}, square, square}); }) ==
        "gpr_alpha: label_mu_diff must be [N] or [N, K] with N the size of L [3,3], got [2,1]");
  CHECK(error_of([&] { infer("gpr_eigvalsh", {square, square, column}); }) == "gpr_eigvalsh: threshold must be a scalar (0-d), got [3,1]");
  CHECK(error_of([&] { infer("gpr_v_outer", {ValueInfo{DType::float64, {Dim::known(4), Dim::known(2)}}, square, square}); }) ==
        "gpr_v_outer: K must be [N, M] with N the size of K_term [3,3], got [4,2]");
  CHECK(error_of([&] { infer("gpr_v_outer", {square, wide, square}); }) == "gpr_v_outer: K_term must be a square matrix [N, N], got [3,4]");
  CHECK(error_of([&] { infer("cholesky", {ValueInfo{DType::int64, {Dim::known(2), Dim::known(2)}}}); }).find("floating") != std::string::npos);
  // Symbols: square when both axes are the same symbol.
  ValueInfo symbolic{DType::float64, {Dim::named("n"), Dim::named("n")}};
  CHECK(shape_str(infer("gpr_eigvalsh", {symbolic, symbolic, zero_d}).shape) == "[n]");
}

TEST_CASE("the GPR kernels refuse a singular matrix and NaN given to a triangular solve", "[ops][gpr]") {
  Tensor b = f64({2, 1}, {1, 1});
  CHECK(error_of([&] { run("gpr_alpha", {b, nan_matrix(2), f64({2, 2}, {1, 2, 2, 4})}); }) ==
        "the matrix is singular (pivot 1 is 0; numpy.linalg.solve: Singular matrix)");
  CHECK(error_of([&] { run("gpr_alpha", {b, f64({2, 2}, {2, 0, kNaN, 2}), nan_matrix(2)}); }) ==
        "L or the right-hand side holds NaN or infinity (scipy's solve_triangular refuses them)");
  CHECK(error_of([&] { run("gpr_alpha", {f64({2, 1}, {1, kNaN}), f64({2, 2}, kFactor), nan_matrix(2)}); }) ==
        "L or the right-hand side holds NaN or infinity (scipy's solve_triangular refuses them)");
  CHECK(error_of([&] { run("gpr_v_outer", {f64({2, 2}, {1, 0, 0, 1}), nan_matrix(2), f64({2, 2}, {1, 0, 1, 0})}); }) ==
        "L is singular: its diagonal entry 1 is 0 (scipy's solve_triangular: singular matrix: resolution failed at diagonal 1)");
}

TEST_CASE("dim_size and eye_of_dim read the input's shape only", "[ops][gpr]") {
  Tensor x = f64({3, 2}, {kNaN, kNaN, kNaN, kNaN, kNaN, kNaN});
  CHECK(run("dim_size", {x}, {{"axis", int64_t{0}}}).value_at(0) == 3);
  CHECK(run("dim_size", {x}, {{"axis", AttrValue{}}, {"dtype", std::string("float64")}}).value_at(0) == 6);
  Tensor eye = run("eye_of_dim", {x}, {{"axis", int64_t{-1}}});
  CHECK(shape_str(eye.shape()) == "[2,2]");
  check_values(eye, {1, 0, 0, 1});
  ValueInfo symbolic{DType::float32, {Dim::named("batch"), Dim::known(4)}};
  CHECK(shape_str(infer("eye_of_dim", {symbolic}, {{"axis", int64_t{0}}}).shape) == "[batch,batch]");
  CHECK(error_of([&] { infer("dim_size", {symbolic}, {{"axis", int64_t{2}}}); }) == "axis 2 is out of range for rank 2");
  CHECK(error_of([&] { infer("eye_of_dim", {symbolic}, {{"axis", int64_t{0}}, {"dtype", std::string("complex64")}}); }) ==
        "eye_of_dim: dtype must be an integer or floating dtype, got 'complex64'");
}

TEST_CASE("slice_at_dim cuts at another value's size, symbolic sizes included", "[ops][rnn]") {
  Tensor state = f64({4, 1, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  Tensor input = f64({3, 1, 1}, {kNaN, kNaN, kNaN});  // only its shape is read
  check_values(run("slice_at_dim", {state, input}, {{"keep", std::string("before")}}), {1, 2, 3, 4, 5, 6});
  check_values(run("slice_at_dim", {state, input}, {{"keep", std::string("after")}}), {7, 8});
  ValueInfo batch{DType::float64, {Dim::named("N"), Dim::known(1), Dim::known(5)}};
  ValueInfo other{DType::float64, {Dim::named("M"), Dim::known(1), Dim::known(5)}};
  ValueInfo known{DType::float64, {Dim::known(2), Dim::known(1), Dim::known(5)}};
  auto shape_of = [](const ValueInfo& x, const ValueInfo& like, const char* keep) {
    return shape_str(infer("slice_at_dim", {x, like}, {{"keep", std::string(keep)}}).shape);
  };
  CHECK(shape_of(batch, batch, "before") == "[N,1,5]");
  CHECK(shape_of(batch, batch, "after") == "[0,1,5]");
  CHECK(shape_of(other, batch, "before") == "[null,1,5]");
  CHECK(shape_of(known, batch, "after") == "[null,1,5]");
  CHECK(shape_of(known, known, "before") == "[2,1,5]");
  CHECK(error_of([&] { infer("slice_at_dim", {batch, batch}, {{"keep", std::string("middle")}}); }) ==
        "slice_at_dim: keep must be \"before\" or \"after\", got 'middle'");
  CHECK(error_of([&] { infer("slice_at_dim", {ValueInfo{DType::float64, {}}, batch}, {{"keep", std::string("before")}}); }) ==
        "slice_at_dim: the input must have at least one axis");
}
