// Reference kernels of the indexing family (lib/ops/indexing.cpp). Operators that only move
// elements (gather_elements, gather_nd, one_hot, trilu, scatter_* without reduction) copy words
// of the element's size and so take every dtype; arithmetic ones (cumsum, the scatter
// reductions, resize, top_k) take every integer width, float32 and float64. Every index is
// checked against its axis before it is used.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <numeric>
#include <string>
#include <type_traits>

#include "backends/reference/families.h"
#include "core/error.h"
#include "ops/indexing.h"
#include "ops/shape_inference.h"

namespace mithril {

namespace {

std::vector<int64_t> index_values(const Tensor& indices) {
  std::vector<int64_t> values(static_cast<std::size_t>(indices.numel()));
  if (indices.dtype() == DType::int64) std::copy_n(indices.data_as<int64_t>(), values.size(), values.begin());
  else std::copy_n(indices.data_as<int32_t>(), values.size(), values.begin());
  return values;
}

// `index` on an axis of `size`, negative counting from the end; anything else is an error naming
// the operator, the index and the axis.
int64_t checked_index(const char* op, int64_t index, int64_t size, std::size_t axis) {
  int64_t i = index < 0 ? index + size : index;
  if (i < 0 || i >= size)
    throw Error(ErrorKind::shape, std::string(op) + ": index " + std::to_string(index) + " is out of range for axis " +
                                      std::to_string(axis) + " of size " + std::to_string(size));
  return i;
}

Shape strides_of(const Shape& shape) {
  Shape strides(shape.size(), 1);
  for (std::size_t a = shape.size(); a-- > 1;) strides[a - 1] = strides[a] * shape[a];
  return strides;
}

int64_t product(const Shape& shape, std::size_t begin, std::size_t end) {
  int64_t p = 1;
  for (std::size_t a = begin; a < end; ++a) p *= shape[a];
  return p;
}

// For every position of `shape` (C order), the offset into a tensor of `target` whose position is
// the same except on `axis`, where it is indices[position] (checked against target[axis]).
std::vector<int64_t> element_offsets(const char* op, const Shape& shape, const std::vector<int64_t>& indices,
                                     const Shape& target, std::size_t axis) {
  Shape strides = strides_of(target);
  std::vector<int64_t> offsets(indices.size());
  std::vector<int64_t> position(shape.size(), 0);
  for (std::size_t p = 0; p < indices.size(); ++p) {
    int64_t offset = 0;
    for (std::size_t a = 0; a < shape.size(); ++a)
      offset += (a == axis ? checked_index(op, indices[p], target[a], a) : position[a]) * strides[a];
    offsets[p] = offset;
    for (std::size_t a = shape.size(); a-- > 0;) {
      if (++position[a] < shape[a]) break;
      position[a] = 0;
    }
  }
  return offsets;
}

void gather_elements_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  auto axis = static_cast<std::size_t>(normalize_axis(attr_int(attrs, "axis"), in[0].ndim()));
  std::vector<int64_t> offsets =
      element_offsets("gather_elements", in[1].shape(), index_values(in[1]), in[0].shape(), axis);
  dispatch_element_size("gather_elements", out.dtype(), [&](auto word) {
    using W = decltype(word);
    const W* x = in[0].data_as<W>();
    W* y = out.mutable_data_as<W>();
    for (std::size_t p = 0; p < offsets.size(); ++p) y[p] = x[offsets[p]];
  });
}

// y[offset] combined with `update` by the scatter reduction.
template <class T>
void combine(T& y, T update, const std::string& reduction) {
  if (reduction == "add") y = wrapping_add(y, update);
  else if (reduction == "mul") y = wrapping_multiply(y, update);
  else if (reduction == "max") y = std::max(y, update);
  else if (reduction == "min") y = std::min(y, update);
  else y = update;
}

// Applies updates[p * block .. +block) at out[offsets[p] .. +block) in order.
void scatter_blocks(const char* op, const std::vector<int64_t>& offsets, int64_t block, const Tensor& updates,
                    const std::string& reduction, Tensor& out) {
  if (reduction == "none") {
    dispatch_element_size(op, out.dtype(), [&](auto word) {
      using W = decltype(word);
      const W* u = updates.data_as<W>();
      W* y = out.mutable_data_as<W>();
      for (std::size_t p = 0; p < offsets.size(); ++p)
        std::copy_n(u + static_cast<int64_t>(p) * block, block, y + offsets[p]);
    });
    return;
  }
  dispatch_all_numeric(op, out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* u = updates.data_as<T>();
    T* y = out.mutable_data_as<T>();
    for (std::size_t p = 0; p < offsets.size(); ++p)
      for (int64_t e = 0; e < block; ++e) combine(y[offsets[p] + e], u[static_cast<int64_t>(p) * block + e], reduction);
  });
}

void scatter_elements_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  if (out.nbytes() > 0) std::memcpy(out.mutable_data(), in[0].data(), out.nbytes());
  auto axis = static_cast<std::size_t>(normalize_axis(attr_int(attrs, "axis"), in[0].ndim()));
  std::vector<int64_t> offsets =
      element_offsets("scatter_elements", in[1].shape(), index_values(in[1]), in[0].shape(), axis);
  scatter_blocks("scatter_elements", offsets, 1, in[2], attr_string(attrs, "reduction"), out);
}

// For gather_nd / scatter_nd: the element offset into `data` of the block each index row
// addresses (rows in C order over indices.shape[:-1]), and the block's size in elements.
std::vector<int64_t> nd_offsets(const char* op, const Shape& data, const Tensor& indices, std::size_t batch_dims,
                                int64_t& block) {
  std::vector<int64_t> values = index_values(indices);
  auto k = static_cast<std::size_t>(indices.shape().back());
  block = product(data, batch_dims + k, data.size());
  int64_t batches = product(data, 0, batch_dims);
  int64_t batch_size = product(data, batch_dims, data.size());
  std::size_t rows = k == 0 ? 0 : values.size() / k;
  std::size_t rows_per_batch = batches == 0 ? 0 : rows / static_cast<std::size_t>(batches);
  Shape strides = strides_of(data);
  std::vector<int64_t> offsets(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    int64_t offset = static_cast<int64_t>(r / rows_per_batch) * batch_size;
    for (std::size_t j = 0; j < k; ++j)
      offset += checked_index(op, values[r * k + j], data[batch_dims + j], batch_dims + j) * strides[batch_dims + j];
    offsets[r] = offset;
  }
  return offsets;
}

void gather_nd_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  int64_t block = 0;
  std::vector<int64_t> offsets =
      nd_offsets("gather_nd", in[0].shape(), in[1], static_cast<std::size_t>(attr_int(attrs, "batch_dims")), block);
  dispatch_element_size("gather_nd", out.dtype(), [&](auto word) {
    using W = decltype(word);
    const W* x = in[0].data_as<W>();
    W* y = out.mutable_data_as<W>();
    for (std::size_t r = 0; r < offsets.size(); ++r) std::copy_n(x + offsets[r], block, y + static_cast<int64_t>(r) * block);
  });
}

void scatter_nd_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  if (out.nbytes() > 0) std::memcpy(out.mutable_data(), in[0].data(), out.nbytes());
  int64_t block = 0;
  std::vector<int64_t> offsets = nd_offsets("scatter_nd", in[0].shape(), in[1], 0, block);
  scatter_blocks("scatter_nd", offsets, block, in[2], attr_string(attrs, "reduction"), out);
}

void one_hot_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  const Tensor& indices = in[0];
  int64_t depth = attr_int(attrs, "depth");
  auto axis = static_cast<std::size_t>(normalize_axis(attr_int(attrs, "axis"), indices.ndim() + 1));
  int64_t outer = product(indices.shape(), 0, axis), inner = product(indices.shape(), axis, indices.shape().size());
  dispatch_element_size("one_hot", out.dtype(), [&](auto word) {
    using W = decltype(word);
    const W off = in[1].data_as<W>()[0], on = in[1].data_as<W>()[1];
    W* y = out.mutable_data_as<W>();
    std::fill_n(y, out.numel(), off);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        double v = indices.value_at(o * inner + i);
        // ONNX casts indices to int64; out-of-range ones (and NaN) select nothing.
        if (!(std::abs(v) < static_cast<double>(depth) + 1)) continue;
        auto index = static_cast<int64_t>(v);
        if (index < 0) index += depth;
        if (index >= 0 && index < depth) y[(o * depth + index) * inner + i] = on;
      }
  });
}

void trilu_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  const Shape& s = in[0].shape();
  int64_t rows = s[s.size() - 2], cols = s.back();
  int64_t matrices = rows * cols == 0 ? 0 : in[0].numel() / (rows * cols);
  bool upper = attr_bool(attrs, "upper");
  int64_t k = attr_int(attrs, "k");
  dispatch_element_size("trilu", out.dtype(), [&](auto word) {
    using W = decltype(word);
    const W* x = in[0].data_as<W>();
    W* y = out.mutable_data_as<W>();
    for (int64_t m = 0; m < matrices; ++m)
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) {
          int64_t e = (m * rows + i) * cols + j;
          bool keep = upper ? j - i >= k : j - i <= k;  // j - i is small: any int64 k compares safely
          y[e] = keep ? x[e] : W{};
        }
  });
}

void cumsum_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  const Shape& s = in[0].shape();
  auto axis = static_cast<std::size_t>(normalize_axis(attr_int(attrs, "axis"), in[0].ndim()));
  bool exclusive = attr_bool(attrs, "exclusive"), reverse = attr_bool(attrs, "reverse");
  int64_t outer = product(s, 0, axis), n = s[axis], inner = product(s, axis + 1, s.size());
  dispatch_all_numeric("cumsum", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = in[0].data_as<T>();
    T* y = out.mutable_data_as<T>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        T sum = 0;
        for (int64_t step = 0; step < n; ++step) {
          int64_t j = reverse ? n - 1 - step : step;
          int64_t e = (o * n + j) * inner + i;
          if (exclusive) {
            y[e] = sum;
            sum = wrapping_add(sum, x[e]);
          } else {
            sum = wrapping_add(sum, x[e]);
            y[e] = sum;
          }
        }
      }
  });
}

// --- resize

// The taps of one output index on one axis: input indices (clamped to the axis, as ONNX's
// reference pads with edge values) and weights; `outside` marks a tf_crop_and_resize point that
// gets extrapolation_value.
struct Taps {
  std::vector<int64_t> index;
  std::vector<double> weight;
  bool outside = false;
};

std::vector<double> interpolation_coefficients(const std::string& mode, const std::string& nearest_mode, double ratio,
                                               bool integral, double a) {
  if (mode == "nearest") {
    if (integral) return {0, 1};
    if (nearest_mode == "round_prefer_floor") return {ratio <= 0.5 ? 1.0 : 0.0, ratio > 0.5 ? 1.0 : 0.0};
    if (nearest_mode == "round_prefer_ceil") return {ratio < 0.5 ? 1.0 : 0.0, ratio >= 0.5 ? 1.0 : 0.0};
    if (nearest_mode == "floor") return {1, 0};
    return {0, 1};  // ceil
  }
  if (mode == "linear") return {1 - ratio, ratio};
  double r = ratio, s = 1 - ratio;
  return {((a * (r + 1) - 5 * a) * (r + 1) + 8 * a) * (r + 1) - 4 * a, ((a + 2) * r - (a + 3)) * r * r + 1,
          ((a + 2) * s - (a + 3)) * s * s + 1, ((a * (s + 1) - 5 * a) * (s + 1) + 8 * a) * (s + 1) - 4 * a};
}

// ONNX's reference takes the n points nearest to x (ties to the lower index) with ratio in (0, 1]:
// for an integral x that is x-n/2 .. x+n/2-1 with ratio 1, else floor(x)-n/2+1 .. floor(x)+n/2.
std::vector<Taps> resize_taps(const ResizeAxis& r, const Attributes& attrs) {
  const std::string& mode = attr_string(attrs, "mode");
  const std::string& coordinate_mode = attr_string(attrs, "coordinate_transformation_mode");
  const std::string& nearest_mode = attr_string(attrs, "nearest_mode");
  double a = attr_number(attrs, "cubic_coeff_a");
  bool exclude_outside = attr_bool(attrs, "exclude_outside");
  std::vector<Taps> all(static_cast<std::size_t>(r.out));
  for (int64_t x = 0; x < r.out; ++x) {
    Taps& taps = all[static_cast<std::size_t>(x)];
    double source = resize_source_coordinate(r, coordinate_mode, x);
    if (coordinate_mode == "tf_crop_and_resize" && (source < 0 || source > static_cast<double>(r.in - 1))) {
      taps.outside = true;
      continue;
    }
    double floor = std::floor(source);
    bool integral = source == floor;
    double ratio = integral ? 1.0 : source - floor;
    std::vector<double> coefficients = interpolation_coefficients(mode, nearest_mode, ratio, integral, a);
    auto n = static_cast<int64_t>(coefficients.size());
    // Far outside the axis (possible only with extreme scales) the clamped indices are the edge.
    double first_index = std::clamp(integral ? floor - static_cast<double>(n / 2) : floor - static_cast<double>(n / 2) + 1,
                                    -static_cast<double>(n) - 1, static_cast<double>(r.in) + 1);
    auto first = static_cast<int64_t>(first_index);
    if (exclude_outside) {
      double sum = 0;
      for (int64_t t = 0; t < n; ++t) {
        if (first + t < 0 || first + t >= r.in) coefficients[static_cast<std::size_t>(t)] = 0;
        sum += coefficients[static_cast<std::size_t>(t)];
      }
      for (double& c : coefficients) c /= sum;
    }
    for (int64_t t = 0; t < n; ++t) {
      taps.index.push_back(std::clamp<int64_t>(first + t, 0, r.in - 1));
      taps.weight.push_back(coefficients[static_cast<std::size_t>(t)]);
    }
  }
  return all;
}

template <class T>
T from_double(double v) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(v);
  } else {
    // Integers round half to even and saturate (a float-to-int conversion out of range is UB).
    if (std::isnan(v)) return T(0);
    double r = std::nearbyint(v);
    if (r <= static_cast<double>(std::numeric_limits<T>::min())) return std::numeric_limits<T>::min();
    if (r >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return static_cast<T>(r);
  }
}

// Separable: one axis at a time, the last first (the order of ONNX's reference), in float64.
void resize_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  const Tensor& input = in[0];
  std::vector<ResizeAxis> axes = resize_axes(input.shape(), attrs);
  for (const ResizeAxis& r : axes)
    if (r.in == 0 && r.out > 0)
      throw Error(ErrorKind::shape, "resize: cannot resize an axis of size 0 to " + std::to_string(r.out));
  double extrapolation = attr_number(attrs, "extrapolation_value");
  Tensor wide = input.cast(DType::float64);
  std::vector<double> current(wide.data_as<double>(), wide.data_as<double>() + wide.numel());
  Shape shape = input.shape();
  for (std::size_t axis = shape.size(); axis-- > 0;) {
    const ResizeAxis& r = axes[axis];
    std::vector<Taps> taps = resize_taps(r, attrs);
    int64_t outer = product(shape, 0, axis), inner = product(shape, axis + 1, shape.size());
    std::vector<double> next(static_cast<std::size_t>(outer * r.out * inner));
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t x = 0; x < r.out; ++x) {
        const Taps& t = taps[static_cast<std::size_t>(x)];
        double* y = next.data() + (o * r.out + x) * inner;
        if (t.outside) {
          std::fill_n(y, inner, extrapolation);
          continue;
        }
        for (int64_t i = 0; i < inner; ++i) {
          double sum = 0;
          for (std::size_t k = 0; k < t.index.size(); ++k)
            sum += t.weight[k] * current[static_cast<std::size_t>((o * r.in + t.index[k]) * inner + i)];
          y[i] = sum;
        }
      }
    current = std::move(next);
    shape[axis] = r.out;
  }
  dispatch_all_numeric("resize", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* y = out.mutable_data_as<T>();
    for (std::size_t e = 0; e < current.size(); ++e) y[e] = from_double<T>(current[e]);
  });
}

// --- einsum: one loop variable per "..." axis and per letter; each input reads through a stride
// per variable (a repeated letter adds its axes' strides: the diagonal; a broadcast "..." axis of
// size 1 has stride 0). For every output position, the products are summed over the letters the
// output lacks, in float64 for floating dtypes.
void einsum_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  std::vector<int64_t> ranks;
  for (const Tensor& t : in) ranks.push_back(t.ndim());
  EinsumSpec spec = parse_einsum(attr_string(attrs, "equation"), ranks);
  auto e = static_cast<std::size_t>(spec.ellipsis_rank);
  std::map<char, std::size_t> letter_var;
  for (const std::string& term : spec.terms)
    for (char ch : term)
      if (ch != EinsumSpec::kEllipsis) letter_var.emplace(ch, 0);
  std::size_t vars = e;
  for (auto& [ch, var] : letter_var) var = vars++;
  std::vector<int64_t> size(vars, 1);
  std::vector<std::vector<int64_t>> strides(in.size(), std::vector<int64_t>(vars, 0));
  for (std::size_t k = 0; k < in.size(); ++k) {
    const Shape& shape = in[k].shape();
    Shape tensor_strides = strides_of(shape);
    std::size_t axis = 0;
    for (char ch : spec.terms[k]) {
      if (ch == EinsumSpec::kEllipsis) {
        auto n = static_cast<std::size_t>(spec.ellipsis_ranks[k]);
        for (std::size_t j = 0; j < n; ++j, ++axis) {
          std::size_t var = e - n + j;  // right-aligned
          if (shape[axis] != 1) {
            size[var] = shape[axis];
            strides[k][var] = tensor_strides[axis];
          }
        }
        continue;
      }
      std::size_t var = letter_var.at(ch);
      size[var] = shape[axis];
      strides[k][var] += tensor_strides[axis];
      ++axis;
    }
  }
  std::vector<std::size_t> output_vars, summed_vars;
  std::vector<bool> in_output(vars, false);
  for (char ch : spec.output) {
    if (ch == EinsumSpec::kEllipsis) {
      for (std::size_t v = 0; v < e; ++v) output_vars.push_back(v);
    } else {
      output_vars.push_back(letter_var.at(ch));
    }
  }
  for (std::size_t v : output_vars) in_output[v] = true;
  for (std::size_t v = 0; v < vars; ++v)
    if (!in_output[v]) summed_vars.push_back(v);
  int64_t summed_count = 1;
  for (std::size_t v : summed_vars) summed_count *= size[v];
  dispatch_all_numeric("einsum", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using Acc = std::conditional_t<std::is_floating_point_v<T>, double, T>;
    T* y = out.mutable_data_as<T>();
    std::vector<int64_t> value(vars, 0);
    for (int64_t o = 0; o < out.numel(); ++o) {
      int64_t rest = o;
      for (std::size_t j = output_vars.size(); j-- > 0;) {
        value[output_vars[j]] = rest % size[output_vars[j]];
        rest /= size[output_vars[j]];
      }
      Acc sum = 0;
      for (int64_t s = 0; s < summed_count; ++s) {
        rest = s;
        for (std::size_t j = summed_vars.size(); j-- > 0;) {
          value[summed_vars[j]] = rest % size[summed_vars[j]];
          rest /= size[summed_vars[j]];
        }
        Acc product = 1;
        for (std::size_t k = 0; k < in.size(); ++k) {
          int64_t offset = 0;
          for (std::size_t v = 0; v < vars; ++v) offset += value[v] * strides[k][v];
          product = wrapping_multiply(product, static_cast<Acc>(in[k].data_as<T>()[offset]));
        }
        sum = wrapping_add(sum, product);
      }
      y[o] = static_cast<T>(sum);
    }
  });
}

// --- top_k: indices along the axis ordered by value (largest or smallest first), ties by index.
void top_k_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out, bool want_indices) {
  const Shape& s = in[0].shape();
  auto axis = static_cast<std::size_t>(normalize_axis(attr_int(attrs, "axis"), in[0].ndim()));
  int64_t k = attr_int(attrs, "k");
  if (k > s[axis])
    throw Error(ErrorKind::shape, "top_k: k " + std::to_string(k) + " is larger than axis " + std::to_string(axis) +
                                      " of size " + std::to_string(s[axis]));
  bool largest = attr_bool(attrs, "largest");
  int64_t outer = product(s, 0, axis), n = s[axis], inner = product(s, axis + 1, s.size());
  dispatch_all_numeric(want_indices ? "top_k_indices" : "top_k_values", in[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = in[0].data_as<T>();
    std::vector<int64_t> order(static_cast<std::size_t>(n));
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        auto at = [&](int64_t j) { return x[(o * n + j) * inner + i]; };
        std::iota(order.begin(), order.end(), 0);
        // NaN counts as larger than every number (numpy's sort order).
        auto before = [&](int64_t p, int64_t q) {
          T a = at(p), b = at(q);
          bool a_nan = a != a, b_nan = b != b;
          if (a_nan || b_nan) {
            if (a_nan == b_nan) return p < q;
            return largest ? a_nan : b_nan;
          }
          if (a != b) return largest ? a > b : a < b;
          return p < q;
        };
        std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
        for (int64_t j = 0; j < k; ++j) {
          int64_t e = (o * k + j) * inner + i;
          if (want_indices) out.mutable_data_as<int64_t>()[e] = order[static_cast<std::size_t>(j)];
          else out.mutable_data_as<T>()[e] = at(order[static_cast<std::size_t>(j)]);
        }
      }
  });
}

// Values computed in float64, stored in `out`'s floating dtype (float16 and bfloat16 included).
void store_wide(const std::vector<double>& values, Tensor& out) {
  Tensor wide(DType::float64, out.shape());
  std::copy(values.begin(), values.end(), wide.mutable_data_as<double>());
  Tensor narrow = wide.cast(out.dtype());
  std::memcpy(out.mutable_data(), narrow.data(), out.nbytes());
}

// --- grid_sample: onnxruntime's and ONNX's reference algorithm. A grid point is mapped to pixel
// coordinates, moved inside the image by border or reflection padding, then sampled; each tap the
// filter reads outside the image gets 0 (zeros), the nearest edge pixel (border) or its mirror
// image (reflection). Non-finite coordinates read as far outside.

double grid_denormalize(double v, int64_t size, bool align_corners) {
  return align_corners ? (v + 1) / 2 * static_cast<double>(size - 1) : ((v + 1) * static_cast<double>(size) - 1) / 2;
}

// x mirrored into [lo, hi] as often as needed.
double grid_reflect(double x, double lo, double hi) {
  double range = hi - lo;
  if (!(range > 0) || !std::isfinite(x)) return lo;
  if (x >= lo && x <= hi) return x;
  double dx = x < lo ? lo - x : x - hi;
  double flips = std::floor(dx / range);
  double r = dx - flips * range;
  bool even = std::fmod(flips, 2.0) == 0;
  if (x < lo) return even ? lo + r : hi - r;
  return even ? hi - r : lo + r;
}

struct GridImage {
  const double* pixels;
  int64_t height, width;
  int padding;  // 0 zeros, 1 border, 2 reflection
  double border[4];  // x_min, y_min, x_max, y_max

  // The pixel at integral coordinates (row y, column x).
  double at(double y, double x) const {
    if (padding == 0) {
      if (!(x >= 0 && x <= static_cast<double>(width - 1) && y >= 0 && y <= static_cast<double>(height - 1))) return 0;
    } else {
      if (padding == 2) {
        x = grid_reflect(x, border[0], border[2]);
        y = grid_reflect(y, border[1], border[3]);
      }
      x = std::isnan(x) ? 0 : std::clamp(x, 0.0, static_cast<double>(width - 1));
      y = std::isnan(y) ? 0 : std::clamp(y, 0.0, static_cast<double>(height - 1));
    }
    return pixels[static_cast<int64_t>(y) * width + static_cast<int64_t>(x)];
  }
};

void grid_cubic_coeffs(double t, double c[4]) {
  const double a = -0.75;
  t = std::abs(t);
  c[0] = ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a;
  c[1] = ((a + 2) * t - (a + 3)) * t * t + 1;
  c[2] = ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1;
  c[3] = ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a;
}

void grid_sample_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  const Shape& xs = in[0].shape();
  const Shape& gs = in[1].shape();
  int64_t n = xs[0], channels = xs[1], height = xs[2], width = xs[3], oh = gs[1], ow = gs[2];
  if (gs[0] != n || gs[3] != 2)
    throw Error(ErrorKind::shape, "grid_sample: grid " + shape_str(to_sym_shape(gs)) + " does not fit input " + shape_str(to_sym_shape(xs)));
  std::vector<double> y(static_cast<std::size_t>(out.numel()), 0.0);
  if (height == 0 || width == 0) {
    // Every tap is outside an empty image: zeros padding reads 0; border and reflection have no pixel.
    if (attr_string(attrs, "padding_mode") != "zeros" && !y.empty())
      throw Error(ErrorKind::shape, "grid_sample: cannot pad an empty image with " + attr_string(attrs, "padding_mode"));
    return store_wide(y, out);
  }
  const std::string& mode = attr_string(attrs, "mode");
  const std::string& padding = attr_string(attrs, "padding_mode");
  bool align = attr_bool(attrs, "align_corners");
  Tensor x64 = in[0].cast(DType::float64), g64 = in[1].cast(DType::float64);
  const double* grid = g64.data_as<double>();
  GridImage image{nullptr, height, width, padding == "zeros" ? 0 : padding == "border" ? 1 : 2, {}};
  if (align) {
    image.border[0] = 0, image.border[1] = 0, image.border[2] = static_cast<double>(width - 1), image.border[3] = static_cast<double>(height - 1);
  } else {
    image.border[0] = -0.5, image.border[1] = -0.5, image.border[2] = static_cast<double>(width) - 0.5,
    image.border[3] = static_cast<double>(height) - 0.5;
  }
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        const double* point = grid + ((b * oh + i) * ow + j) * 2;
        double px = grid_denormalize(point[0], width, align), py = grid_denormalize(point[1], height, align);
        if (mode == "nearest") px = std::nearbyint(px), py = std::nearbyint(py);
        bool outside = !(px >= image.border[0] && px <= image.border[2] && py >= image.border[1] && py <= image.border[3]);
        if (outside && image.padding == 1) {
          px = std::isnan(px) ? 0 : std::clamp(px, 0.0, static_cast<double>(width - 1));
          py = std::isnan(py) ? 0 : std::clamp(py, 0.0, static_cast<double>(height - 1));
        } else if (outside && image.padding == 2) {
          px = grid_reflect(px, image.border[0], image.border[2]);
          py = grid_reflect(py, image.border[1], image.border[3]);
        }
        for (int64_t ch = 0; ch < channels; ++ch) {
          image.pixels = x64.data_as<double>() + (b * channels + ch) * height * width;
          double v;
          if (mode == "nearest") {
            v = image.at(std::trunc(py), std::trunc(px));
          } else if (mode == "bilinear") {
            double x1 = std::floor(px), y1 = std::floor(py);
            double dx = px - x1, dy = py - y1;
            v = (1 - dy) * ((1 - dx) * image.at(y1, x1) + dx * image.at(y1, x1 + 1)) +
                dy * ((1 - dx) * image.at(y1 + 1, x1) + dx * image.at(y1 + 1, x1 + 1));
          } else {
            double x0 = std::floor(px) - 1, y0 = std::floor(py) - 1;
            double cx[4], cy[4];
            grid_cubic_coeffs(px - x0 - 1, cx);
            grid_cubic_coeffs(py - y0 - 1, cy);
            v = 0;
            for (int r = 0; r < 4; ++r) {
              double row = 0;
              for (int c = 0; c < 4; ++c) row += cx[c] * image.at(y0 + r, x0 + c);
              v += cy[r] * row;
            }
          }
          y[static_cast<std::size_t>(((b * channels + ch) * oh + i) * ow + j)] = v;
        }
      }
  store_wide(y, out);
}

// --- reverse_sequence: element moves, lengths checked against the time axis.
void reverse_sequence_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  const Shape& shape = in[0].shape();
  int64_t batch_axis = attr_int(attrs, "batch_axis"), time_axis = attr_int(attrs, "time_axis");
  int64_t batch = shape[static_cast<std::size_t>(batch_axis)], time = shape[static_cast<std::size_t>(time_axis)];
  std::vector<int64_t> lengths = index_values(in[1]);
  if (static_cast<int64_t>(lengths.size()) != batch)
    throw Error(ErrorKind::shape, "reverse_sequence: " + std::to_string(lengths.size()) + " sequence_lens for a batch of " + std::to_string(batch));
  for (int64_t len : lengths)
    if (len < 0 || len > time)
      throw Error(ErrorKind::shape, "reverse_sequence: sequence length " + std::to_string(len) + " is outside [0, " + std::to_string(time) + "]");
  int64_t inner = product(shape, 2, shape.size());
  dispatch_element_size("reverse_sequence", out.dtype(), [&](auto word) {
    using W = decltype(word);
    const W* x = in[0].data_as<W>();
    W* y = out.mutable_data_as<W>();
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t t = 0; t < time; ++t) {
        int64_t len = lengths[static_cast<std::size_t>(b)];
        int64_t from = t < len ? len - 1 - t : t;
        auto offset = [&](int64_t tt) { return (batch_axis == 0 ? b * time + tt : tt * batch + b) * inner; };
        std::copy_n(x + offset(from), inner, y + offset(t));
      }
  });
}

// --- tf_idf_vectorizer: onnxruntime's counting. For each skip distance d = 1..max_skip_count + 1
// and each start, the n-grams of items d apart are looked up in the pool; unigrams are counted
// with the first distance only.
void tf_idf_vectorizer_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  std::vector<int64_t> tokens = index_values(in[0]);
  const Shape& xs = in[0].shape();
  int64_t rows = xs.size() == 2 ? xs[0] : 1, cols = xs.back();
  int64_t columns = out.shape().back();
  std::vector<int64_t> counts = attr_ints(attrs, "ngram_counts"), indexes = attr_ints(attrs, "ngram_indexes");
  std::vector<int64_t> pool = attr_ints(attrs, "pool_int64s");
  std::vector<double> weights = attr_numbers(attrs, "weights");
  // n-gram -> its position in the pool order (the first one where the pool repeats an n-gram).
  std::map<std::vector<int64_t>, std::size_t> grams;
  std::size_t id = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    auto begin = static_cast<std::size_t>(counts[i]);
    std::size_t end = i + 1 < counts.size() ? static_cast<std::size_t>(counts[i + 1]) : pool.size();
    for (std::size_t at = begin; at + i < end; at += i + 1, ++id)
      grams.emplace(std::vector<int64_t>(pool.begin() + static_cast<std::ptrdiff_t>(at), pool.begin() + static_cast<std::ptrdiff_t>(at + i + 1)), id);
  }
  int64_t lo = attr_int(attrs, "min_gram_length"), hi = attr_int(attrs, "max_gram_length");
  int64_t max_skip = attr_int(attrs, "max_skip_count");
  std::vector<double> y(static_cast<std::size_t>(rows * columns), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t* row = tokens.data() + r * cols;
    int64_t start_size = lo;
    std::vector<int64_t> gram;
    for (int64_t d = 1; d <= max_skip + 1 && d <= std::max<int64_t>(cols, 1); ++d) {
      for (int64_t s = 0; s < cols; ++s) {
        gram.clear();
        for (int64_t k = 0; k < hi && s + k * d < cols; ++k) {
          gram.push_back(row[s + k * d]);
          if (static_cast<int64_t>(gram.size()) < start_size) continue;
          auto hit = grams.find(gram);
          if (hit != grams.end()) y[static_cast<std::size_t>(r * columns + indexes[hit->second])] += 1;
        }
      }
      if (start_size == 1 && ++start_size > hi) break;
    }
  }
  const std::string& mode = attr_string(attrs, "mode");
  if (mode != "TF") {
    std::vector<double> column_weight(static_cast<std::size_t>(columns), 1.0);
    for (std::size_t g = 0; g < weights.size(); ++g) column_weight[static_cast<std::size_t>(indexes[g])] = weights[g];
    for (std::size_t e = 0; e < y.size(); ++e) {
      double w = column_weight[e % static_cast<std::size_t>(columns)];
      y[e] = mode == "IDF" ? (y[e] > 0 ? w : 0) : y[e] * w;
    }
  }
  store_wide(y, out);
}

}  // namespace

void register_reference_indexing_kernels(OpRegistry& registry) {
  registry.add_kernel("gather_elements", kReferenceBackend, gather_elements_kernel);
  registry.add_kernel("scatter_elements", kReferenceBackend, scatter_elements_kernel);
  registry.add_kernel("gather_nd", kReferenceBackend, gather_nd_kernel);
  registry.add_kernel("scatter_nd", kReferenceBackend, scatter_nd_kernel);
  registry.add_kernel("one_hot", kReferenceBackend, one_hot_kernel);
  registry.add_kernel("trilu", kReferenceBackend, trilu_kernel);
  registry.add_kernel("cumsum", kReferenceBackend, cumsum_kernel);
  registry.add_kernel("resize", kReferenceBackend, resize_kernel);
  registry.add_kernel("einsum", kReferenceBackend, einsum_kernel);
  registry.add_kernel("top_k_values", kReferenceBackend,
                      [](const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) { top_k_kernel(in, attrs, out, false); });
  registry.add_kernel("top_k_indices", kReferenceBackend,
                      [](const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) { top_k_kernel(in, attrs, out, true); });
  registry.add_kernel("grid_sample", kReferenceBackend, grid_sample_kernel);
  registry.add_kernel("reverse_sequence", kReferenceBackend, reverse_sequence_kernel);
  registry.add_kernel("tf_idf_vectorizer", kReferenceBackend, tf_idf_vectorizer_kernel);
}

}  // namespace mithril
