#include "tools/tensor_print.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <vector>

#include <fmt/format.h>

namespace mithril::tools {
namespace {

// `single`: the value is a float32 (or narrower): printed in its shortest round-trip form, as
// numpy does, instead of with `precision` digits that would show float noise.
std::string format_real(double v, bool floating, int precision, bool single = false) {
  if (!floating) return fmt::format("{}", static_cast<long long>(v));
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  std::string s = single ? fmt::format("{}", static_cast<float>(v)) : fmt::format("{:.{}g}", v, precision);
  // numpy marks floats that print as integers with a trailing dot: "2."
  if (s.find_first_of(".eEn") == std::string::npos) s += ".";
  return s;
}

std::string format_element(const Tensor& t, int64_t i, int precision) {
  if (t.dtype() == DType::bool_) return t.value_at(i) != 0 ? "True" : "False";
  if (is_complex(t.dtype())) {
    std::complex<double> c = t.dtype() == DType::complex64
                                 ? std::complex<double>(t.data_as<std::complex<float>>()[i])
                                 : t.data_as<std::complex<double>>()[i];
    std::string im = format_real(std::abs(c.imag()), true, precision);
    return fmt::format("({}{}{}j)", format_real(c.real(), true, precision), c.imag() < 0 ? "-" : "+", im);
  }
  if (is_integer(t.dtype()) && (t.dtype() == DType::uint64 || t.dtype() == DType::int64)) {
    if (t.dtype() == DType::uint64) return fmt::format("{}", t.data_as<uint64_t>()[i]);
    return fmt::format("{}", t.data_as<int64_t>()[i]);
  }
  return format_real(t.value_at(i), is_floating(t.dtype()), precision, t.dtype() != DType::float64);
}

struct Printer {
  const Tensor& t;
  const PrintOptions& o;
  bool abbreviate;
  std::vector<int64_t> strides;
  std::vector<std::string> cells;  // formatted elements, indexed by flat index (only those printed)
  std::size_t width = 0;

  std::vector<int64_t> indices(int64_t size) const {
    std::vector<int64_t> out;
    if (abbreviate && size > 2 * o.edgeitems) {
      for (int64_t i = 0; i < o.edgeitems; ++i) out.push_back(i);
      out.push_back(-1);  // the "..." marker
      for (int64_t i = size - o.edgeitems; i < size; ++i) out.push_back(i);
    } else {
      for (int64_t i = 0; i < size; ++i) out.push_back(i);
    }
    return out;
  }

  void collect(std::size_t axis, int64_t offset, std::vector<int64_t>& flat) const {
    if (axis == t.shape().size()) {
      flat.push_back(offset);
      return;
    }
    for (int64_t i : indices(t.shape()[axis]))
      if (i >= 0) collect(axis + 1, offset + i * strides[axis], flat);
  }

  std::string render(std::size_t axis, int64_t offset, std::size_t indent) const {
    if (axis == t.shape().size()) {
      std::string s = format_element(t, offset, o.precision);
      if (s.size() < width) s.insert(std::size_t{0}, width - s.size(), ' ');
      return s;
    }
    std::string out = "[";
    bool last_axis = axis + 1 == t.shape().size();
    std::string sep = ",";
    if (last_axis) {
      sep += ' ';
    } else {
      sep.append(t.shape().size() - axis - 1, '\n');
      sep.append(indent + 1, ' ');
    }
    bool first = true;
    for (int64_t i : indices(t.shape()[axis])) {
      if (!first) out += sep;
      first = false;
      out += i < 0 ? "..." : render(axis + 1, offset + i * strides[axis], indent + 1);
    }
    return out + "]";
  }
};

}  // namespace

std::string format_tensor(const Tensor& tensor, const PrintOptions& options) {
  Printer p{tensor, options, tensor.numel() > options.threshold, {}, {}, 0};
  if (tensor.ndim() == 0) return format_element(tensor, 0, options.precision);
  p.strides.assign(tensor.shape().size(), 1);
  for (std::size_t i = tensor.shape().size() - 1; i > 0; --i) p.strides[i - 1] = p.strides[i] * tensor.shape()[i];
  std::vector<int64_t> flat;
  p.collect(0, 0, flat);
  for (int64_t i : flat) p.width = std::max(p.width, format_element(tensor, i, options.precision).size());
  return p.render(0, 0, 0);
}

}  // namespace mithril::tools
