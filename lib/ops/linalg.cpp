// Linear algebra: matmul with numpy semantics, det (ONNX Det).
#include <string>

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
}

}  // namespace mithril
