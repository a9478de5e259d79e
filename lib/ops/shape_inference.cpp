#include "ops/shape_inference.h"

#include <algorithm>
#include <string>

#include "core/error.h"

namespace mithril {

std::optional<Dim> broadcast_dim(const Dim& a, const Dim& b) {
  if (a.is_known() && b.is_known()) {
    if (a.size == b.size || b.size == 1) return a;
    if (a.size == 1) return b;
    return std::nullopt;
  }
  if (a.is_known()) return a.size == 1 ? b : a;
  if (b.is_known()) return b.size == 1 ? a : b;
  if (a.is_named() && a == b) return a;
  return Dim::any();
}

SymShape broadcast_shapes(const std::vector<SymShape>& shapes) {
  SymShape result;
  for (const SymShape& shape : shapes) {
    SymShape merged(std::max(result.size(), shape.size()), Dim::known(1));
    for (std::size_t i = 0; i < merged.size(); ++i) {
      // Aligned on the right: position i counts from the front of the longer shape.
      std::size_t from_end = merged.size() - 1 - i;
      Dim a = from_end < result.size() ? result[result.size() - 1 - from_end] : Dim::known(1);
      Dim b = from_end < shape.size() ? shape[shape.size() - 1 - from_end] : Dim::known(1);
      std::optional<Dim> d = broadcast_dim(a, b);
      if (!d) {
        std::string message = "cannot broadcast ";
        for (std::size_t k = 0; k < shapes.size(); ++k) {
          if (k) message += " with ";
          message += shape_str(shapes[k]);
        }
        throw Error(ErrorKind::shape, message);
      }
      merged[i] = *d;
    }
    result = std::move(merged);
  }
  return result;
}

std::optional<Dim> unify_dim(const Dim& a, const Dim& b) {
  if (a.is_known() && b.is_known()) return a.size == b.size ? std::optional<Dim>(a) : std::nullopt;
  if (a.is_known()) return a;
  if (b.is_known()) return b;
  if (a.is_named() && a == b) return a;
  return Dim::any();
}

Dim dim_product(const SymShape& dims, std::size_t begin, std::size_t end) {
  int64_t known = 1;
  std::vector<Dim> symbolic;
  for (std::size_t i = begin; i < end; ++i) {
    if (dims[i].is_known()) known *= dims[i].size;
    else symbolic.push_back(dims[i]);
  }
  if (symbolic.empty() || known == 0) return Dim::known(known);
  if (symbolic.size() == 1 && known == 1) return symbolic.front();
  return Dim::any();
}

int64_t normalize_axis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    throw Error(ErrorKind::shape, "axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}

std::vector<int64_t> normalize_axes(const std::vector<int64_t>& axes, int64_t rank) {
  std::vector<int64_t> result;
  std::vector<bool> seen(static_cast<std::size_t>(rank), false);
  for (int64_t axis : axes) {
    int64_t a = normalize_axis(axis, rank);
    if (seen[static_cast<std::size_t>(a)])
      throw Error(ErrorKind::shape, "repeated axis " + std::to_string(axis) + " in " + ints_str(axes));
    seen[static_cast<std::size_t>(a)] = true;
    result.push_back(a);
  }
  return result;
}

std::vector<int64_t> reduction_axes(const Attributes& attrs, int64_t rank) {
  std::vector<int64_t> axes;
  if (attr_is_null(attrs, "axes")) {
    for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
  } else {
    axes = normalize_axes(attr_ints(attrs, "axes"), rank);
    std::sort(axes.begin(), axes.end());
  }
  return axes;
}

void require_same_dtype(DType a, DType b) {
  if (a != b)
    throw Error(ErrorKind::shape, "dtype mismatch: " + std::string(dtype_name(a)) + " vs " + std::string(dtype_name(b)));
}

void require_floating(std::string_view op, DType dtype) {
  if (!is_floating(dtype))
    throw Error(ErrorKind::shape,
                std::string(op) + " needs a floating-point input, got " + std::string(dtype_name(dtype)));
}

void require_numeric(std::string_view op, DType dtype) {
  if (!is_floating(dtype) && !is_integer(dtype))
    throw Error(ErrorKind::shape, std::string(op) + " needs a numeric input, got " + std::string(dtype_name(dtype)));
}

std::string ints_str(const std::vector<int64_t>& values) {
  std::string s = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(values[i]);
  }
  return s + "]";
}

}  // namespace mithril
