// TensorProto -> Tensor (raw, typed-field and external data), and the small helpers converters share.
#include <cstring>
#include <fstream>
#include <limits>

#include <fmt/format.h>

#include "core/error.h"
#include "onnx/onnx_import_context.h"
#include "ops/registry.h"

namespace mithril::onnx_import {

std::optional<DType> dtype_from_onnx(int32_t elem_type) {
  switch (elem_type) {
    case onnx::TensorProto::FLOAT: return DType::float32;
    case onnx::TensorProto::UINT8: return DType::uint8;
    case onnx::TensorProto::INT8: return DType::int8;
    case onnx::TensorProto::UINT16: return DType::uint16;
    case onnx::TensorProto::INT16: return DType::int16;
    case onnx::TensorProto::INT32: return DType::int32;
    case onnx::TensorProto::INT64: return DType::int64;
    case onnx::TensorProto::BOOL: return DType::bool_;
    case onnx::TensorProto::FLOAT16: return DType::float16;
    case onnx::TensorProto::DOUBLE: return DType::float64;
    case onnx::TensorProto::UINT32: return DType::uint32;
    case onnx::TensorProto::UINT64: return DType::uint64;
    case onnx::TensorProto::COMPLEX64: return DType::complex64;
    case onnx::TensorProto::COMPLEX128: return DType::complex128;
    case onnx::TensorProto::BFLOAT16: return DType::bfloat16;
    default: return std::nullopt;
  }
}

std::string onnx_type_name(int32_t elem_type) {
  if (onnx::TensorProto::DataType_IsValid(elem_type))
    return onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(elem_type));
  return "type " + std::to_string(elem_type);
}

namespace {

// Typed fields hold one value per element (two per complex element) in the field ONNX's spec
// assigns to each type; 16-bit floats sit as their bit patterns in int32_data.
template <class Field, class T>
void copy_field(const Field& field, int64_t count, T* out) {
  for (int64_t i = 0; i < count; ++i) out[i] = static_cast<T>(field.Get(static_cast<int>(i)));
}

std::string read_external(const onnx::TensorProto& proto, const std::string& folder, const std::string& what,
                          std::size_t expected) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const onnx::StringStringEntryProto& e : proto.external_data()) {
    try {
      if (e.key() == "location") location = e.value();
      else if (e.key() == "offset") offset = std::stoll(e.value());
      else if (e.key() == "length") length = std::stoll(e.value());
    } catch (const std::exception&) {
      throw Error(ErrorKind::format, fmt::format("{}: external data {} '{}' is not a number", what, e.key(), e.value()));
    }
  }
  if (location.empty()) throw Error(ErrorKind::format, what + ": external data without a location");
  // Same rule as onnx::checker: a relative path inside the model's folder, no way out of it.
  if (location[0] == '/' || location.find("..") != std::string::npos)
    throw Error(ErrorKind::format, fmt::format("{}: external data location '{}' must be a relative path inside the model's folder", what, location));
  std::string file = folder + "/" + location;
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in) throw Error(ErrorKind::io, fmt::format("{}: external data file '{}' cannot be read", what, file));
  int64_t size = static_cast<int64_t>(in.tellg());
  if (offset < 0 || offset > size)
    throw Error(ErrorKind::format, fmt::format("{}: external data offset {} is outside '{}' ({} bytes)", what, offset, file, size));
  if (length < 0) length = size - offset;
  if (length > size - offset)
    throw Error(ErrorKind::format, fmt::format("{}: external data [{}, +{}) goes past the end of '{}' ({} bytes)", what, offset, length, file, size));
  if (static_cast<std::size_t>(length) != expected)
    throw Error(ErrorKind::format, fmt::format("{}: external data holds {} bytes, its type and shape need {}", what, length, expected));
  std::string bytes(static_cast<std::size_t>(length), '\0');
  in.seekg(offset);
  in.read(bytes.data(), length);
  if (!in) throw Error(ErrorKind::io, fmt::format("{}: reading external data from '{}' failed", what, file));
  return bytes;
}

}  // namespace

Tensor tensor_from_proto(const onnx::TensorProto& proto, const std::string& folder, const std::string& what) {
  std::optional<DType> dtype = dtype_from_onnx(proto.data_type());
  if (!dtype) throw Error(ErrorKind::unsupported, fmt::format("{}: element type {} is not supported", what, onnx_type_name(proto.data_type())));
  if (proto.has_segment()) throw Error(ErrorKind::unsupported, what + ": segmented tensors are not supported");
  Shape shape(proto.dims().begin(), proto.dims().end());
  for (int64_t d : shape)
    if (d < 0) throw Error(ErrorKind::format, fmt::format("{}: negative dimension in shape {}", what, shape_str(shape)));
  int64_t count;
  try {
    count = shape_numel(shape);
    check_fits_in_memory(*dtype, shape);
  } catch (const Error& e) {
    throw e.with_context(what);
  }
  std::size_t nbytes = static_cast<std::size_t>(count) * dtype_size(*dtype);
  if (proto.data_location() == onnx::TensorProto::EXTERNAL) {
    std::string bytes = read_external(proto, folder, what, nbytes);
    Tensor t = Tensor::uninitialized(*dtype, shape);
    if (nbytes) std::memcpy(t.mutable_data(), bytes.data(), nbytes);
    return t;
  }
  if (proto.has_raw_data()) {
    if (proto.raw_data().size() != nbytes)
      throw Error(ErrorKind::format, fmt::format("{}: raw data holds {} bytes, {}{} needs {}", what, proto.raw_data().size(),
                                                 dtype_name(*dtype), shape_str(shape), nbytes));
    Tensor t = Tensor::uninitialized(*dtype, shape);
    if (nbytes) std::memcpy(t.mutable_data(), proto.raw_data().data(), nbytes);
    return t;
  }
  auto check_count = [&](int64_t have, int64_t per_element) {
    if (have != count * per_element)
      throw Error(ErrorKind::format, fmt::format("{}: {} values stored, {}{} needs {}", what, have, dtype_name(*dtype),
                                                 shape_str(shape), count * per_element));
  };
  Tensor t(*dtype, shape);
  switch (*dtype) {
    case DType::float32:
      check_count(proto.float_data_size(), 1);
      copy_field(proto.float_data(), count, t.mutable_data_as<float>());
      break;
    case DType::complex64:
      check_count(proto.float_data_size(), 2);
      copy_field(proto.float_data(), 2 * count, t.mutable_data_as<float>());
      break;
    case DType::float64:
      check_count(proto.double_data_size(), 1);
      copy_field(proto.double_data(), count, t.mutable_data_as<double>());
      break;
    case DType::complex128:
      check_count(proto.double_data_size(), 2);
      copy_field(proto.double_data(), 2 * count, t.mutable_data_as<double>());
      break;
    case DType::int64:
      check_count(proto.int64_data_size(), 1);
      copy_field(proto.int64_data(), count, t.mutable_data_as<int64_t>());
      break;
    case DType::uint32:
      check_count(proto.uint64_data_size(), 1);
      copy_field(proto.uint64_data(), count, t.mutable_data_as<uint32_t>());
      break;
    case DType::uint64:
      check_count(proto.uint64_data_size(), 1);
      copy_field(proto.uint64_data(), count, t.mutable_data_as<uint64_t>());
      break;
    case DType::int32:
      check_count(proto.int32_data_size(), 1);
      copy_field(proto.int32_data(), count, t.mutable_data_as<int32_t>());
      break;
    case DType::int16:
      check_count(proto.int32_data_size(), 1);
      copy_field(proto.int32_data(), count, t.mutable_data_as<int16_t>());
      break;
    case DType::int8:
      check_count(proto.int32_data_size(), 1);
      copy_field(proto.int32_data(), count, t.mutable_data_as<int8_t>());
      break;
    case DType::uint16:
    case DType::float16:
    case DType::bfloat16:
      check_count(proto.int32_data_size(), 1);
      copy_field(proto.int32_data(), count, t.mutable_data_as<uint16_t>());
      break;
    case DType::uint8:
      check_count(proto.int32_data_size(), 1);
      copy_field(proto.int32_data(), count, t.mutable_data_as<uint8_t>());
      break;
    case DType::bool_:
      check_count(proto.int32_data_size(), 1);
      for (int64_t i = 0; i < count; ++i) t.mutable_data_as<uint8_t>()[i] = proto.int32_data(static_cast<int>(i)) != 0;
      break;
  }
  return t;
}

// --- helpers shared by converters ---

bool have_op(const std::string& name) { return OpRegistry::global().find(name) != nullptr; }

bool op_has_attr(const std::string& op, const std::string& attr) {
  const OpSchema* s = OpRegistry::global().find(op);
  if (!s) return false;
  for (const AttrSpec& a : s->attributes)
    if (a.name == attr) return true;
  return false;
}

Tensor int64_tensor(const std::vector<int64_t>& values) {
  Tensor t(DType::int64, Shape{static_cast<int64_t>(values.size())});
  for (std::size_t i = 0; i < values.size(); ++i) t.mutable_data_as<int64_t>()[i] = values[i];
  return t;
}

Operand scalar_like(const NodeContext& c, DType dtype, double value) { return c.constant(Tensor::scalar(dtype, value)); }

std::vector<int64_t> tensor_ints(const Tensor& t) {
  std::vector<int64_t> out(static_cast<std::size_t>(t.numel()));
  if (t.dtype() == DType::int64) {
    if (!out.empty()) std::memcpy(out.data(), t.data(), out.size() * sizeof(int64_t));  // memcpy of null is UB, even for 0 bytes
    return out;
  }
  for (int64_t i = 0; i < t.numel(); ++i) out[static_cast<std::size_t>(i)] = static_cast<int64_t>(t.value_at(i));
  return out;
}

std::string dtype_attr(DType dtype) { return std::string(dtype_name(dtype)); }

int64_t rank_of(const NodeContext& c, const Operand& x) {
  ValueInfo info = x.info();
  if (!info.rank_known) c.refuse("the rank of input '" + x.onnx_name + "' is not known");
  return static_cast<int64_t>(info.shape.size());
}

int64_t norm_axis(const NodeContext& c, int64_t axis, int64_t rank) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= std::max<int64_t>(rank, 1))
    throw Error(ErrorKind::format, fmt::format("{}: axis {} is out of range for rank {}", c.where(), axis, rank));
  return a;
}

Operand reshape_to(const NodeContext& c, const Operand& x, const std::vector<int64_t>& shape) {
  return c.apply("reshape", {x}, {{"shape", shape}});
}

std::optional<Shape> concrete_shape(const Operand& x) {
  ValueInfo info = x.info();
  if (!info.rank_known || !is_concrete(info.shape)) return std::nullopt;
  return to_shape(info.shape);
}

}  // namespace mithril::onnx_import
