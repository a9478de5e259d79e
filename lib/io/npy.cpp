#include "io/npy.h"

#include <bit>
#include <cstring>
#include <limits>
#include <vector>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/bytes.h"
#include "io/zip.h"

namespace mithril {

static_assert(std::endian::native == std::endian::little, "tensors are little-endian; npy code assumes it");

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicSize = 6;
// Spare spaces numpy (>= 1.23) adds after the dict so a growing axis can be rewritten in place.
constexpr std::size_t kGrowthAxisMaxDigits = 21;
// Arrays above this are refused as corrupt before anything is allocated (matches shape_numel's cap).
constexpr uint64_t kMaxArrayBytes = uint64_t{1} << 62;


// A descr string like "<f4" to a dtype; sets `byteswap` for big-endian multi-byte types.
[[noreturn]] void unsupported_descr(const std::string& descr, const std::string& context, const std::string& why) {
  fail_at(ErrorKind::unsupported, context, "dtype '" + printable(descr, 40) + "' is not supported (" + why +
                                            "); expected bool, int8..int64, uint8..uint64, float16/32/64 or "
                                            "complex64/128");
}

DType parse_descr(const std::string& descr, bool& byteswap, const std::string& context) {
  auto unsupported = [&](const std::string& why) { unsupported_descr(descr, context, why); };
  std::size_t pos = 0;
  char order = '=';
  if (!descr.empty() && (descr[0] == '<' || descr[0] == '>' || descr[0] == '=' || descr[0] == '|')) order = descr[pos++];
  if (pos >= descr.size()) unsupported("unknown dtype");
  char kind = descr[pos++];
  std::string digits = descr.substr(pos);
  switch (kind) {
    case 'O': unsupported_descr(descr, context, "object arrays are pickled");
    case 'S': case 'a': case 'U': unsupported_descr(descr, context, "string arrays");
    case 'V': unsupported_descr(descr, context, "void/raw bytes");
    case 'M': case 'm': unsupported_descr(descr, context, "datetime arrays");
    default: break;
  }
  int size = 0;
  if (digits.empty() || digits.size() > 2) unsupported("unknown dtype");
  for (char c : digits) {
    if (c < '0' || c > '9') unsupported("unknown dtype");
    size = size * 10 + (c - '0');
  }
  DType dtype = DType::bool_;  // every branch below sets it or throws
  if (kind == 'b' || kind == '?') {
    if (size != 1) unsupported("unknown dtype");
    dtype = DType::bool_;
  } else if (kind == 'i' || kind == 'u') {
    bool s = kind == 'i';
    if (size == 1) dtype = s ? DType::int8 : DType::uint8;
    else if (size == 2) dtype = s ? DType::int16 : DType::uint16;
    else if (size == 4) dtype = s ? DType::int32 : DType::uint32;
    else if (size == 8) dtype = s ? DType::int64 : DType::uint64;
    else unsupported("unknown dtype");
  } else if (kind == 'f') {
    if (size == 2) dtype = DType::float16;
    else if (size == 4) dtype = DType::float32;
    else if (size == 8) dtype = DType::float64;
    else if (size == 16 || size == 12) unsupported("long double");
    else unsupported("unknown dtype");
  } else if (kind == 'c') {
    if (size == 8) dtype = DType::complex64;
    else if (size == 16) dtype = DType::complex128;
    else if (size == 32 || size == 24) unsupported("complex long double");
    else unsupported("unknown dtype");
  } else {
    unsupported("unknown dtype");
  }
  byteswap = order == '>' && size > 1;
  return dtype;
}

// A parser for the Python dict literal of an npy header. It accepts exactly what numpy's
// safe_eval + key checks accept for the supported dtypes: the keys 'descr' (a string),
// 'fortran_order' (True/False) and 'shape' (a tuple of non-negative ints, 'L' suffix allowed).
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& context) : text_(text), context_(context) {}

  NpyHeader parse() {
    NpyHeader header;
    bool seen_descr = false, seen_order = false, seen_shape = false;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') break;
      std::string key = parse_string("a key");
      skip_space();
      expect(':');
      skip_space();
      if (key == "descr") {
        if (seen_descr) bad("key 'descr' appears twice");
        if (peek() == '[') fail_at(ErrorKind::unsupported, context_, "structured dtypes are not supported");
        header.descr = parse_string("a descr string");
        seen_descr = true;
      } else if (key == "fortran_order") {
        if (seen_order) bad("key 'fortran_order' appears twice");
        header.fortran_order = parse_bool();
        seen_order = true;
      } else if (key == "shape") {
        if (seen_shape) bad("key 'shape' appears twice");
        header.shape = parse_shape();
        seen_shape = true;
      } else {
        bad("unexpected key '" + printable(key, 40) + "', expected only 'descr', 'fortran_order' and 'shape'");
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != '}') bad_char("',' or '}'");
    }
    ++pos_;
    skip_space();
    if (pos_ != text_.size()) bad_char("the end of the header after '}'");
    if (!seen_descr) bad("missing key 'descr'");
    if (!seen_order) bad("missing key 'fortran_order'");
    if (!seen_shape) bad("missing key 'shape'");
    return header;
  }

 private:
  [[noreturn]] void bad(const std::string& what) { fail_at(ErrorKind::format, context_, "bad npy header: " + what); }
  [[noreturn]] void bad_char(const std::string& expected) {
    std::string found = pos_ < text_.size() ? "'" + printable(text_.substr(pos_, 12), 40) + "'" : "the end of the header";
    bad("found " + found + " at offset " + std::to_string(pos_) + ", expected " + expected);
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void expect(char c) {
    if (peek() != c) bad_char(std::string("'") + c + "'");
    ++pos_;
  }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }
  std::string parse_string(const char* what) {
    char quote = peek();
    if (quote != '\'' && quote != '"') bad_char(what);
    std::size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) bad("unterminated string");
    std::string s(text_.substr(pos_ + 1, end - pos_ - 1));
    if (s.find('\\') != std::string::npos) bad("escape sequences in strings are not supported");
    pos_ = end + 1;
    return s;
  }
  bool parse_bool() {
    if (text_.substr(pos_, 4) == "True") {
      pos_ += 4;
      return true;
    }
    if (text_.substr(pos_, 5) == "False") {
      pos_ += 5;
      return false;
    }
    bad_char("True or False for 'fortran_order'");
  }
  int64_t parse_dim() {
    if (peek() == '-') bad("negative dimension in 'shape'");
    if (peek() < '0' || peek() > '9') bad_char("a dimension (non-negative integer)");
    uint64_t value = 0;
    while (peek() >= '0' && peek() <= '9') {
      uint64_t digit = static_cast<uint64_t>(peek() - '0');
      if (value > (uint64_t{std::numeric_limits<int64_t>::max()} - digit) / 10) bad("dimension in 'shape' too large");
      value = value * 10 + digit;
      ++pos_;
    }
    if (peek() == 'L') ++pos_;  // Python 2 long suffix, numpy strips it
    return static_cast<int64_t>(value);
  }
  Shape parse_shape() {
    if (peek() != '(') bad_char("a tuple for 'shape'");
    ++pos_;
    Shape shape;
    bool trailing_comma = false;
    skip_space();
    while (peek() != ')') {
      if (shape.size() >= kNpyMaxDims) bad("more than " + std::to_string(kNpyMaxDims) + " dimensions");
      shape.push_back(parse_dim());
      skip_space();
      trailing_comma = false;
      if (peek() == ',') {
        ++pos_;
        trailing_comma = true;
        skip_space();
      } else if (peek() != ')') {
        bad_char("',' or ')' in 'shape'");
      }
    }
    ++pos_;
    if (shape.size() == 1 && !trailing_comma) bad("'shape' is an integer in parentheses, expected a tuple like (n,)");
    return shape;
  }

  std::string_view text_;
  const std::string& context_;
  std::size_t pos_ = 0;
};

template <std::size_t N> struct Element { unsigned char bytes[N]; };

template <std::size_t N>
void fortran_to_c(const unsigned char* src_bytes, unsigned char* dst_bytes, const Shape& shape) {
  using E = Element<N>;
  const E* src = reinterpret_cast<const E*>(src_bytes);
  E* dst = reinterpret_cast<E*>(dst_bytes);
  const std::size_t ndim = shape.size();
  std::vector<uint64_t> stride(ndim);  // Fortran strides, in elements
  uint64_t numel = 1;
  for (std::size_t k = 0; k < ndim; ++k) {
    stride[k] = numel;
    numel *= static_cast<uint64_t>(shape[k]);
  }
  if (numel == 0) return;
  std::vector<int64_t> index(ndim, 0);
  const int64_t inner = shape[ndim - 1];
  const uint64_t inner_stride = stride[ndim - 1];
  uint64_t base = 0;
  for (uint64_t out = 0; out < numel; out += static_cast<uint64_t>(inner)) {
    const E* p = src + base;
    for (int64_t j = 0; j < inner; ++j) dst[out + static_cast<uint64_t>(j)] = p[static_cast<uint64_t>(j) * inner_stride];
    for (std::size_t k = ndim - 1; k-- > 0;) {  // odometer over the outer axes
      base += stride[k];
      if (++index[k] < shape[k]) break;
      base -= stride[k] * static_cast<uint64_t>(shape[k]);
      index[k] = 0;
    }
  }
}

template <class Word>
void byteswap_words(unsigned char* data, uint64_t nbytes) {
  for (uint64_t i = 0; i + sizeof(Word) <= nbytes; i += sizeof(Word)) {
    Word w;
    std::memcpy(&w, data + i, sizeof w);
    if constexpr (sizeof(Word) == 2) w = __builtin_bswap16(w);
    else if constexpr (sizeof(Word) == 4) w = __builtin_bswap32(w);
    else w = __builtin_bswap64(w);
    std::memcpy(data + i, &w, sizeof w);
  }
}

std::string shape_repr(const Shape& shape) {
  if (shape.empty()) return "()";
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + (shape.size() == 1 ? ",)" : ")");
}

}  // namespace

bool looks_like_npy(const void* data, std::size_t size) {
  return size >= kMagicSize && std::memcmp(data, kMagic, kMagicSize) == 0;
}

std::size_t npy_header_length(const void* data, std::size_t size, const std::string& context) {
  const auto* p = static_cast<const unsigned char*>(data);
  if (size == 0) fail_at(ErrorKind::format, context, "empty, expected an .npy array (magic \\x93NUMPY)");
  if (!looks_like_npy(data, size)) {
    if (size < kMagicSize && std::memcmp(data, kMagic, size) == 0)
      fail_at(ErrorKind::format, context, "truncated: " + std::to_string(size) + " bytes, shorter than the .npy magic");
    fail_at(ErrorKind::format, context, "bad magic '" + printable(std::string_view(reinterpret_cast<const char*>(p), std::min<std::size_t>(size, 6)), 40) +
                                         "', expected an .npy array (\\x93NUMPY)");
  }
  if (size < kMagicSize + 2) fail_at(ErrorKind::format, context, "truncated in the .npy version field");
  int major = p[6], minor = p[7];
  if (!((major == 1 || major == 2 || major == 3) && minor == 0))
    fail_at(ErrorKind::unsupported, context,
         "npy version " + std::to_string(major) + "." + std::to_string(minor) + " is not supported, expected 1.0, 2.0 or 3.0");
  std::size_t length_size = major == 1 ? 2 : 4;
  if (size < kMagicSize + 2 + length_size) fail_at(ErrorKind::format, context, "truncated in the .npy header length field");
  uint64_t header_size = major == 1 ? load_le<uint16_t>(p + 8) : load_le<uint32_t>(p + 8);
  if (header_size > kNpyMaxHeaderSize)
    fail_at(ErrorKind::format, context, "npy header claims " + std::to_string(header_size) + " bytes, at most " +
                                         std::to_string(kNpyMaxHeaderSize) + " are accepted");
  return kMagicSize + 2 + length_size + static_cast<std::size_t>(header_size);
}

NpyHeader parse_npy_header(const void* data, std::size_t size, const std::string& context) {
  std::size_t total = npy_header_length(data, size, context);
  if (total > size)
    fail_at(ErrorKind::format, context, "truncated: npy header claims " + std::to_string(total) + " bytes, " +
                                         std::to_string(size) + " present");
  const auto* p = static_cast<const unsigned char*>(data);
  int major = p[6];
  std::size_t prefix = major == 1 ? 10 : 12;
  std::string_view text(reinterpret_cast<const char*>(p) + prefix, total - prefix);
  NpyHeader header = HeaderParser(text, context).parse();
  header.version_major = major;
  header.data_offset = total;
  header.dtype = parse_descr(header.descr, header.byteswap, context);
  // numel * itemsize with overflow checks, so no later allocation is sized by an unchecked number.
  uint64_t bytes = dtype_size(header.dtype);
  bool empty = false;
  for (int64_t d : header.shape) empty = empty || d == 0;
  for (int64_t d : header.shape) {
    if (empty) break;
    uint64_t ud = static_cast<uint64_t>(d);
    if (bytes > kMaxArrayBytes / ud)
      fail_at(ErrorKind::format, context, "npy header shape " + shape_str(header.shape) + " of " + header.descr +
                                           " is too large (over 2^62 bytes)");
    bytes *= ud;
  }
  header.data_bytes = empty ? 0 : bytes;
  return header;
}

void npy_data_to_native(const NpyHeader& header, const void* src, void* dst) {
  const auto* s = static_cast<const unsigned char*>(src);
  auto* d = static_cast<unsigned char*>(dst);
  const std::size_t itemsize = dtype_size(header.dtype);
  if (header.fortran_order && header.shape.size() > 1) {
    switch (itemsize) {
      case 1: fortran_to_c<1>(s, d, header.shape); break;
      case 2: fortran_to_c<2>(s, d, header.shape); break;
      case 4: fortran_to_c<4>(s, d, header.shape); break;
      case 8: fortran_to_c<8>(s, d, header.shape); break;
      default: fortran_to_c<16>(s, d, header.shape); break;
    }
  } else if (s != d && header.data_bytes) {
    std::memcpy(d, s, header.data_bytes);
  }
  if (header.byteswap) {
    // Complex numbers are two floats, each swapped on its own.
    std::size_t word = is_complex(header.dtype) ? itemsize / 2 : itemsize;
    if (word == 2) byteswap_words<uint16_t>(d, header.data_bytes);
    else if (word == 4) byteswap_words<uint32_t>(d, header.data_bytes);
    else if (word == 8) byteswap_words<uint64_t>(d, header.data_bytes);
  }
}

Tensor parse_npy(const void* data, std::size_t size, const std::string& context) {
  NpyHeader header = parse_npy_header(data, size, context);
  uint64_t available = size - header.data_offset;
  if (header.data_bytes > available)
    fail_at(ErrorKind::format, context, "header claims " + std::to_string(header.data_bytes) + " bytes of data (" +
                                         header.descr + " " + shape_str(header.shape) + "), file holds " +
                                         std::to_string(available));
  Tensor tensor(header.dtype, header.shape);
  npy_data_to_native(header, static_cast<const unsigned char*>(data) + header.data_offset, tensor.mutable_data());
  return tensor;
}

Tensor read_npy(const std::string& path) {
  FileBytes file(path);
  return parse_npy(file.data(), file.size(), path);
}

std::string npy_descr(DType dtype) {
  switch (dtype) {
    case DType::bool_: return "|b1";
    case DType::int8: return "|i1";
    case DType::int16: return "<i2";
    case DType::int32: return "<i4";
    case DType::int64: return "<i8";
    case DType::uint8: return "|u1";
    case DType::uint16: return "<u2";
    case DType::uint32: return "<u4";
    case DType::uint64: return "<u8";
    case DType::float16: return "<f2";
    case DType::float32: return "<f4";
    case DType::float64: return "<f8";
    case DType::complex64: return "<c8";
    case DType::complex128: return "<c16";
    case DType::bfloat16: break;
  }
  throw Error(ErrorKind::unsupported, "dtype " + std::string(dtype_name(dtype)) +
                                          " has no numpy equivalent; cast it (e.g. to float32) before saving as npy");
}

std::string npy_header_for(const Tensor& tensor, std::string_view name) {
  std::string descr;
  try {
    descr = npy_descr(tensor.dtype());
  } catch (const Error& e) {
    throw name.empty() ? e : e.with_context("tensor '" + std::string(name) + "'");
  }
  // Byte-identical with numpy.save (numpy 1.24): sorted keys, repr() values, growth padding, then
  // spaces and '\n' up to the 64-byte boundary (a full 64 when already aligned, as numpy does).
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape_repr(tensor.shape()) + ", }";
  if (!tensor.shape().empty()) dict.append(kGrowthAxisMaxDigits - std::to_string(tensor.shape()[0]).size(), ' ');
  for (int major : {1, 2}) {
    std::size_t prefix = major == 1 ? 10 : 12;
    std::size_t unpadded = dict.size() + 1;  // + '\n'
    std::size_t pad = kNpyAlignment - (prefix + unpadded) % kNpyAlignment;
    std::size_t header_size = unpadded + pad;
    if (major == 1 && header_size > 0xFFFF) continue;
    std::string out(kMagic, kMagicSize);
    out += static_cast<char>(major);
    out += '\0';
    for (std::size_t i = 0; i < prefix - 8; ++i) out += static_cast<char>((header_size >> (8 * i)) & 0xFF);
    out += dict;
    out.append(pad, ' ');
    out += '\n';
    return out;
  }
  throw Error(ErrorKind::unsupported, "npy header too long");  // unreachable for <= 64 dims
}

std::string serialize_npy(const Tensor& tensor) {
  std::string out = npy_header_for(tensor);
  out.append(static_cast<const char*>(tensor.data()), tensor.nbytes());
  return out;
}

void write_npy(const std::string& path, const Tensor& tensor) {
  std::string header;
  try {
    header = npy_header_for(tensor);
  } catch (const Error& e) {
    throw e.with_context(path);
  }
  AtomicFile file(path);
  file.write(header);
  file.write(tensor.data(), tensor.nbytes());
  file.commit();
}

}  // namespace mithril
