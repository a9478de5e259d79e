// Reference kernels of matmul (the textbook triple loop per batch entry), det (LU with partial
// pivoting in float64) and the GPR family: cholesky, gpr_alpha, gpr_eigvalsh, gpr_v_outer (what
// they compute, and how cholesky's None is a matrix of NaN only: lib/ops/linalg.cpp), in float64
// with small textbook decompositions (Cholesky, triangular and LU solves, cyclic Jacobi for
// symmetric eigenvalues, one-sided Jacobi singular values for least squares).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "backends/reference/families.h"
#include "core/error.h"
#include "ops/shape_inference.h"

namespace mithril {

namespace {


void matmul_kernel(const std::vector<Tensor>& in, const Attributes&, Tensor& out) {
  // 1-D operands become a row (left) or a column (right); `out` already has the squeezed shape,
  // whose C-order layout is the same.
  Shape a = in[0].shape(), b = in[1].shape();
  if (a.size() == 1) a.insert(a.begin(), 1);
  if (b.size() == 1) b.push_back(1);
  int64_t m = a[a.size() - 2], k = a.back(), n = b.back();
  Shape a_batch(a.begin(), a.end() - 2), b_batch(b.begin(), b.end() - 2);
  Shape batch = to_shape(broadcast_shapes({to_sym_shape(a_batch), to_sym_shape(b_batch)}));
  std::vector<int64_t> a_offsets = broadcast_offsets(a_batch, batch, m * k);
  std::vector<int64_t> b_offsets = broadcast_offsets(b_batch, batch, k * n);
  dispatch_numeric("matmul", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* y = out.mutable_data_as<T>();
    for (std::size_t e = 0; e < a_offsets.size(); ++e) {
      const T* x = in[0].data_as<T>() + a_offsets[e];
      const T* w = in[1].data_as<T>() + b_offsets[e];
      T* z = y + static_cast<int64_t>(e) * m * n;
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          T sum = 0;
          for (int64_t p = 0; p < k; ++p) sum = wrapping_add(sum, wrapping_multiply(x[i * k + p], w[p * n + j]));
          z[i * n + j] = sum;
        }
    }
  });
}

// A row-major float64 matrix: the working form of the decompositions below (every dtype is
// computed in float64, as det is, then narrowed to the output's dtype).
struct Matrix {
  int64_t rows = 0, cols = 0;
  std::vector<double> v;
  Matrix(int64_t r, int64_t c) : rows(r), cols(c), v(static_cast<std::size_t>(r * c)) {}
  double& operator()(int64_t i, int64_t j) { return v[static_cast<std::size_t>(i * cols + j)]; }
  double operator()(int64_t i, int64_t j) const { return v[static_cast<std::size_t>(i * cols + j)]; }
  bool all_nan() const {
    return std::all_of(v.begin(), v.end(), [](double x) { return std::isnan(x); });
  }
  bool all_finite() const {
    return std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
  }
};

// Elements [offset, offset + rows * cols) of `t` as a matrix (a 1-D tensor is one column).
Matrix matrix_of(const Tensor& t, int64_t offset = 0) {
  const Shape& s = t.shape();
  int64_t rows = s.empty() ? 1 : s[s.size() >= 2 ? s.size() - 2 : 0], cols = s.size() >= 2 ? s.back() : 1;
  Tensor wide = t.cast(DType::float64);
  Matrix m(rows, cols);
  std::copy_n(wide.data_as<double>() + offset, m.v.size(), m.v.begin());
  return m;
}

// `values` (as many as `out` holds) narrowed to out's dtype.
void store(const std::vector<double>& values, Tensor& out) {
  Tensor wide(DType::float64, out.shape());
  std::copy_n(values.begin(), out.numel(), wide.mutable_data_as<double>());
  Tensor narrow = wide.cast(out.dtype());
  std::memcpy(out.mutable_data(), narrow.data(), out.nbytes());
}

// LU decomposition with partial pivoting in place, LAPACK getrf's choice of pivot (the first of
// largest magnitude in the column): `a` becomes L (unit, below the diagonal) and U, pivots[k] the
// row swapped with k at step k. Returns the first step whose pivot is exactly 0 (the matrix is
// singular; the factorization stops there), or -1.
int64_t lu_factor(Matrix& a, std::vector<int64_t>& pivots) {
  int64_t m = a.rows;
  pivots.assign(static_cast<std::size_t>(m), 0);
  for (int64_t k = 0; k < m; ++k) {
    int64_t pivot = k;
    for (int64_t i = k + 1; i < m; ++i)
      if (std::abs(a(i, k)) > std::abs(a(pivot, k))) pivot = i;
    pivots[static_cast<std::size_t>(k)] = pivot;
    double p = a(pivot, k);
    if (p == 0) return k;
    if (pivot != k)
      for (int64_t j = 0; j < m; ++j) std::swap(a(k, j), a(pivot, j));
    for (int64_t i = k + 1; i < m; ++i) {
      double f = a(i, k) /= p;
      for (int64_t j = k + 1; j < m; ++j) a(i, j) -= f * a(k, j);
    }
  }
  return -1;
}

void det_kernel(const std::vector<Tensor>& in, const Attributes&, Tensor& out) {
  int64_t m = in[0].shape().back();
  std::vector<double> dets(static_cast<std::size_t>(out.numel()));
  std::vector<int64_t> pivots;
  Tensor wide = in[0].cast(DType::float64);
  for (int64_t e = 0; e < out.numel(); ++e) {
    Matrix a = matrix_of(wide, e * m * m);
    double det = 1;
    if (lu_factor(a, pivots) >= 0) det = 0;
    for (int64_t k = 0; k < m && det != 0; ++k) det *= pivots[static_cast<std::size_t>(k)] != k ? -a(k, k) : a(k, k);
    dets[static_cast<std::size_t>(e)] = det;
  }
  store(dets, out);
}

// numpy.linalg.solve(a, b) (LAPACK gesv: LU with partial pivoting); b is [N, K], solved in place.
void lu_solve(Matrix a, Matrix& b) {
  std::vector<int64_t> pivots;
  if (int64_t k = lu_factor(a, pivots); k >= 0)
    throw Error(ErrorKind::invalid_argument, fmt::format("the matrix is singular (pivot {} is 0; numpy.linalg.solve: Singular matrix)", k));
  int64_t n = a.rows;
  for (int64_t k = 0; k < n; ++k)
    if (int64_t p = pivots[static_cast<std::size_t>(k)]; p != k)
      for (int64_t j = 0; j < b.cols; ++j) std::swap(b(k, j), b(p, j));
  for (int64_t j = 0; j < b.cols; ++j) {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < i; ++k) b(i, j) -= a(i, k) * b(k, j);
    for (int64_t i = n - 1; i >= 0; --i) {
      for (int64_t k = i + 1; k < n; ++k) b(i, j) -= a(i, k) * b(k, j);
      b(i, j) /= a(i, i);
    }
  }
}

// numpy.linalg.cholesky (LAPACK potrf, lower): L from a's lower triangle, column by column;
// false at the first pivot that is not positive or is NaN (where numpy raises LinAlgError).
bool cholesky_lower(const Matrix& a, Matrix& l) {
  int64_t n = a.rows;
  std::fill(l.v.begin(), l.v.end(), 0.0);
  for (int64_t j = 0; j < n; ++j) {
    double d = a(j, j);
    for (int64_t k = 0; k < j; ++k) d -= l(j, k) * l(j, k);
    if (!(d > 0)) return false;
    l(j, j) = std::sqrt(d);
    for (int64_t i = j + 1; i < n; ++i) {
      double x = a(i, j);
      for (int64_t k = 0; k < j; ++k) x -= l(i, k) * l(j, k);
      l(i, j) = x / l(j, j);
    }
  }
  return true;
}

// scipy.linalg.solve_triangular(L, b, lower=True) with L's lower triangle, or with `transposed`
// solve_triangular(L.T, b, lower=False); b [N, K] solved in place. Like scipy (check_finite and
// LAPACK trtrs), refuses NaN or infinity in L or b and a zero on L's diagonal.
void solve_lower(const Matrix& l, Matrix& b, bool transposed) {
  if (!l.all_finite() || !b.all_finite())
    throw Error(ErrorKind::invalid_argument, "L or the right-hand side holds NaN or infinity (scipy's solve_triangular refuses them)");
  int64_t n = l.rows;
  for (int64_t i = 0; i < n; ++i)
    if (l(i, i) == 0)
      throw Error(ErrorKind::invalid_argument, fmt::format("L is singular: its diagonal entry {} is 0 (scipy's solve_triangular: "
                                                           "singular matrix: resolution failed at diagonal {})", i, i));
  for (int64_t j = 0; j < b.cols; ++j) {
    if (!transposed) {
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t k = 0; k < i; ++k) b(i, j) -= l(i, k) * b(k, j);
        b(i, j) /= l(i, i);
      }
    } else {
      for (int64_t i = n - 1; i >= 0; --i) {
        for (int64_t k = i + 1; k < n; ++k) b(i, j) -= l(k, i) * b(k, j);
        b(i, j) /= l(i, i);
      }
    }
  }
}

// tan of the Jacobi rotation angle that zeroes an off-diagonal entry: the smaller root of
// t^2 + 2 theta t - 1 = 0 (1 / (2 theta) where theta^2 would overflow).
double jacobi_tangent(double theta) {
  if (std::abs(theta) > 1e150) return 0.5 / theta;
  return (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1));
}

// numpy.linalg.eigvalsh(a) (UPLO 'L'): the eigenvalues of the symmetric matrix a's lower
// triangle stands for, ascending, by cyclic Jacobi rotations until the off-diagonal part is
// below eps times the matrix's norm (an error of the size LAPACK's has). NaN or infinity in that
// triangle gives NaN throughout.
std::vector<double> symmetric_eigenvalues(Matrix s) {
  int64_t n = s.rows;
  std::vector<double> values(static_cast<std::size_t>(n), std::numeric_limits<double>::quiet_NaN());
  double norm = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j <= i; ++j) {
      if (!std::isfinite(s(i, j))) return values;
      s(j, i) = s(i, j);
      norm += (i == j ? 1 : 2) * s(i, j) * s(i, j);
    }
  const double tolerance = std::numeric_limits<double>::epsilon() * std::numeric_limits<double>::epsilon() * norm;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (int64_t p = 0; p < n; ++p)
      for (int64_t q = p + 1; q < n; ++q) off += 2 * s(p, q) * s(p, q);
    if (off <= tolerance) break;
    for (int64_t p = 0; p < n; ++p)
      for (int64_t q = p + 1; q < n; ++q) {
        double apq = s(p, q);
        if (apq == 0) continue;
        double t = jacobi_tangent((s(q, q) - s(p, p)) / (2 * apq));
        double c = 1 / std::sqrt(t * t + 1), sn = t * c;
        s(p, p) -= t * apq;
        s(q, q) += t * apq;
        s(p, q) = s(q, p) = 0;
        for (int64_t r = 0; r < n; ++r) {
          if (r == p || r == q) continue;
          double arp = s(r, p), arq = s(r, q);
          s(r, p) = s(p, r) = c * arp - sn * arq;
          s(r, q) = s(q, r) = sn * arp + c * arq;
        }
      }
  }
  for (int64_t i = 0; i < n; ++i) values[static_cast<std::size_t>(i)] = s(i, i);
  std::sort(values.begin(), values.end());
  return values;
}

// numpy.linalg.lstsq(a, b)[0] (LAPACK gelsd): the minimum-norm least-squares solution, through
// the singular value decomposition of a by one-sided Jacobi rotations of its columns; singular
// values at most rcond times the largest count as 0, rcond = eps * max(rows, cols) (numpy's
// default). a is [M, N], b [M, K]; the result [N, K].
Matrix least_squares(Matrix u, const Matrix& b) {
  int64_t m = u.rows, n = u.cols;
  Matrix v(n, n);
  for (int64_t i = 0; i < n; ++i) v(i, i) = 1;
  const double eps = std::numeric_limits<double>::epsilon();
  auto rotate = [](Matrix& x, int64_t p, int64_t q, double c, double s) {
    for (int64_t i = 0; i < x.rows; ++i) {
      double xp = x(i, p), xq = x(i, q);
      x(i, p) = c * xp - s * xq;
      x(i, q) = s * xp + c * xq;
    }
  };
  for (int sweep = 0; sweep < 100; ++sweep) {
    bool orthogonal = true;
    for (int64_t p = 0; p < n; ++p)
      for (int64_t q = p + 1; q < n; ++q) {
        double alpha = 0, beta = 0, gamma = 0;
        for (int64_t i = 0; i < m; ++i) {
          alpha += u(i, p) * u(i, p);
          beta += u(i, q) * u(i, q);
          gamma += u(i, p) * u(i, q);
        }
        if (!(std::abs(gamma) > eps * std::sqrt(alpha) * std::sqrt(beta))) continue;
        orthogonal = false;
        double t = jacobi_tangent((beta - alpha) / (2 * gamma));
        double c = 1 / std::sqrt(t * t + 1);
        rotate(u, p, q, c, c * t);
        rotate(v, p, q, c, c * t);
      }
    if (orthogonal) break;
  }
  // a = U diag(sigma) V^T with sigma_j the norm of column j of the rotated a: x = sum over
  // significant j of v_j (column_j . b) / sigma_j^2.
  std::vector<double> sigma(static_cast<std::size_t>(n));
  double largest = 0;
  for (int64_t j = 0; j < n; ++j) {
    double sum = 0;
    for (int64_t i = 0; i < m; ++i) sum += u(i, j) * u(i, j);
    largest = std::max(largest, sigma[static_cast<std::size_t>(j)] = std::sqrt(sum));
  }
  const double cutoff = eps * static_cast<double>(std::max(m, n)) * largest;
  Matrix x(n, b.cols);
  for (int64_t j = 0; j < n; ++j) {
    double sj = sigma[static_cast<std::size_t>(j)];
    if (!(sj > cutoff)) continue;
    for (int64_t k = 0; k < b.cols; ++k) {
      double dot = 0;
      for (int64_t i = 0; i < m; ++i) dot += u(i, j) * b(i, k);
      double coefficient = dot / (sj * sj);
      for (int64_t i = 0; i < n; ++i) x(i, k) += v(i, j) * coefficient;
    }
  }
  return x;
}

// a.T @ b for a [N, M] and b [N, K].
std::vector<double> transposed_product(const Matrix& a, const Matrix& b) {
  std::vector<double> y(static_cast<std::size_t>(a.cols * b.cols), 0.0);
  for (int64_t i = 0; i < a.cols; ++i)
    for (int64_t j = 0; j < b.cols; ++j) {
      double sum = 0;
      for (int64_t k = 0; k < a.rows; ++k) sum += a(k, i) * b(k, j);
      y[static_cast<std::size_t>(i * b.cols + j)] = sum;
    }
  return y;
}

// Python's cholesky: L, or NaN only where it gives None (see lib/ops/linalg.cpp).
void cholesky_kernel(const std::vector<Tensor>& in, const Attributes&, Tensor& out) {
  Matrix a = matrix_of(in[0]), l(a.rows, a.cols);
  if (!cholesky_lower(a, l)) std::fill(l.v.begin(), l.v.end(), std::numeric_limits<double>::quiet_NaN());
  store(l.v, out);
}

void gpr_alpha_kernel(const std::vector<Tensor>& in, const Attributes&, Tensor& out) {
  Matrix b = matrix_of(in[0]), l = matrix_of(in[1]);
  if (l.all_nan()) {
    lu_solve(matrix_of(in[2]), b);
  } else {
    solve_lower(l, b, false);
    solve_lower(l, b, true);
  }
  store(b.v, out);
}

void gpr_eigvalsh_kernel(const std::vector<Tensor>& in, const Attributes&, Tensor& out) {
  Matrix l = matrix_of(in[1]);
  std::vector<double> values(static_cast<std::size_t>(l.rows));
  if (!l.all_nan()) {
    for (int64_t i = 0; i < l.rows; ++i) values[static_cast<std::size_t>(i)] = l(i, i);
  } else {
    // numpy.clip(x, threshold, None): NaN stays NaN.
    double threshold = in[2].value_at(0);
    values = symmetric_eigenvalues(matrix_of(in[0]));
    for (double& x : values) x = std::isnan(x) ? x : std::max(x, threshold);
  }
  store(values, out);
}

void gpr_v_outer_kernel(const std::vector<Tensor>& in, const Attributes&, Tensor& out) {
  Matrix k = matrix_of(in[0]), l = matrix_of(in[2]);
  if (l.all_nan()) {
    store(transposed_product(k, least_squares(matrix_of(in[1]), k)), out);
  } else {
    Matrix v = k;
    solve_lower(l, v, false);
    store(transposed_product(v, v), out);
  }
}

}  // namespace

void register_reference_linalg_kernels(OpRegistry& registry) {
  registry.add_kernel("matmul", kReferenceBackend, matmul_kernel);
  registry.add_kernel("det", kReferenceBackend, det_kernel);
  registry.add_kernel("cholesky", kReferenceBackend, cholesky_kernel);
  registry.add_kernel("gpr_alpha", kReferenceBackend, gpr_alpha_kernel);
  registry.add_kernel("gpr_eigvalsh", kReferenceBackend, gpr_eigvalsh_kernel);
  registry.add_kernel("gpr_v_outer", kReferenceBackend, gpr_v_outer_kernel);
}

}  // namespace mithril
