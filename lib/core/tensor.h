#pragma once
// Tensors: a dtype, a concrete shape and a contiguous row-major (C order) buffer in native byte
// order (little-endian on every supported host).
//
// A Tensor is a cheap handle: copying it shares the buffer (like a numpy array or a torch tensor);
// copy() makes an independent deep copy. A tensor either owns its buffer (64-byte aligned,
// writable) or borrows memory owned by someone else, e.g. a read-only file mapping, kept alive by
// the `keep_alive` handle given to borrow().
#include <cstdint>
#include <memory>
#include <string>

#include "core/dtype.h"
#include "core/shape.h"

namespace mithril {

/// Alignment of every buffer a Tensor allocates, in bytes.
inline constexpr std::size_t kTensorAlignment = 64;

class Tensor {
 public:
  /// A 0-d float32 tensor holding 0.
  Tensor();

  /// A new owned, zero-filled tensor. Throws Error(shape) for an invalid shape.
  Tensor(DType dtype, Shape shape);

  /// A new owned tensor whose contents are unspecified: for readers that fill every byte at
  /// once (saves a pass over memory compared with the zero-filling constructor; large buffers
  /// have their pages faulted in with one madvise instead of one fault per page).
  static Tensor uninitialized(DType dtype, Shape shape);

  /// A read-only view of `data` (nbytes = numel * dtype size, C order, native byte order), valid
  /// as long as `keep_alive` (which may be null for memory that outlives the tensor) is held.
  static Tensor borrow(DType dtype, Shape shape, const void* data, std::shared_ptr<const void> keep_alive);

  /// A writable view of `data` owned by someone else (an executor's arena): valid as long as
  /// `keep_alive` is held, or, when it is null, as long as the memory's owner guarantees.
  static Tensor view(DType dtype, Shape shape, void* data, std::shared_ptr<const void> keep_alive);

  /// A 0-d tensor holding `value` converted to `dtype`.
  static Tensor scalar(DType dtype, double value);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t ndim() const { return static_cast<int64_t>(shape_.size()); }
  int64_t numel() const { return numel_; }
  std::size_t nbytes() const { return static_cast<std::size_t>(numel_) * dtype_size(dtype_); }

  /// True when the buffer is borrowed (e.g. from a file mapping) and cannot be written.
  bool is_borrowed() const { return !writable_; }

  const void* data() const { return data_; }
  /// Throws Error(invalid_argument) for a borrowed tensor.
  void* mutable_data();

  template <class T> const T* data_as() const { return static_cast<const T*>(data_); }
  template <class T> T* mutable_data_as() { return static_cast<T*>(mutable_data()); }

  /// An independent, owned, writable copy.
  Tensor copy() const;

  /// The values converted to `dtype` (a copy, or this handle when the dtype is already `dtype`).
  /// Float to integer truncates toward zero; complex to real is refused with Error(unsupported).
  Tensor cast(DType dtype) const;

  /// The same buffer seen with another shape of the same element count.
  Tensor reshaped(Shape shape) const;

  /// Element `i` (flat C-order index) converted to double; complex gives the real part.
  double value_at(int64_t i) const;

  /// Same dtype, shape and bytes.
  bool bitwise_equal(const Tensor& other) const;

 private:
  DType dtype_ = DType::float32;
  Shape shape_;
  int64_t numel_ = 1;
  std::shared_ptr<const void> owner_;
  void* data_ = nullptr;
  bool writable_ = true;
};

/// "float32[5,10]".
std::string describe(const Tensor& tensor);

/// Throws Error(invalid_argument) naming the dtype, shape and size when such a tensor could not
/// fit in this machine's memory (every allocation checks this before allocating; callers that
/// build a tensor in steps check it first, so the message names the tensor they were asked for).
void check_fits_in_memory(DType dtype, const Shape& shape);

}  // namespace mithril
