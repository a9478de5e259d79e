#include "core/shape.h"

#include <cassert>

#include "core/error.h"

namespace mithril {

int64_t shape_numel(const Shape& shape) {
  constexpr int64_t kMax = int64_t{1} << 62;
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw Error(ErrorKind::shape, "shape " + shape_str(shape) + ": negative dimension");
    if (d != 0 && n > kMax / d) throw Error(ErrorKind::shape, "shape " + shape_str(shape) + ": too many elements");
    n *= d;
  }
  return n;
}

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

SymShape to_sym_shape(const Shape& shape) {
  SymShape out;
  out.reserve(shape.size());
  for (int64_t d : shape) out.push_back(Dim::known(d));
  return out;
}

bool is_concrete(const SymShape& shape) {
  for (const Dim& d : shape)
    if (!d.is_known()) return false;
  return true;
}

bool shape_fits(const SymShape& declared, const Shape& shape) {
  if (declared.size() != shape.size()) return false;
  for (std::size_t i = 0; i < shape.size(); ++i)
    if (declared[i].is_known() && declared[i].size != shape[i]) return false;
  return true;
}

Shape to_shape(const SymShape& shape) {
  assert(is_concrete(shape));
  Shape out;
  out.reserve(shape.size());
  for (const Dim& d : shape) out.push_back(d.size);
  return out;
}

std::string shape_str(const SymShape& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    const Dim& d = shape[i];
    s += d.is_known() ? std::to_string(d.size) : d.is_named() ? d.symbol : "null";
  }
  return s + "]";
}

}  // namespace mithril
