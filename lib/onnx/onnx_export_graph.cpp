// GraphWriter: appending ONNX nodes and initializers, with the opset-dependent spellings in one place.
#include "onnx/onnx_export_graph.h"

#include <fmt/format.h>

#include "core/error.h"

namespace mithril::onnx_export {

int onnx_elem_type(DType dtype) {
  using T = onnx::TensorProto;
  switch (dtype) {
    case DType::bool_: return T::BOOL;
    case DType::int8: return T::INT8;
    case DType::int16: return T::INT16;
    case DType::int32: return T::INT32;
    case DType::int64: return T::INT64;
    case DType::uint8: return T::UINT8;
    case DType::uint16: return T::UINT16;
    case DType::uint32: return T::UINT32;
    case DType::uint64: return T::UINT64;
    case DType::float16: return T::FLOAT16;
    case DType::bfloat16: return T::BFLOAT16;
    case DType::float32: return T::FLOAT;
    case DType::float64: return T::DOUBLE;
    case DType::complex64: return T::COMPLEX64;
    case DType::complex128: return T::COMPLEX128;
  }
  throw Error(ErrorKind::unsupported, fmt::format("dtype {} has no ONNX element type", dtype_name(dtype)));
}

OnnxAttr o_int(const std::string& name, int64_t v) {
  OnnxAttr a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::INT);
  a.set_i(v);
  return a;
}

OnnxAttr o_float(const std::string& name, double v) {
  OnnxAttr a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::FLOAT);
  a.set_f(static_cast<float>(v));
  return a;
}

OnnxAttr o_str(const std::string& name, const std::string& v) {
  OnnxAttr a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::STRING);
  a.set_s(v);
  return a;
}

OnnxAttr o_ints(const std::string& name, const std::vector<int64_t>& v) {
  OnnxAttr a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a.add_ints(x);
  return a;
}

OnnxAttr o_floats(const std::string& name, const std::vector<double>& v) {
  OnnxAttr a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::FLOATS);
  for (double x : v) a.add_floats(static_cast<float>(x));
  return a;
}

std::string GraphWriter::fresh(const std::string& base) {
  int& n = counters_[base];
  return fmt::format("{}/{}_{}", scope_, base, n++);
}

std::string GraphWriter::node(const std::string& op_type, const std::vector<std::string>& inputs,
                              const std::vector<OnnxAttr>& attrs, const std::string& output) {
  onnx::NodeProto* n = graph_->add_node();
  n->set_op_type(op_type);
  std::string out = output.empty() ? fresh(op_type) : output;
  n->set_name(output.empty() ? out : fmt::format("{}/{}", out, op_type));
  for (const std::string& in : inputs) n->add_input(in);
  n->add_output(out);
  for (const OnnxAttr& a : attrs) *n->add_attribute() = a;
  return out;
}

std::vector<std::string> GraphWriter::node_outputs(const std::string& op_type, const std::vector<std::string>& inputs,
                                                   const std::vector<OnnxAttr>& attrs, int count) {
  onnx::NodeProto* n = graph_->add_node();
  n->set_op_type(op_type);
  std::vector<std::string> outs;
  for (int i = 0; i < count; ++i) outs.push_back(fresh(op_type));
  n->set_name(outs.front());
  for (const std::string& in : inputs) n->add_input(in);
  for (const std::string& out : outs) n->add_output(out);
  for (const OnnxAttr& a : attrs) *n->add_attribute() = a;
  return outs;
}

void GraphWriter::initializer(const std::string& name, const Tensor& value) {
  onnx::TensorProto* t = graph_->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx_elem_type(value.dtype()));
  for (int64_t d : value.shape()) t->add_dims(d);
  // Tensors hold native byte order, little-endian on every host we build for: raw_data as is.
  t->set_raw_data(std::string(static_cast<const char*>(value.data()), value.nbytes()));
}

std::string GraphWriter::constant(const Tensor& value) {
  std::string name = fresh("const");
  initializer(name, value);
  return name;
}

std::string GraphWriter::ints(const std::vector<int64_t>& values) {
  Tensor t(DType::int64, {static_cast<int64_t>(values.size())});
  for (std::size_t i = 0; i < values.size(); ++i) t.mutable_data_as<int64_t>()[i] = values[i];
  return constant(t);
}

std::string GraphWriter::scalar(DType dtype, double value) { return constant(Tensor::scalar(dtype, value)); }

std::string GraphWriter::reduce(const std::string& op_type, const std::string& x,
                                const std::optional<std::vector<int64_t>>& axes, bool keepdims) {
  std::vector<OnnxAttr> attrs = {o_int("keepdims", keepdims ? 1 : 0)};
  // ReduceSum takes its axes as an input from opset 13, the other reductions from opset 18.
  bool axes_as_input = op_type == "ReduceSum" || opset_ >= 18;
  if (!axes) return node(op_type, {x}, attrs);
  if (axes_as_input) return node(op_type, {x, ints(*axes)}, attrs);
  attrs.push_back(o_ints("axes", *axes));
  return node(op_type, {x}, attrs);
}

std::string GraphWriter::unsqueeze(const std::string& x, const std::vector<int64_t>& axes) {
  return node("Unsqueeze", {x, ints(axes)});  // axes an input since opset 13, the oldest we write
}

std::string GraphWriter::squeeze(const std::string& x, const std::vector<int64_t>& axes) {
  return node("Squeeze", {x, ints(axes)});
}

std::string GraphWriter::slice(const std::string& x, const std::vector<int64_t>& starts, const std::vector<int64_t>& ends,
                               const std::vector<int64_t>& axes) {
  return node("Slice", {x, ints(starts), ints(ends), ints(axes)});
}

std::string GraphWriter::dims(const std::string& x, const SymShape& shape, int64_t begin, int64_t end) {
  std::vector<int64_t> known;
  for (int64_t i = begin; i < end; ++i) {
    const Dim& d = shape[static_cast<std::size_t>(i)];
    if (!d.is_known()) return slice(node("Shape", {x}), {begin}, {end}, {0});
    known.push_back(d.size);
  }
  return ints(known);
}

std::string GraphWriter::reshape(const std::string& x, const std::string& shape, bool allowzero) {
  if (!allowzero) return node("Reshape", {x, shape});
  if (opset_ < 14)
    throw Error(ErrorKind::unsupported, fmt::format("a reshape to a literal size 0 needs opset 14 or later (Reshape's allowzero), not {}", opset_));
  return node("Reshape", {x, shape}, {o_int("allowzero", 1)});
}

std::string GraphWriter::cast(const std::string& x, DType dtype) {
  return node("Cast", {x}, {o_int("to", onnx_elem_type(dtype))});
}

}  // namespace mithril::onnx_export
