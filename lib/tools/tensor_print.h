#pragma once
// Printing tensors the way numpy does, for `mithril-run` without -o and `mithril-load` listings.
#include <cstdint>
#include <string>

#include "core/tensor.h"

namespace mithril::tools {

struct PrintOptions {
  int64_t threshold = 1000;  ///< above this many elements, abbreviate (numpy's default)
  int64_t edgeitems = 3;     ///< items kept at each end of an abbreviated axis
  int precision = 8;         ///< significant digits of floats
};

/// numpy-like text of a tensor: "[[ 0.5, -1.25],\n [ 2.,  3.]]", abbreviated with "..." when it
/// has more than `threshold` elements. Complex values print as "(re+imj)".
std::string format_tensor(const Tensor& tensor, const PrintOptions& options = {});

}  // namespace mithril::tools
