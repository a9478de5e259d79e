// Reference kernels of the shape family. They move elements without looking at them, so they
// work on every dtype: reshape and flatten copy the buffer as is, concat copies blocks, and
// transpose runs xtensor's strided copy on an unsigned integer type of the element's size.
#include <complex>
#include <cstring>
#include <string>

#include <xtensor/xadapt.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xnoalias.hpp>

#include "backends/reference/families.h"
#include "core/error.h"
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

}  // namespace

void register_reference_shape_kernels(OpRegistry& registry) {
  registry.add_kernel("reshape", kReferenceBackend, copy_buffer);
  registry.add_kernel("flatten", kReferenceBackend, copy_buffer);
  registry.add_kernel("transpose", kReferenceBackend, transpose_kernel);
  registry.add_kernel("concat", kReferenceBackend, concat_kernel);
}

}  // namespace mithril
