// Linear algebra: matmul with numpy semantics, det (ONNX Det), and the Gaussian-process
// regression family of Python Mithril (cholesky, gpr_alpha, gpr_eigvalsh, gpr_v_outer).
//
// Python's numpy backend computes `cholesky` as numpy.linalg.cholesky or None when the matrix is
// not positive definite, and the three GPR operators branch on that None. Here a tensor cannot be
// None, so cholesky's answer for "not positive definite" is a matrix of NaN only: a factor that
// exists never holds a NaN (LAPACK stops at the first NaN or non-positive pivot), so the marker
// cannot be mistaken for one. The GPR operators take an L made entirely of NaN as Python's None
// and compute its fallback; any other L is used as the factor.
#include <optional>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "core/error.h"
#include "ops/families.h"
#include "ops/shape_inference.h"

namespace mithril {

namespace {

// numpy.matmul: the last two axes are matrices, the leading ones broadcast as a batch. A 1-D left
// operand is a row vector and a 1-D right operand a column vector; their added axis is dropped
// from the result.
ValueInfo infer_matmul(const std::vector<ValueInfo>& in, const Attributes&) {
  require_same_dtype(in[0].dtype, in[1].dtype);
  require_numeric("matmul", in[0].dtype);
  const SymShape& left = in[0].shape;
  const SymShape& right = in[1].shape;
  if (left.empty() || right.empty())
    throw Error(ErrorKind::shape, "matmul needs operands of rank 1 or more: " + shape_str(left) + " @ " +
                                      shape_str(right));
  SymShape a = left.size() == 1 ? SymShape{Dim::known(1), left[0]} : left;
  SymShape b = right.size() == 1 ? SymShape{right[0], Dim::known(1)} : right;
  if (!unify_dim(a.back(), b[b.size() - 2]))
    throw Error(ErrorKind::shape, "inner dimensions differ: " + shape_str(left) + " @ " + shape_str(right));
  SymShape batch;
  try {
    batch = broadcast_shapes({SymShape(a.begin(), a.end() - 2), SymShape(b.begin(), b.end() - 2)});
  } catch (const Error&) {
    throw Error(ErrorKind::shape, "batch dimensions do not broadcast: " + shape_str(left) + " @ " + shape_str(right));
  }
  SymShape out = batch;
  if (left.size() > 1) out.push_back(a[a.size() - 2]);
  if (right.size() > 1) out.push_back(b.back());
  return ValueInfo{in[0].dtype, out};
}

// numpy.linalg.det / ONNX Det: [..., m, m] -> [...].
ValueInfo infer_det(const std::vector<ValueInfo>& in, const Attributes&) {
  require_floating("det", in[0].dtype);
  const SymShape& x = in[0].shape;
  if (x.size() < 2 || !unify_dim(x[x.size() - 2], x.back()))
    throw Error(ErrorKind::shape, "det: input must be square matrices [..., m, m], got " + shape_str(x));
  return ValueInfo{in[0].dtype, SymShape(x.begin(), x.end() - 2)};
}

// [N, N] with a known or symbolic N: the square matrix operand `what` of `op`.
Dim square(const char* op, const char* what, const ValueInfo& v) {
  const SymShape& s = v.shape;
  std::optional<Dim> n = s.size() == 2 ? unify_dim(s[0], s[1]) : std::nullopt;
  if (!n) throw Error(ErrorKind::shape, std::string(op) + ": " + what + " must be a square matrix [N, N], got " + shape_str(s));
  return *n;
}

// Each of `matrices` square, all of one size and dtype; returns that size.
Dim same_square(const char* op, const std::vector<std::pair<const char*, const ValueInfo*>>& matrices) {
  Dim n = square(op, matrices[0].first, *matrices[0].second);
  for (std::size_t i = 1; i < matrices.size(); ++i) {
    require_same_dtype(matrices[0].second->dtype, matrices[i].second->dtype);
    std::optional<Dim> m = unify_dim(n, square(op, matrices[i].first, *matrices[i].second));
    if (!m)
      throw Error(ErrorKind::shape, fmt::format("{}: {} {} and {} {} differ in size", op, matrices[0].first,
                                                shape_str(matrices[0].second->shape), matrices[i].first, shape_str(matrices[i].second->shape)));
    n = *m;
  }
  return n;
}

// numpy.linalg.cholesky of the lower triangle; [N, N] -> [N, N].
ValueInfo infer_cholesky(const std::vector<ValueInfo>& in, const Attributes&) {
  require_floating("cholesky", in[0].dtype);
  Dim n = square("cholesky", "input", in[0]);
  return ValueInfo{in[0].dtype, {n, n}};
}

// label_mu_diff [N] or [N, K], L and K_term [N, N] -> label_mu_diff's shape.
ValueInfo infer_gpr_alpha(const std::vector<ValueInfo>& in, const Attributes&) {
  require_floating("gpr_alpha", in[0].dtype);
  require_same_dtype(in[0].dtype, in[1].dtype);
  Dim n = same_square("gpr_alpha", {{"L", &in[1]}, {"K_term", &in[2]}});
  const SymShape& b = in[0].shape;
  std::optional<Dim> rows = b.size() == 1 || b.size() == 2 ? unify_dim(b[0], n) : std::nullopt;
  if (!rows)
    throw Error(ErrorKind::shape, fmt::format("gpr_alpha: label_mu_diff must be [N] or [N, K] with N the size of L {}, got {}",
                                              shape_str(in[1].shape), shape_str(b)));
  SymShape out = b;
  out[0] = *rows;
  return ValueInfo{in[0].dtype, out};
}

// K_term and L [N, N], threshold 0-d -> [N].
ValueInfo infer_gpr_eigvalsh(const std::vector<ValueInfo>& in, const Attributes&) {
  require_floating("gpr_eigvalsh", in[0].dtype);
  Dim n = same_square("gpr_eigvalsh", {{"K_term", &in[0]}, {"L", &in[1]}});
  require_same_dtype(in[0].dtype, in[2].dtype);
  if (!in[2].shape.empty()) throw Error(ErrorKind::shape, "gpr_eigvalsh: threshold must be a scalar (0-d), got " + shape_str(in[2].shape));
  return ValueInfo{in[0].dtype, {n}};
}

// K [N, M], K_term and L [N, N] -> [M, M].
ValueInfo infer_gpr_v_outer(const std::vector<ValueInfo>& in, const Attributes&) {
  require_floating("gpr_v_outer", in[0].dtype);
  require_same_dtype(in[0].dtype, in[1].dtype);
  Dim n = same_square("gpr_v_outer", {{"K_term", &in[1]}, {"L", &in[2]}});
  const SymShape& k = in[0].shape;
  if (k.size() != 2 || !unify_dim(k[0], n))
    throw Error(ErrorKind::shape, fmt::format("gpr_v_outer: K must be [N, M] with N the size of K_term {}, got {}", shape_str(in[1].shape),
                                              shape_str(k)));
  return ValueInfo{in[0].dtype, {k[1], k[1]}};
}

}  // namespace

void register_linalg_ops(OpRegistry& registry) {
  registry.add(builtin_schema(
      "matmul",
      "Matrix product with numpy.matmul semantics: [..., m, k] @ [..., k, n] -> [..., m, n] with the batch axes "
      "broadcast; a 1-D left operand is a row vector and a 1-D right operand a column vector, and that axis is "
      "dropped from the result.",
      {{"left"}, {"right"}}, {}, infer_matmul));
  registry.add(builtin_schema(
      "det",
      "Determinant of each square matrix of the last two axes ([..., m, m] -> [...]; numpy.linalg.det, ONNX Det), "
      "by LU decomposition with partial pivoting in float64.",
      {{"input"}}, {}, infer_det));
  registry.add(builtin_schema(
      "cholesky",
      "numpy.linalg.cholesky of a square matrix [N, N]: the lower factor L with L @ L.T equal to the input, read "
      "from its lower triangle only (the upper one is ignored, as LAPACK's potrf does); L's upper triangle is 0. "
      "Where numpy raises (a pivot not positive, or NaN) and Python Mithril's cholesky gives None, the output is "
      "a matrix of NaN only, which gpr_alpha, gpr_eigvalsh and gpr_v_outer read as that None.",
      {{"input"}}, {}, infer_cholesky));
  registry.add(builtin_schema(
      "gpr_alpha",
      "Python Mithril's gpr_alpha: with a Cholesky factor L (lower), solve_triangular(L.T, solve_triangular(L, "
      "label_mu_diff, lower=True)) (L's lower triangle is read; like scipy it refuses NaN or infinity in L or "
      "label_mu_diff and a zero on L's diagonal); with L made of NaN only (cholesky's None), "
      "numpy.linalg.solve(K_term, label_mu_diff) by LU with partial pivoting (a singular K_term is an error, as "
      "in numpy). label_mu_diff is [N] or [N, K]; L and K_term are [N, N].",
      {{"label_mu_diff"}, {"L"}, {"K_term"}}, {}, infer_gpr_alpha));
  registry.add(builtin_schema(
      "gpr_eigvalsh",
      "Python Mithril's eigvalsh, the log-determinant terms of the GPR loss: diag(L) [N] when L is a Cholesky "
      "factor; with L made of NaN only (cholesky's None), numpy.clip(numpy.linalg.eigvalsh(K_term), threshold, None): "
      "the eigenvalues of the symmetric matrix K_term's lower triangle stands for, ascending (cyclic Jacobi), "
      "raised to threshold (0-d).",
      {{"K_term"}, {"L"}, {"threshold"}}, {}, infer_gpr_eigvalsh));
  registry.add(builtin_schema(
      "gpr_v_outer",
      "Python Mithril's gpr_v_outer: with a Cholesky factor L, v.T @ v with v = solve_triangular(L, K, lower=True) "
      "(scipy's checks, as gpr_alpha); with L made of NaN only (cholesky's None), K.T @ numpy.linalg.lstsq(K_term, "
      "K)[0]: the minimum-norm least-squares solution by singular values (one-sided Jacobi), those at most "
      "eps * N times the largest taken as 0 (numpy's default rcond). K is [N, M], K_term and L [N, N]; the "
      "output is [M, M].",
      {{"K"}, {"K_term"}, {"L"}}, {}, infer_gpr_v_outer));
}

}  // namespace mithril
