// Reference kernels of the shape family. They move elements without looking at them, so they
// work on every dtype: reshape and flatten copy the buffer as is, concat copies blocks, and
// transpose runs xtensor's strided copy on an unsigned integer type of the element's size.
// slice, expand, tile and pad are one copy through per-axis index maps (copy_mapped);
// depth_to_space and space_to_depth are a 6-D transpose.
#include <algorithm>
#include <complex>
#include <cstring>
#include <limits>
#include <string>

#include <xtensor/xadapt.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xnoalias.hpp>

#include "backends/reference/families.h"
#include "core/error.h"
#include "ops/indexing.h"
#include "ops/shape_inference.h"

namespace mithril {

namespace {

void copy_buffer(const std::vector<Tensor>& in, const Attributes&, Tensor& out) {
  if (out.nbytes() > 0) std::memcpy(out.mutable_data(), in[0].data(), out.nbytes());
}

template <class Word>
void transpose_as(const Tensor& input, const std::vector<std::size_t>& permutation, Tensor& out) {
  std::vector<std::size_t> in_shape(input.shape().begin(), input.shape().end());
  std::vector<std::size_t> out_shape(out.shape().begin(), out.shape().end());
  auto x = xt::adapt(static_cast<const Word*>(input.data()), static_cast<std::size_t>(input.numel()),
                     xt::no_ownership(), in_shape);
  auto y = xt::adapt(static_cast<Word*>(out.mutable_data()), static_cast<std::size_t>(out.numel()),
                     xt::no_ownership(), out_shape);
  xt::noalias(y) = xt::transpose(x, permutation);
}

void transpose_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  const Tensor& input = in[0];
  std::vector<std::size_t> permutation;
  if (attr_is_null(attrs, "axes")) {
    for (int64_t a = input.ndim() - 1; a >= 0; --a) permutation.push_back(static_cast<std::size_t>(a));
  } else {
    for (int64_t a : normalize_axes(attr_ints(attrs, "axes"), input.ndim()))
      permutation.push_back(static_cast<std::size_t>(a));
  }
  switch (dtype_size(input.dtype())) {
    case 1: transpose_as<uint8_t>(input, permutation, out); return;
    case 2: transpose_as<uint16_t>(input, permutation, out); return;
    case 4: transpose_as<uint32_t>(input, permutation, out); return;
    case 8: transpose_as<uint64_t>(input, permutation, out); return;
    case 16: transpose_as<std::complex<double>>(input, permutation, out); return;  // copied bit for bit
    default: throw_unsupported_dtype("transpose", input.dtype());
  }
}

// Viewed as [outer, axis, inner], the output is, for each outer index, every input's
// [axis_k * inner] block in turn.
void concat_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  if (attr_is_null(attrs, "axis")) {  // every input flattened, in turn
    auto* y = static_cast<unsigned char*>(out.mutable_data());
    for (const Tensor& t : in) {
      auto bytes = static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype());
      if (bytes) std::memcpy(y, t.data(), bytes);
      y += bytes;
    }
    return;
  }
  auto axis = static_cast<std::size_t>(normalize_axis(attr_int(attrs, "axis"), out.ndim()));
  int64_t outer = 1, inner = 1;
  for (std::size_t d = 0; d < axis; ++d) outer *= out.shape()[d];
  for (std::size_t d = axis + 1; d < out.shape().size(); ++d) inner *= out.shape()[d];
  std::size_t element = dtype_size(out.dtype());
  auto* y = static_cast<unsigned char*>(out.mutable_data());
  for (int64_t o = 0; o < outer; ++o) {
    for (const Tensor& t : in) {
      auto block = static_cast<std::size_t>(t.shape()[axis] * inner) * element;
      if (block == 0) continue;
      std::memcpy(y, static_cast<const unsigned char*>(t.data()) + static_cast<std::size_t>(o) * block, block);
      y += block;
    }
  }
}

// --- ONNX shape ops (issue 14)

// Per output axis, the input index each output index reads (-1: write the fill value instead).
using AxisMaps = std::vector<std::vector<int64_t>>;

// out[i0, ..., in] = input[maps[0][i0], ..., maps[n][in]], input viewed with `in_shape` (the
// input's shape, or with leading 1s for expand). Rows of the last axis are the inner loop.
template <class Word>
void copy_mapped(const Tensor& input, const Shape& in_shape, const AxisMaps& maps, Word fill, Tensor& out) {
  const Word* x = input.data_as<Word>();
  Word* y = out.mutable_data_as<Word>();
  std::size_t rank = maps.size();
  if (out.numel() == 0) return;
  if (rank == 0) {
    y[0] = x[0];
    return;
  }
  // Offsets in elements per axis; -1 stays the fill marker.
  AxisMaps offsets(rank);
  int64_t stride = 1;
  for (std::size_t a = rank; a-- > 0;) {
    for (int64_t i : maps[a]) offsets[a].push_back(i < 0 ? -1 : i * stride);
    stride *= in_shape[a];
  }
  const std::vector<int64_t>& last = offsets[rank - 1];
  std::vector<std::size_t> index(rank, 0);
  for (;;) {
    int64_t base = 0;
    bool filled = false;
    for (std::size_t a = 0; a + 1 < rank; ++a) {
      int64_t o = offsets[a][index[a]];
      if (o < 0) filled = true;
      base += o;
    }
    for (int64_t o : last) *y++ = filled || o < 0 ? fill : x[base + o];
    std::size_t a = rank - 1;
    while (a-- > 0) {
      if (++index[a] < offsets[a].size()) break;
      index[a] = 0;
    }
    if (a == static_cast<std::size_t>(-1)) return;
  }
}

void run_mapped(const char* op, const Tensor& input, const Shape& in_shape, const AxisMaps& maps, Tensor& out,
                const Tensor* fill = nullptr) {
  dispatch_element_size(op, input.dtype(), [&](auto word) {
    using Word = decltype(word);
    Word value{};
    if (fill) std::memcpy(&value, fill->data(), sizeof(Word));
    copy_mapped<Word>(input, in_shape, maps, value, out);
  });
}

void slice_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  const Shape& shape = in[0].shape();
  AxisMaps maps(shape.size());
  for (std::size_t a = 0; a < shape.size(); ++a)
    for (int64_t i = 0; i < shape[a]; ++i) maps[a].push_back(i);
  SliceSpec spec = slice_spec(attrs, in[0].ndim());
  for (std::size_t k = 0; k < spec.axes.size(); ++k) {
    auto a = static_cast<std::size_t>(spec.axes[k]);
    SliceAxis s = slice_axis(shape[a], spec.starts[k], spec.ends[k], spec.steps[k]);
    maps[a].clear();
    for (int64_t i = 0; i < s.count; ++i) maps[a].push_back(s.start + i * s.step);
  }
  run_mapped("slice", in[0], shape, maps, out);
}

void expand_kernel(const std::vector<Tensor>& in, const Attributes&, Tensor& out) {
  Shape in_shape(out.shape().size() - in[0].shape().size(), 1);
  in_shape.insert(in_shape.end(), in[0].shape().begin(), in[0].shape().end());
  AxisMaps maps(in_shape.size());
  for (std::size_t a = 0; a < in_shape.size(); ++a)
    for (int64_t i = 0; i < out.shape()[a]; ++i) maps[a].push_back(in_shape[a] == 1 ? 0 : i);
  run_mapped("expand", in[0], in_shape, maps, out);
}

void tile_kernel(const std::vector<Tensor>& in, const Attributes&, Tensor& out) {
  const Shape& shape = in[0].shape();
  AxisMaps maps(shape.size());
  for (std::size_t a = 0; a < shape.size(); ++a)
    for (int64_t i = 0; i < out.shape()[a]; ++i) maps[a].push_back(i % shape[a]);
  run_mapped("tile", in[0], shape, maps, out);
}

// Crops first (negative pads), then pads the kept range [lo, hi) of each axis.
void pad_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  const Shape& shape = in[0].shape();
  std::size_t rank = shape.size();
  std::vector<int64_t> pads = attr_ints(attrs, "pads");
  const std::string& mode = attr_string(attrs, "mode");
  AxisMaps maps(rank);
  for (std::size_t a = 0; a < rank; ++a) {
    int64_t before = pads[a], after = pads[a + rank];
    int64_t lo = std::max<int64_t>(0, -before), hi = shape[a] - std::max<int64_t>(0, -after);
    int64_t n = hi - lo;
    for (int64_t i = 0; i < out.shape()[a]; ++i) {
      int64_t q = i - std::max<int64_t>(before, 0);  // position in the kept range
      if (q >= 0 && q < n) {
        maps[a].push_back(lo + q);
      } else if (mode == "constant") {
        maps[a].push_back(-1);
      } else if (mode == "edge") {
        maps[a].push_back(lo + std::clamp<int64_t>(q, 0, n - 1));
      } else if (mode == "wrap") {
        maps[a].push_back(lo + ((q % n) + n) % n);
      } else {  // reflect: period 2(n-1), the edge itself not repeated
        int64_t period = 2 * (n - 1);
        int64_t m = period == 0 ? 0 : ((q % period) + period) % period;
        maps[a].push_back(lo + (m < n ? m : period - m));
      }
    }
  }
  Tensor value(DType::float64, {});
  *value.mutable_data_as<double>() = attr_number(attrs, "value");
  Tensor fill = value.cast(in[0].dtype());
  run_mapped("pad", in[0], shape, maps, out, &fill);
}

// depth_to_space is the transpose of the input viewed as 6-D: DCR [N,b,b,C',H,W] -> [N,C',H,b,W,b],
// CRD [N,C',b,b,H,W] -> [N,C',H,b,W,b]; space_to_depth runs the inverse permutation.
template <class Word>
void blocks_as(const Tensor& input, Tensor& out, const std::vector<std::size_t>& view,
               const std::vector<std::size_t>& permutation) {
  std::vector<std::size_t> out_view;
  for (std::size_t p : permutation) out_view.push_back(view[p]);
  auto x = xt::adapt(input.data_as<Word>(), static_cast<std::size_t>(input.numel()), xt::no_ownership(), view);
  auto y = xt::adapt(out.mutable_data_as<Word>(), static_cast<std::size_t>(out.numel()), xt::no_ownership(), out_view);
  xt::noalias(y) = xt::transpose(x, permutation);
}

void space_depth_kernel(const char* op, bool to_space, const Tensor& input, const Attributes& attrs, Tensor& out) {
  auto b = static_cast<std::size_t>(attr_int(attrs, "blocksize"));
  bool dcr = attr_string(attrs, "mode") == "DCR";
  const Shape& s = to_space ? input.shape() : out.shape();  // the depth side [N, C, H, W]
  auto n = static_cast<std::size_t>(s[0]), c = static_cast<std::size_t>(s[1]) / (b * b),
       h = static_cast<std::size_t>(s[2]), w = static_cast<std::size_t>(s[3]);
  std::vector<std::size_t> depth_view = dcr ? std::vector<std::size_t>{n, b, b, c, h, w} : std::vector<std::size_t>{n, c, b, b, h, w};
  std::vector<std::size_t> to_space_permutation =
      dcr ? std::vector<std::size_t>{0, 3, 4, 1, 5, 2} : std::vector<std::size_t>{0, 1, 4, 2, 5, 3};
  std::vector<std::size_t> view = depth_view, permutation = to_space_permutation;
  if (!to_space) {
    // The space side viewed as [N, C, H, b, W, b]: its axis q holds depth-view axis permutation[q].
    view.clear();
    for (std::size_t p : to_space_permutation) view.push_back(depth_view[p]);
    permutation.assign(6, 0);
    for (std::size_t q = 0; q < 6; ++q) permutation[to_space_permutation[q]] = q;
  }
  dispatch_element_size(op, input.dtype(), [&](auto word) { blocks_as<decltype(word)>(input, out, view, permutation); });
}

// dim_size and eye_of_dim: values from the input's shape only.
void dim_size_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  const Shape& shape = in[0].shape();
  int64_t size = attr_is_null(attrs, "axis") ? in[0].numel()
                                             : shape[static_cast<std::size_t>(normalize_axis(attr_int(attrs, "axis"), static_cast<int64_t>(shape.size())))];
  Tensor value = Tensor::scalar(out.dtype(), static_cast<double>(size));
  std::memcpy(out.mutable_data(), value.data(), out.nbytes());
}

void eye_of_dim_kernel(const std::vector<Tensor>&, const Attributes&, Tensor& out) {
  int64_t n = out.shape()[0];
  Tensor one = Tensor::scalar(out.dtype(), 1.0);
  std::size_t size = dtype_size(out.dtype());
  auto* bytes = static_cast<char*>(out.mutable_data());
  std::memset(bytes, 0, out.nbytes());
  for (int64_t i = 0; i < n; ++i) std::memcpy(bytes + static_cast<std::size_t>(i * n + i) * size, one.data(), size);
}

// in[0][start:end] along `axis` (bounds clamped as slice's), through slice_kernel.
void slice_one_axis(const std::vector<Tensor>& in, int64_t axis, int64_t start, int64_t end, Tensor& out) {
  Attributes slice = {{"starts", std::vector<int64_t>{start}}, {"ends", std::vector<int64_t>{end}},
                      {"axes", std::vector<int64_t>{axis}}, {"steps", AttrValue{}}};
  slice_kernel(in, slice, out);  // reads in[0] only
}

// slice_at_dim: a one-axis slice whose bound is the size of `like` along like_axis.
void slice_at_dim_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  const Shape& like = in[1].shape();
  int64_t n = like[static_cast<std::size_t>(normalize_axis(attr_int(attrs, "like_axis"), in[1].ndim()))];
  bool before = attr_string(attrs, "keep") == "before";
  slice_one_axis(in, attr_int(attrs, "axis"), before ? 0 : n, before ? n : std::numeric_limits<int64_t>::max(), out);
}

// split_section: a one-axis slice of the section's bounds.
void split_section_kernel(const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
  int64_t axis = normalize_axis(attr_int(attrs, "axis"), in[0].ndim());
  int64_t n = in[0].shape()[static_cast<std::size_t>(axis)] / attr_int(attrs, "sections");
  int64_t start = attr_int(attrs, "index") * n;
  slice_one_axis(in, axis, start, start + n, out);
}

}  // namespace

void register_reference_shape_kernels(OpRegistry& registry) {
  registry.add_kernel("reshape", kReferenceBackend, copy_buffer);
  registry.add_kernel("flatten", kReferenceBackend, copy_buffer);
  registry.add_kernel("squeeze", kReferenceBackend, copy_buffer);
  registry.add_kernel("transpose", kReferenceBackend, transpose_kernel);
  registry.add_kernel("concat", kReferenceBackend, concat_kernel);
  registry.add_kernel("dim_size", kReferenceBackend, dim_size_kernel);
  registry.add_kernel("slice_at_dim", kReferenceBackend, slice_at_dim_kernel);
  registry.add_kernel("split_section", kReferenceBackend, split_section_kernel);
  registry.add_kernel("eye_of_dim", kReferenceBackend, eye_of_dim_kernel);
  // --- ONNX shape ops (issue 14)
  registry.add_kernel("slice", kReferenceBackend, slice_kernel);
  registry.add_kernel("expand", kReferenceBackend, expand_kernel);
  registry.add_kernel("tile", kReferenceBackend, tile_kernel);
  registry.add_kernel("pad", kReferenceBackend, pad_kernel);
  registry.add_kernel("depth_to_space", kReferenceBackend, [](const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
    space_depth_kernel("depth_to_space", true, in[0], attrs, out);
  });
  registry.add_kernel("space_to_depth", kReferenceBackend, [](const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
    space_depth_kernel("space_to_depth", false, in[0], attrs, out);
  });
}

}  // namespace mithril
