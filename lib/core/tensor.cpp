#include "core/tensor.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>

#include "core/error.h"

namespace mithril {
namespace {

// Buffers at least this large that will be written in full get their pages faulted in up front.
constexpr std::size_t kPrefaultMinBytes = std::size_t{256} << 10;

// Asks the kernel to fault in, in one call, the whole pages of a fresh buffer that is about to be
// written in full: cheaper than one page fault per 4 KiB page during the copy that follows (an
// eager .mbin load of 400 MiB took 0.72x the time on the dev VM, see scripts/bench-mbin).
// Advisory only: errors (e.g. EINVAL before Linux 5.14) are ignored; contents do not change.
void prefault_for_write([[maybe_unused]] void* data, [[maybe_unused]] std::size_t nbytes) {
#ifdef MADV_POPULATE_WRITE
  if (nbytes < kPrefaultMinBytes) return;
  static const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  uintptr_t from = (reinterpret_cast<uintptr_t>(data) + page - 1) / page * page;
  uintptr_t to = (reinterpret_cast<uintptr_t>(data) + nbytes) / page * page;
  if (to > from) madvise(reinterpret_cast<void*>(from), to - from, MADV_POPULATE_WRITE);
#endif
}

std::string gib(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f GiB", static_cast<double>(bytes) / (uint64_t{1} << 30));
  return text;
}

// The memory of this machine (0 if unknown): a tensor larger than it cannot be meant.
uint64_t physical_memory() {
  static const uint64_t bytes = [] {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : uint64_t{0};
  }();
  return bytes;
}

// Refused before allocating when it cannot fit; the message says what and how much (callers add
// where it was for: "--random input 'input': ...").
std::shared_ptr<void> allocate_aligned(DType dtype, const Shape& shape, std::size_t nbytes, bool zero = true) {
  auto what = [&] { return std::string(dtype_name(dtype)) + shape_str(shape); };
  check_fits_in_memory(dtype, shape);
  std::size_t rounded = (nbytes + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
  if (rounded == 0) rounded = kTensorAlignment;
  void* p = std::aligned_alloc(kTensorAlignment, rounded);
  if (!p) throw Error(ErrorKind::invalid_argument, "tensor " + what() + ": cannot allocate " + gib(nbytes) + ": out of memory");
  if (zero) std::memset(p, 0, rounded);
  else prefault_for_write(p, rounded);
  return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
}

// Element conversions through a common representation: double for real values (int64/uint64 kept
// exact through their own paths), complex<double> for complex ones.
template <class T> double to_double(T v) {
  if constexpr (std::is_same_v<T, float16_t>) return float16_to_float(v.bits);
  else if constexpr (std::is_same_v<T, bfloat16_t>) return bfloat16_to_float(v.bits);
  else if constexpr (std::is_same_v<T, std::complex<float>> || std::is_same_v<T, std::complex<double>>)
    return static_cast<double>(v.real());
  else return static_cast<double>(v);
}

template <class T> T from_double(double v) {
  if constexpr (std::is_same_v<T, float16_t>) return float16_t{float_to_float16(static_cast<float>(v))};
  else if constexpr (std::is_same_v<T, bfloat16_t>) return bfloat16_t{float_to_bfloat16(static_cast<float>(v))};
  else if constexpr (std::is_same_v<T, bool>) return v != 0.0;
  else return static_cast<T>(v);
}

template <class T> constexpr bool is_complex_v =
    std::is_same_v<T, std::complex<float>> || std::is_same_v<T, std::complex<double>>;

template <class From, class To>
void convert(const From* in, To* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (is_complex_v<From> && is_complex_v<To>) {
      out[i] = To(static_cast<typename To::value_type>(in[i].real()), static_cast<typename To::value_type>(in[i].imag()));
    } else if constexpr (std::is_integral_v<From> && std::is_integral_v<To>) {
      if constexpr (std::is_same_v<To, bool>) out[i] = in[i] != 0;
      else out[i] = static_cast<To>(in[i]);
    } else if constexpr (is_complex_v<To>) {
      out[i] = To(static_cast<typename To::value_type>(to_double(in[i])), 0);
    } else {
      out[i] = from_double<To>(to_double(in[i]));
    }
  }
}

}  // namespace

void check_fits_in_memory(DType dtype, const Shape& shape) {
  uint64_t nbytes = static_cast<uint64_t>(shape_numel(shape)) * dtype_size(dtype);  // numel <= 2^62, size <= 16: no overflow
  uint64_t memory = physical_memory();
  if (memory && nbytes > memory)
    throw Error(ErrorKind::invalid_argument, "tensor " + std::string(dtype_name(dtype)) + shape_str(shape) + " needs " + gib(nbytes) +
                                                 ", more than the " + gib(memory) + " of memory of this machine");
}

Tensor::Tensor() : Tensor(DType::float32, Shape{}) {}

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  numel_ = shape_numel(shape_);
  auto buffer = allocate_aligned(dtype_, shape_, nbytes());
  data_ = buffer.get();
  owner_ = std::move(buffer);
}

Tensor Tensor::uninitialized(DType dtype, Shape shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.numel_ = shape_numel(t.shape_);
  auto buffer = allocate_aligned(t.dtype_, t.shape_, t.nbytes(), false);
  t.data_ = buffer.get();
  t.owner_ = std::move(buffer);
  return t;
}

Tensor Tensor::borrow(DType dtype, Shape shape, const void* data, std::shared_ptr<const void> keep_alive) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.numel_ = shape_numel(t.shape_);
  t.owner_ = std::move(keep_alive);
  t.data_ = const_cast<void*>(data);
  t.writable_ = false;
  return t;
}

Tensor Tensor::view(DType dtype, Shape shape, void* data, std::shared_ptr<const void> keep_alive) {
  Tensor t = borrow(dtype, std::move(shape), data, std::move(keep_alive));
  t.writable_ = true;
  return t;
}

Tensor Tensor::scalar(DType dtype, double value) {
  Tensor t(dtype, Shape{});
  visit_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (is_complex_v<T>) *t.mutable_data_as<T>() = T(static_cast<typename T::value_type>(value), 0);
    else *t.mutable_data_as<T>() = from_double<T>(value);
  });
  return t;
}

void* Tensor::mutable_data() {
  if (!writable_) throw Error(ErrorKind::invalid_argument, "tensor " + describe(*this) + " is a read-only view");
  return data_;
}

Tensor Tensor::copy() const {
  Tensor t = uninitialized(dtype_, shape_);
  if (nbytes()) std::memcpy(t.data_, data_, nbytes());
  return t;
}

Tensor Tensor::cast(DType dtype) const {
  if (dtype == dtype_) return *this;
  if (is_complex(dtype_) && !is_complex(dtype))
    throw Error(ErrorKind::unsupported, "cannot cast " + std::string(dtype_name(dtype_)) + " to " +
                                            std::string(dtype_name(dtype)) + ": it would drop the imaginary part");
  Tensor out = uninitialized(dtype, shape_);
  visit_dtype(dtype_, [&](auto from_tag) {
    using From = decltype(from_tag);
    visit_dtype(dtype, [&](auto to_tag) {
      using To = decltype(to_tag);
      convert<From, To>(data_as<From>(), out.mutable_data_as<To>(), numel_);
    });
  });
  return out;
}

Tensor Tensor::reshaped(Shape shape) const {
  if (shape_numel(shape) != numel_)
    throw Error(ErrorKind::shape, "cannot reshape " + describe(*this) + " to " + shape_str(shape));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

double Tensor::value_at(int64_t i) const {
  return visit_dtype(dtype_, [&](auto tag) -> double { return to_double(data_as<decltype(tag)>()[i]); });
}

bool Tensor::bitwise_equal(const Tensor& other) const {
  return dtype_ == other.dtype_ && shape_ == other.shape_ &&
         (nbytes() == 0 || std::memcmp(data_, other.data_, nbytes()) == 0);
}

std::string describe(const Tensor& tensor) {
  return std::string(dtype_name(tensor.dtype())) + shape_str(tensor.shape());
}

}  // namespace mithril
