#pragma once
// Shapes: concrete (every dimension known) and symbolic (as declared in a logical model).
#include <cstdint>
#include <string>
#include <vector>

namespace mithril {

/// A concrete shape: one non-negative size per axis; {} is a 0-d (scalar) shape.
using Shape = std::vector<int64_t>;

/// Number of elements of `shape` (1 for 0-d). Throws Error(shape) on a negative size or overflow
/// past 2^62, so a number read from a file can never size an allocation unchecked.
int64_t shape_numel(const Shape& shape);

/// "[5,10]"; "[]" for 0-d.
std::string shape_str(const Shape& shape);

/// One dimension of a declared shape: a known size, a named symbol (dimensions with the same name
/// must agree wherever they appear in one model), or unknown (written `null`).
struct Dim {
  int64_t size = -1;   ///< >= 0 when known
  std::string symbol;  ///< non-empty for a named symbol

  static Dim known(int64_t size) { return Dim{size, {}}; }
  static Dim named(std::string symbol) { return Dim{-1, std::move(symbol)}; }
  static Dim any() { return Dim{}; }

  bool is_known() const { return size >= 0; }
  bool is_named() const { return size < 0 && !symbol.empty(); }
  bool operator==(const Dim& other) const { return size == other.size && symbol == other.symbol; }
};

/// A declared shape.
using SymShape = std::vector<Dim>;

/// A symbolic shape of known sizes.
SymShape to_sym_shape(const Shape& shape);

/// True when every dimension is known.
bool is_concrete(const SymShape& shape);

/// True when `shape` is one of `declared`'s: the same rank, and equal where `declared` knows a size.
bool shape_fits(const SymShape& declared, const Shape& shape);

/// The concrete shape of a fully known SymShape (asserts is_concrete).
Shape to_shape(const SymShape& shape);

/// "[null,10]", "[batch,10]".
std::string shape_str(const SymShape& shape);

}  // namespace mithril
