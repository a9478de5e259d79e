// Reference kernels of the nn family: plain loops written in the order numpy (Python Mithril's
// reference backend) evaluates them, so results agree to the last bits on small inputs.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>

#include "backends/reference/families.h"
#include "core/error.h"
#include "ops/shape_inference.h"

namespace mithril {

namespace {

template <class T>
T v_nan() {
  return std::numeric_limits<T>::has_quiet_NaN ? std::numeric_limits<T>::quiet_NaN() : T(0);
}


void identity_kernel(const std::vector<Tensor>& in, const Attributes&, Tensor& out) {
  if (out.nbytes() > 0) std::memcpy(out.mutable_data(), in[0].data(), out.nbytes());
}

// Viewed as [outer, rows, block]: for each outer index, the block of every indexed row in turn.
void gather_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  const Tensor& input = in[0];
  const Tensor& indices = in[1];
  auto axis = static_cast<std::size_t>(normalize_axis(attr_int(attrs, "axis"), input.ndim()));
  int64_t rows = input.shape()[axis], outer = 1, block = 1;
  for (std::size_t a = 0; a < axis; ++a) outer *= input.shape()[a];
  for (std::size_t a = axis + 1; a < input.shape().size(); ++a) block *= input.shape()[a];
  std::size_t block_bytes = static_cast<std::size_t>(block) * dtype_size(input.dtype());
  std::vector<int64_t> checked(static_cast<std::size_t>(indices.numel()));
  for (int64_t i = 0; i < indices.numel(); ++i) {
    int64_t index = indices.dtype() == DType::int64 ? indices.data_as<int64_t>()[i] : indices.data_as<int32_t>()[i];
    int64_t row = index < 0 ? index + rows : index;
    if (row < 0 || row >= rows)
      throw Error(ErrorKind::shape, "gather: index " + std::to_string(index) + " is out of range for axis " +
                                        std::to_string(axis) + " of size " + std::to_string(rows));
    checked[static_cast<std::size_t>(i)] = row;
  }
  if (block_bytes == 0) return;
  const char* src = static_cast<const char*>(input.data());
  char* dst = static_cast<char*>(out.mutable_data());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t row : checked) {
      std::memcpy(dst, src + static_cast<std::size_t>(o * rows + row) * block_bytes, block_bytes);
      dst += block_bytes;
    }
}

// Convolution over `rank` spatial axes (1 or 2), treating 1-D as 2-D with height 1.
void conv_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out, std::size_t rank) {
  const Shape& xs = in[0].shape();
  const Shape& ws = in[1].shape();
  std::vector<int64_t> stride = attr_ints(attrs, "stride"), padding = attr_ints(attrs, "padding"),
                       dilation = attr_ints(attrs, "dilation");
  if (rank == 1) {
    stride.insert(stride.begin(), 1);
    padding.insert(padding.begin(), {0, 0});
    dilation.insert(dilation.begin(), 1);
  }
  int64_t groups = attr_int(attrs, "groups");
  int64_t n = xs[0], c = xs[1], h = rank == 1 ? 1 : xs[2], w = xs.back();
  int64_t o = ws[0], cg = ws[1], kh = rank == 1 ? 1 : ws[2], kw = ws.back();
  int64_t oh = rank == 1 ? 1 : out.shape()[2], ow = out.shape().back();
  int64_t og = o / groups;
  dispatch_numeric(rank == 1 ? "conv1d" : "conv2d", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = in[0].data_as<T>();
    const T* k = in[1].data_as<T>();
    T* y = out.mutable_data_as<T>();
    for (int64_t b = 0; b < n; ++b)
      for (int64_t oc = 0; oc < o; ++oc) {
        int64_t g = oc / og;
        for (int64_t i = 0; i < oh; ++i)
          for (int64_t j = 0; j < ow; ++j) {
            T sum = 0;
            for (int64_t ic = 0; ic < cg; ++ic) {
              int64_t channel = g * cg + ic;
              for (int64_t p = 0; p < kh; ++p) {
                int64_t row = i * stride[0] - padding[0] + p * dilation[0];
                if (row < 0 || row >= h) continue;
                for (int64_t q = 0; q < kw; ++q) {
                  int64_t col = j * stride[1] - padding[2] + q * dilation[1];
                  if (col < 0 || col >= w) continue;
                  sum += x[((b * c + channel) * h + row) * w + col] * k[((oc * cg + ic) * kh + p) * kw + q];
                }
              }
            }
            y[((b * o + oc) * oh + i) * ow + j] = sum;
          }
      }
  });
}

// Spatial attributes of a window operator over `rank` axes widened to three (leading axes of size
// 1 with kernel 1, stride 1, no padding), so one loop nest serves 1-D, 2-D and 3-D.
struct Window3 {
  int64_t kernel[3] = {1, 1, 1}, stride[3] = {1, 1, 1}, dilation[3] = {1, 1, 1}, before[3] = {0, 0, 0}, after[3] = {0, 0, 0};
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1};
};

Window3 window3(const Attributes& attrs, const Shape& in, const Shape& out, std::size_t rank, bool has_kernel_attr) {
  Window3 w;
  std::size_t lead = 3 - rank;
  std::vector<int64_t> stride = attr_ints(attrs, "stride"), padding = attr_ints(attrs, "padding"),
                       dilation = attr_ints(attrs, "dilation");
  std::vector<int64_t> kernel = has_kernel_attr ? attr_ints(attrs, "kernel_size") : std::vector<int64_t>(rank, 1);
  for (std::size_t i = 0; i < rank; ++i) {
    w.kernel[lead + i] = kernel[i];
    w.stride[lead + i] = stride[i];
    w.dilation[lead + i] = dilation[i];
    w.before[lead + i] = padding[2 * i];
    w.after[lead + i] = padding[2 * i + 1];
    w.in[lead + i] = in[in.size() - rank + i];
    w.out[lead + i] = out[out.size() - rank + i];
  }
  return w;
}

// max_pool (zero padding unless pad_with_neg_inf, which ignores it; positions past the padding,
// reached only with ceil_mode, are ignored) and avg_pool (count_include_pad divides by the
// window's positions inside the padded input, else by those inside the input).
void pool_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out, std::size_t rank, bool average) {
  std::string op = std::string(average ? "avg" : "max") + "_pool" + std::to_string(rank) + "d";
  Window3 w = window3(attrs, in[0].shape(), out.shape(), rank, true);
  bool zero_padding = !average && !attr_bool(attrs, "pad_with_neg_inf");
  bool include_pad = average && attr_bool(attrs, "count_include_pad");
  int64_t plane_in = w.in[0] * w.in[1] * w.in[2], plane_out = w.out[0] * w.out[1] * w.out[2];
  int64_t planes = plane_in == 0 ? 0 : in[0].numel() / plane_in;
  auto run = [&](auto tag) {
    using T = decltype(tag);
    const T* x = in[0].data_as<T>();
    T* y = out.mutable_data_as<T>();
    for (int64_t plane = 0; plane < planes; ++plane)
      for (int64_t o0 = 0; o0 < w.out[0]; ++o0)
        for (int64_t o1 = 0; o1 < w.out[1]; ++o1)
          for (int64_t o2 = 0; o2 < w.out[2]; ++o2) {
            const int64_t o[3] = {o0, o1, o2};
            bool any = false, nan = false;
            T best = 0;
            double sum = 0;
            int64_t count = 0;
            for (int64_t k0 = 0; k0 < w.kernel[0]; ++k0)
              for (int64_t k1 = 0; k1 < w.kernel[1]; ++k1)
                for (int64_t k2 = 0; k2 < w.kernel[2]; ++k2) {
                  const int64_t k[3] = {k0, k1, k2};
                  int64_t at[3];
                  bool inside = true, padded = true;
                  for (int d = 0; d < 3; ++d) {
                    at[d] = o[d] * w.stride[d] - w.before[d] + k[d] * w.dilation[d];
                    inside = inside && at[d] >= 0 && at[d] < w.in[d];
                    padded = padded && at[d] >= -w.before[d] && at[d] < w.in[d] + w.after[d];
                  }
                  if (!padded || (!inside && !zero_padding && !include_pad)) continue;
                  if (!inside && include_pad) {
                    ++count;
                    continue;
                  }
                  T v = inside ? x[plane * plane_in + (at[0] * w.in[1] + at[1]) * w.in[2] + at[2]] : T(0);
                  if (average) {
                    sum += static_cast<double>(v);
                    ++count;
                    continue;
                  }
                  if (v != v) nan = true;
                  if (!any || v > best) best = v;
                  any = true;
                }
            T& result = y[plane * plane_out + (o0 * w.out[1] + o1) * w.out[2] + o2];
            if (average) result = static_cast<T>(sum / static_cast<double>(count));
            else result = nan ? v_nan<T>() : any ? best : std::numeric_limits<T>::lowest();
          }
  };
  if (average) dispatch_floating(op, out.dtype(), run);
  else dispatch_all_numeric(op, out.dtype(), run);
}

void cartesian_difference_kernel(const std::vector<Tensor>& in, const Attributes&, Tensor& out) {
  int64_t n = out.shape()[0], m = out.shape()[1], d = out.shape()[2];
  dispatch_numeric("cartesian_difference", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* a = in[0].data_as<T>();
    const T* b = in[1].data_as<T>();
    T* y = out.mutable_data_as<T>();
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < m; ++j)
        for (int64_t k = 0; k < d; ++k) y[(i * m + j) * d + k] = wrapping_subtract(a[i * d + k], b[j * d + k]);
  });
}

// numpy's polynomial_features: powers from combinations with replacement of the rows of the
// identity of size D + 1 (row 0 standing for the constant 1), the first (all constant) skipped.
void polynomial_features_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  int64_t n = in[0].shape()[0], d = in[0].shape()[1], degree = attr_int(attrs, "degree");
  std::vector<std::vector<int64_t>> powers;
  std::vector<int64_t> pick(static_cast<std::size_t>(degree), 0);  // non-decreasing indices into 0..d
  for (;;) {
    std::vector<int64_t> p(static_cast<std::size_t>(d + 1), 0);
    for (int64_t i : pick) ++p[static_cast<std::size_t>(i)];
    powers.push_back(std::move(p));
    int64_t k = degree - 1;  // next combination, as itertools orders them
    while (k >= 0 && pick[static_cast<std::size_t>(k)] == d) --k;
    if (k < 0) break;
    int64_t v = pick[static_cast<std::size_t>(k)] + 1;
    for (int64_t j = k; j < degree; ++j) pick[static_cast<std::size_t>(j)] = v;
  }
  int64_t columns = out.shape()[1];
  dispatch_numeric("polynomial_features", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = in[0].data_as<T>();
    T* y = out.mutable_data_as<T>();
    for (int64_t r = 0; r < n; ++r)
      for (int64_t c = 0; c < columns; ++c) {
        const std::vector<int64_t>& p = powers[static_cast<std::size_t>(c + 1)];
        T acc = 1;  // the constant column: 1 ** p0
        for (int64_t j = 0; j < d; ++j) {
          int64_t e = p[static_cast<std::size_t>(j + 1)];
          T v = x[r * d + j];
          if constexpr (std::is_floating_point_v<T>) acc *= e == 0 ? T(1) : std::pow(v, static_cast<T>(e));
          else {
            T f = 1;
            for (int64_t k = 0; k < e; ++k) f = wrapping_multiply(f, v);
            acc = wrapping_multiply(acc, f);
          }
        }
        y[r * columns + c] = acc;
      }
  });
}

// --- ONNX nn/math ops (issue 14)

// Convolution over 1 to 3 spatial axes (conv3d; conv1d/conv2d keep their own kernel above).
void conv_nd_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out, std::size_t rank) {
  const Shape& xs = in[0].shape();
  const Shape& ws = in[1].shape();
  Window3 w = window3(attrs, xs, out.shape(), rank, false);
  for (std::size_t i = 0; i < rank; ++i) w.kernel[3 - rank + i] = ws[2 + i];
  int64_t groups = attr_int(attrs, "groups");
  int64_t n = xs[0], c = xs[1], o = ws[0], cg = ws[1], og = o / groups;
  int64_t plane_in = w.in[0] * w.in[1] * w.in[2], plane_out = w.out[0] * w.out[1] * w.out[2];
  int64_t taps = w.kernel[0] * w.kernel[1] * w.kernel[2];
  dispatch_numeric("conv" + std::to_string(rank) + "d", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = in[0].data_as<T>();
    const T* k = in[1].data_as<T>();
    T* y = out.mutable_data_as<T>();
    for (int64_t b = 0; b < n; ++b)
      for (int64_t oc = 0; oc < o; ++oc) {
        int64_t g = oc / og;
        for (int64_t o0 = 0; o0 < w.out[0]; ++o0)
          for (int64_t o1 = 0; o1 < w.out[1]; ++o1)
            for (int64_t o2 = 0; o2 < w.out[2]; ++o2) {
              T sum = 0;
              for (int64_t ic = 0; ic < cg; ++ic) {
                const T* plane = x + (b * c + g * cg + ic) * plane_in;
                const T* kernel = k + (oc * cg + ic) * taps;
                for (int64_t k0 = 0; k0 < w.kernel[0]; ++k0) {
                  int64_t i0 = o0 * w.stride[0] - w.before[0] + k0 * w.dilation[0];
                  if (i0 < 0 || i0 >= w.in[0]) continue;
                  for (int64_t k1 = 0; k1 < w.kernel[1]; ++k1) {
                    int64_t i1 = o1 * w.stride[1] - w.before[1] + k1 * w.dilation[1];
                    if (i1 < 0 || i1 >= w.in[1]) continue;
                    for (int64_t k2 = 0; k2 < w.kernel[2]; ++k2) {
                      int64_t i2 = o2 * w.stride[2] - w.before[2] + k2 * w.dilation[2];
                      if (i2 < 0 || i2 >= w.in[2]) continue;
                      sum += plane[(i0 * w.in[1] + i1) * w.in[2] + i2] * kernel[(k0 * w.kernel[1] + k1) * w.kernel[2] + k2];
                    }
                  }
                }
              }
              y[(b * o + oc) * plane_out + (o0 * w.out[1] + o1) * w.out[2] + o2] = sum;
            }
      }
  });
}

// Transposed convolution: every input element scatters input * weight to the outputs its window
// reaches; positions cropped by the padding are dropped.
void conv_transpose_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out, std::size_t rank) {
  const Shape& xs = in[0].shape();
  const Shape& ws = in[1].shape();
  Window3 w = window3(attrs, xs, out.shape(), rank, false);
  for (std::size_t i = 0; i < rank; ++i) w.kernel[3 - rank + i] = ws[2 + i];
  int64_t groups = attr_int(attrs, "groups");
  int64_t n = xs[0], c = xs[1], cg = c / groups, og = ws[1], o = og * groups;
  int64_t plane_in = w.in[0] * w.in[1] * w.in[2], plane_out = w.out[0] * w.out[1] * w.out[2];
  int64_t taps = w.kernel[0] * w.kernel[1] * w.kernel[2];
  dispatch_floating("conv_transpose" + std::to_string(rank) + "d", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = in[0].data_as<T>();
    const T* k = in[1].data_as<T>();
    T* y = out.mutable_data_as<T>();
    std::fill(y, y + out.numel(), T(0));
    for (int64_t b = 0; b < n; ++b)
      for (int64_t ic = 0; ic < c; ++ic) {
        int64_t g = ic / cg;
        const T* plane = x + (b * c + ic) * plane_in;
        for (int64_t oc = 0; oc < og; ++oc) {
          T* target = y + (b * o + g * og + oc) * plane_out;
          const T* kernel = k + (ic * og + oc) * taps;
          for (int64_t i0 = 0; i0 < w.in[0]; ++i0)
            for (int64_t i1 = 0; i1 < w.in[1]; ++i1)
              for (int64_t i2 = 0; i2 < w.in[2]; ++i2) {
                T v = plane[(i0 * w.in[1] + i1) * w.in[2] + i2];
                for (int64_t k0 = 0; k0 < w.kernel[0]; ++k0) {
                  int64_t o0 = i0 * w.stride[0] - w.before[0] + k0 * w.dilation[0];
                  if (o0 < 0 || o0 >= w.out[0]) continue;
                  for (int64_t k1 = 0; k1 < w.kernel[1]; ++k1) {
                    int64_t o1 = i1 * w.stride[1] - w.before[1] + k1 * w.dilation[1];
                    if (o1 < 0 || o1 >= w.out[1]) continue;
                    for (int64_t k2 = 0; k2 < w.kernel[2]; ++k2) {
                      int64_t o2 = i2 * w.stride[2] - w.before[2] + k2 * w.dilation[2];
                      if (o2 < 0 || o2 >= w.out[2]) continue;
                      target[(o0 * w.out[1] + o1) * w.out[2] + o2] += v * kernel[(k0 * w.kernel[1] + k1) * w.kernel[2] + k2];
                    }
                  }
                }
              }
        }
      }
  });
}

// batch_norm: per channel of [N, C, rest], the ONNX formula in its order of operations.
void batch_norm_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  const Shape& shape = in[0].shape();
  int64_t n = shape[0], c = shape[1], rest = n * c == 0 ? 0 : in[0].numel() / (n * c);
  dispatch_floating("batch_norm", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T epsilon = static_cast<T>(attr_number(attrs, "epsilon"));
    const T* x = in[0].data_as<T>();
    const T *scale = in[1].data_as<T>(), *bias = in[2].data_as<T>(), *mean = in[3].data_as<T>(), *var = in[4].data_as<T>();
    T* y = out.mutable_data_as<T>();
    for (int64_t b = 0; b < n; ++b)
      for (int64_t ch = 0; ch < c; ++ch) {
        T deviation = std::sqrt(var[ch] + epsilon);
        for (int64_t i = 0; i < rest; ++i) {
          int64_t at = (b * c + ch) * rest + i;
          y[at] = (x[at] - mean[ch]) / deviation * scale[ch] + bias[ch];
        }
      }
  });
}

// Normalizes each contiguous run of `length` elements with its own mean and biased variance:
// (x - mean) * (1 / sqrt(variance + epsilon)), as ONNX's LayerNormalization function computes it,
// or with `divide`, (x - mean) / sqrt(variance + epsilon), as Python Mithril's GroupNorm does (the
// roundings differ); the caller applies scale and bias.
template <class T>
void normalize_runs(const T* x, T* y, int64_t runs, int64_t length, T epsilon, bool divide = false) {
  for (int64_t r = 0; r < runs; ++r) {
    const T* xr = x + r * length;
    T* yr = y + r * length;
    T sum = 0;
    for (int64_t i = 0; i < length; ++i) sum += xr[i];
    T mean = sum / static_cast<T>(length);
    T squares = 0;
    for (int64_t i = 0; i < length; ++i) squares += (xr[i] - mean) * (xr[i] - mean);
    T deviation = std::sqrt(squares / static_cast<T>(length) + epsilon);
    if (divide) {
      for (int64_t i = 0; i < length; ++i) yr[i] = (xr[i] - mean) / deviation;
    } else {
      T inverse = T(1) / deviation;
      for (int64_t i = 0; i < length; ++i) yr[i] = (xr[i] - mean) * inverse;
    }
  }
}

void instance_norm_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  const Shape& shape = in[0].shape();
  int64_t n = shape[0], c = shape[1], rest = n * c == 0 ? 0 : in[0].numel() / (n * c);
  dispatch_floating("instance_norm", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* y = out.mutable_data_as<T>();
    normalize_runs(in[0].data_as<T>(), y, n * c, rest, static_cast<T>(attr_number(attrs, "epsilon")));
    const T *scale = in[1].data_as<T>(), *bias = in[2].data_as<T>();
    for (int64_t run = 0; run < n * c; ++run)
      for (int64_t i = 0; i < rest; ++i) y[run * rest + i] = y[run * rest + i] * scale[run % c] + bias[run % c];
  });
}

// Python Mithril's scaled_dot_product_attention, row by row: w = (q . k) * scale (+ -inf above the
// diagonal when causal), then e = exp(w - max), p = e / sum(e), out = p @ value.
void attention_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  const Shape &qs = in[0].shape(), &ks = in[1].shape(), &vs = in[2].shape();
  std::size_t r = qs.size();
  int64_t rows = qs[r - 2], width = qs[r - 1], keys = ks[r - 2], columns = vs[r - 1];
  int64_t batches = rows * width == 0 ? 0 : in[0].numel() / (rows * width);
  if (keys * width != 0) batches = in[1].numel() / (keys * width);
  bool causal = attr_bool(attrs, "is_causal");
  dispatch_floating("scaled_dot_product_attention", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T scale = attr_is_null(attrs, "scale") ? T(1) / std::sqrt(static_cast<T>(width)) : static_cast<T>(attr_number(attrs, "scale"));
    const T *q = in[0].data_as<T>(), *k = in[1].data_as<T>(), *v = in[2].data_as<T>();
    T* y = out.mutable_data_as<T>();
    std::vector<T> w(static_cast<std::size_t>(keys));
    for (int64_t b = 0; b < batches; ++b)
      for (int64_t i = 0; i < rows; ++i) {
        const T* qi = q + (b * rows + i) * width;
        T largest = -std::numeric_limits<T>::infinity();
        for (int64_t j = 0; j < keys; ++j) {
          const T* kj = k + (b * keys + j) * width;
          T dot = 0;
          for (int64_t e = 0; e < width; ++e) dot += qi[e] * kj[e];
          T value = dot * scale + (causal && j > i ? -std::numeric_limits<T>::infinity() : T(0));
          w[static_cast<std::size_t>(j)] = value;
          largest = std::max(largest, value);
        }
        T sum = 0;
        for (T& x : w) sum += x = std::exp(x - largest);
        T* yi = y + (b * rows + i) * columns;
        for (int64_t o = 0; o < columns; ++o) yi[o] = 0;
        for (int64_t j = 0; j < keys; ++j) {
          T p = w[static_cast<std::size_t>(j)] / sum;
          const T* vj = v + (b * keys + j) * columns;
          for (int64_t o = 0; o < columns; ++o) yi[o] += p * vj[o];
        }
      }
  });
}

// Python Mithril's tsne_p_joint. One row's conditional probabilities (Python's calc_prob_matrix
// for one row, zero_index i): softmax of -d[j] / (2 sigma[j]^2), the row maximum subtracted before
// the diagonal entry is zeroed. `sigma` has one entry, the row's own, during the search (stride
// 0), and then all of them: Python divides the whole matrix by the sigmas broadcast along its
// last axis, so entry j uses sigma j.
template <class T>
void tsne_row(const T* d, int64_t n, int64_t i, const T* sigma, int64_t sigma_stride, T* p) {
  T largest = -std::numeric_limits<T>::infinity();
  for (int64_t j = 0; j < n; ++j) {
    T s = sigma[j * sigma_stride], two_sigma_sq = T(2) * (s * s);
    if (two_sigma_sq == T(0))
      throw Error(ErrorKind::shape, "tsne_p_joint: the perplexity search reached sigma 0 (Python Mithril fails there too)");
    largest = std::max(largest, p[j] = -d[j] / two_sigma_sq);
  }
  T sum = 0;
  for (int64_t j = 0; j < n; ++j) sum += p[j] = j == i ? T(0) : std::exp(p[j] - largest);
  for (int64_t j = 0; j < n; ++j) p[j] /= sum;
}

// Python's binary_search(eval, target, lower=0.0) (upper 1001, max_it 1000) and its
// find_boundary_point, step for step: sigma is the midpoint of the interval it returns.
template <class T>
T tsne_sigma(const std::function<T(T)>& perplexity, T target) {
  constexpr int kMaxIt = 1000;
  int it = 0;
  T lower = 0, upper = 1001, guess = 0;
  auto midpoint = [](T a, T b) { return (a + b) / 2; };
  bool hit = false;
  while (it <= kMaxIt && lower != upper) {
    guess = midpoint(lower, upper);
    T val = perplexity(guess);
    if (val == target) {
      hit = true;
      break;
    }
    ++it;
    if (val > target) upper = guess;
    else if (val < target) lower = guess;
  }
  auto boundary_point = [&](T start, T boundary) {
    T at_start = perplexity(start);
    if (perplexity(boundary) == at_start) return boundary;
    T g = midpoint(start, boundary);
    while (start != g && g != boundary && it <= kMaxIt) {
      if (perplexity(g) == at_start) start = g;
      else boundary = g;
      g = midpoint(start, boundary);
      ++it;
    }
    return start;
  };
  if (hit && it <= kMaxIt && lower != upper) {
    upper = boundary_point(guess, upper);
    lower = boundary_point(guess, lower);
  }
  return midpoint(lower, upper);
}

void tsne_p_joint_kernel(const std::vector<Tensor>& in, const Attributes&, Tensor& out) {
  int64_t n = in[0].shape()[0];
  dispatch_floating("tsne_p_joint", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* d = in[0].data_as<T>();
    T target = *in[1].data_as<T>(), threshold = *in[2].data_as<T>();
    std::vector<T> row(static_cast<std::size_t>(n)), sigmas(static_cast<std::size_t>(n)), p(static_cast<std::size_t>(n * n));
    for (int64_t i = 0; i < n; ++i) {
      const T* di = d + i * n;
      // perplexity_fn: 2 ** -sum(p * log2(p)) with p clipped to [threshold, 1 - threshold].
      std::function<T(T)> perplexity = [&](T sigma) {
        tsne_row(di, n, i, &sigma, 0, row.data());
        T entropy = 0;
        for (T x : row) {
          x = std::min(std::max(x, threshold), T(1) - threshold);
          entropy += x * std::log2(x);
        }
        return std::pow(T(2), -entropy);
      };
      sigmas[static_cast<std::size_t>(i)] = tsne_sigma(perplexity, target);
    }
    for (int64_t i = 0; i < n; ++i) tsne_row(d + i * n, n, i, sigmas.data(), 1, p.data() + i * n);
    T* y = out.mutable_data_as<T>();
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) y[i * n + j] = (p[static_cast<std::size_t>(i * n + j)] + p[static_cast<std::size_t>(j * n + i)]) / (T(2) * static_cast<T>(n));
  });
}

// Python Mithril's GroupNorm in numpy's order: per run, mean = sum / n, variance = the mean of
// (x - mean)^2, then (x - mean) / sqrt(variance + epsilon).
void group_norm_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  const Shape& shape = in[0].shape();
  int64_t groups = attr_int(attrs, "num_groups");
  int64_t runs = shape[0] * groups, length = runs == 0 ? 0 : in[0].numel() / runs;
  dispatch_floating("group_norm", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = in[0].data_as<T>();
    T* y = out.mutable_data_as<T>();
    normalize_runs(x, y, runs, length, static_cast<T>(attr_number(attrs, "epsilon")), /*divide=*/true);
  });
}

void layer_norm_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  const Shape& shape = in[0].shape();
  auto axis = static_cast<std::size_t>(normalize_axis(attr_int(attrs, "axis"), in[0].ndim()));
  int64_t length = 1;
  for (std::size_t d = axis; d < shape.size(); ++d) length *= shape[d];
  int64_t runs = length == 0 ? 0 : in[0].numel() / length;
  dispatch_floating("layer_norm", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* y = out.mutable_data_as<T>();
    normalize_runs(in[0].data_as<T>(), y, runs, length, static_cast<T>(attr_number(attrs, "epsilon")));
    std::vector<int64_t> so = broadcast_offsets(in[1].shape(), shape), bo = broadcast_offsets(in[2].shape(), shape);
    const T *scale = in[1].data_as<T>(), *bias = in[2].data_as<T>();
    for (int64_t i = 0; i < out.numel(); ++i) {
      auto at = static_cast<std::size_t>(i);
      y[i] = y[i] * scale[so[at]] + bias[bo[at]];
    }
  });
}

template <class F>
void add_robust(OpRegistry& registry, const std::string& op, F f) {
  registry.add_kernel(op, kReferenceBackend, [op, f](const std::vector<Tensor>& in, const Attributes&, Tensor& out) {
    dispatch_floating(op, out.dtype(), [&](auto tag) {
      using T = decltype(tag);
      std::vector<std::vector<int64_t>> offsets;
      for (const Tensor& t : in) offsets.push_back(broadcast_offsets(t.shape(), out.shape()));
      T* y = out.mutable_data_as<T>();
      for (int64_t i = 0; i < out.numel(); ++i) {
        std::vector<T> args;
        for (std::size_t k = 0; k < in.size(); ++k) args.push_back(in[k].data_as<T>()[offsets[k][static_cast<std::size_t>(i)]]);
        y[i] = f(args);
      }
    });
  });
}

// max_unpool: the values are scattered into the default output ((in - 1) * stride + kernel - padding
// per axis), every index checked against it first; an output_size larger on some axis extends that
// axis with zeros at its end (ONNX's reference and onnxruntime do so).
void max_unpool_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  const Shape& xs = in[0].shape();
  std::vector<int64_t> kernel = attr_ints(attrs, "kernel_size"), stride = attr_ints(attrs, "stride"), padding = attr_ints(attrs, "padding");
  Shape full = xs;
  for (std::size_t i = 0; i < kernel.size(); ++i)
    full[i + 2] = (xs[i + 2] - 1) * (stride.empty() ? 1 : stride[i]) + kernel[i] - (padding.empty() ? 0 : padding[2 * i] + padding[2 * i + 1]);
  const Shape& os = out.shape();
  for (std::size_t a = 0; a < os.size(); ++a)
    if (os[a] < full[a])
      throw Error(ErrorKind::shape, "max_unpool: output " + shape_str(to_sym_shape(os)) + " is smaller than the unpooled " + shape_str(to_sym_shape(full)));
  int64_t total = 1;
  for (int64_t d : full) total *= d;
  std::memset(out.mutable_data(), 0, out.nbytes());
  Shape full_strides(full.size(), 1), out_strides(os.size(), 1);
  for (std::size_t a = full.size(); a-- > 1;) {
    full_strides[a - 1] = full_strides[a] * full[a];
    out_strides[a - 1] = out_strides[a] * os[a];
  }
  auto position = [&](int64_t e) {
    int64_t i = in[1].dtype() == DType::int64 ? in[1].data_as<int64_t>()[e] : in[1].data_as<int32_t>()[e];
    if (i < 0 || i >= total)
      throw Error(ErrorKind::shape, "max_unpool: index " + std::to_string(i) + " is outside the unpooled " + shape_str(to_sym_shape(full)));
    int64_t at = 0;  // the same coordinates in the (possibly larger) output
    for (std::size_t a = 0; a < full.size(); ++a) {
      at += (i / full_strides[a]) * out_strides[a];
      i %= full_strides[a];
    }
    return at;
  };
  dispatch_element_size("max_unpool", out.dtype(), [&](auto word) {
    using W = decltype(word);
    const W* x = in[0].data_as<W>();
    W* y = out.mutable_data_as<W>();
    for (int64_t e = 0; e < in[0].numel(); ++e) y[position(e)] = x[e];
  });
}

}  // namespace

void register_reference_nn_kernels(OpRegistry& registry) {
  registry.add_kernel("identity", kReferenceBackend, identity_kernel);
  registry.add_kernel("max_unpool", kReferenceBackend, max_unpool_kernel);
  registry.add_kernel("gather", kReferenceBackend, gather_kernel);
  registry.add_kernel("cartesian_difference", kReferenceBackend, cartesian_difference_kernel);
  registry.add_kernel("polynomial_features", kReferenceBackend, polynomial_features_kernel);
  registry.add_kernel("conv1d", kReferenceBackend,
                      [](const std::vector<Tensor>& in, const Attributes& a, Tensor& out) { conv_kernel(in, a, out, 1); });
  registry.add_kernel("conv2d", kReferenceBackend,
                      [](const std::vector<Tensor>& in, const Attributes& a, Tensor& out) { conv_kernel(in, a, out, 2); });
  registry.add_kernel("max_pool1d", kReferenceBackend,
                      [](const std::vector<Tensor>& in, const Attributes& a, Tensor& out) { pool_kernel(in, a, out, 1, false); });
  registry.add_kernel("max_pool2d", kReferenceBackend,
                      [](const std::vector<Tensor>& in, const Attributes& a, Tensor& out) { pool_kernel(in, a, out, 2, false); });
  // --- ONNX nn/math ops (issue 14)
  registry.add_kernel("max_pool3d", kReferenceBackend,
                      [](const std::vector<Tensor>& in, const Attributes& a, Tensor& out) { pool_kernel(in, a, out, 3, false); });
  for (std::size_t rank = 1; rank <= 3; ++rank) {
    std::string r = std::to_string(rank);
    registry.add_kernel("avg_pool" + r + "d", kReferenceBackend,
                        [rank](const std::vector<Tensor>& in, const Attributes& a, Tensor& out) { pool_kernel(in, a, out, rank, true); });
    registry.add_kernel("conv_transpose" + r + "d", kReferenceBackend,
                        [rank](const std::vector<Tensor>& in, const Attributes& a, Tensor& out) {
                          conv_transpose_kernel(in, a, out, rank);
                        });
  }
  registry.add_kernel("conv3d", kReferenceBackend,
                      [](const std::vector<Tensor>& in, const Attributes& a, Tensor& out) { conv_nd_kernel(in, a, out, 3); });
  registry.add_kernel("batch_norm", kReferenceBackend, batch_norm_kernel);
  registry.add_kernel("instance_norm", kReferenceBackend, instance_norm_kernel);
  registry.add_kernel("group_norm", kReferenceBackend, group_norm_kernel);
  registry.add_kernel("tsne_p_joint", kReferenceBackend, tsne_p_joint_kernel);
  registry.add_kernel("scaled_dot_product_attention", kReferenceBackend, attention_kernel);
  registry.add_kernel("layer_norm", kReferenceBackend, layer_norm_kernel);
  add_robust(registry, "robust_sqrt", [](const auto& a) {
    auto x = std::abs(a[0]);
    return x < a[1] ? x / std::sqrt(a[1]) : std::sqrt(x);
  });
  add_robust(registry, "robust_log", [](const auto& a) {
    auto x = std::abs(a[0]);
    return x < a[1] ? std::log(a[1]) + x / a[1] - 1 : std::log(x);
  });
  add_robust(registry, "stable_reciprocal", [](const auto& a) {
    using T = std::decay_t<decltype(a[0])>;
    T x = a[0], t = a[1];
    if (!(std::abs(x) < t)) return T(1) / x;
    auto sign = [](T v) { return v > 0 ? T(1) : v < 0 ? T(-1) : v; };  // numpy's sign: 0 for 0
    return (sign(x) + (T(1) - sign(std::abs(x)))) * T(2) * (T(1) / t) + (-x / (t * t));
  });
  add_robust(registry, "robust_power", [](const auto& a) {
    auto b = std::abs(a[0]);
    auto e = a[1], t = a[2];
    return (b < t && e < 1 - std::log(t) / std::log(b)) ? b / t : std::pow(b, e);
  });
}

}  // namespace mithril
