#include "graph/builder.h"

#include "core/error.h"

namespace mithril {
namespace {

Value op1(const char* op, const Value& x, const Attributes& attrs = {}) { return x.model()->apply(op, {x}, attrs); }
Value op2(const char* op, const Value& a, const Value& b) { return a.model()->apply(op, {a, b}); }

AttrValue axes_attr(const std::vector<int64_t>& axes) {
  if (axes.empty()) return std::monostate{};
  return axes;
}

Value reduce(const char* op, const Value& x, const std::vector<int64_t>& axes, bool keepdims) {
  return op1(op, x, {{"axes", axes_attr(axes)}, {"keepdims", keepdims}});
}

}  // namespace

Value add(const Value& a, const Value& b) { return op2("add", a, b); }
Value subtract(const Value& a, const Value& b) { return op2("subtract", a, b); }
Value multiply(const Value& a, const Value& b) { return op2("multiply", a, b); }
Value divide(const Value& a, const Value& b) { return op2("divide", a, b); }
Value power(const Value& a, const Value& b) { return op2("power", a, b); }
Value matmul(const Value& a, const Value& b) { return op2("matmul", a, b); }

Value operator+(const Value& a, const Value& b) { return add(a, b); }
Value operator-(const Value& a, const Value& b) { return subtract(a, b); }
Value operator*(const Value& a, const Value& b) { return multiply(a, b); }
Value operator/(const Value& a, const Value& b) { return divide(a, b); }
Value operator-(const Value& a) { return negate(a); }
Value operator+(const Value& a, double b) { return add(a, scalar_like(a, b)); }
Value operator*(const Value& a, double b) { return multiply(a, scalar_like(a, b)); }
Value operator*(double a, const Value& b) { return multiply(scalar_like(b, a), b); }

Value negate(const Value& x) { return op1("negate", x); }
Value relu(const Value& x) { return op1("relu", x); }
Value sigmoid(const Value& x) { return op1("sigmoid", x); }
Value tanh(const Value& x) { return op1("tanh", x); }
Value gelu(const Value& x, bool approximate) { return op1("gelu", x, {{"approximate", approximate}}); }
Value exp(const Value& x) { return op1("exp", x); }
Value log(const Value& x) { return op1("log", x); }
Value sqrt(const Value& x) { return op1("sqrt", x); }
Value softmax(const Value& x, int64_t axis) { return op1("softmax", x, {{"axis", axis}}); }

Value reshape(const Value& x, const std::vector<int64_t>& shape) { return op1("reshape", x, {{"shape", shape}}); }
Value transpose(const Value& x, const std::vector<int64_t>& axes) { return op1("transpose", x, {{"axes", axes_attr(axes)}}); }
Value concat(const std::vector<Value>& xs, int64_t axis) {
  if (xs.empty()) throw Error(ErrorKind::invalid_argument, "concat of no values");
  return xs.front().model()->apply("concat", xs, {{"axis", axis}});
}

Value sum(const Value& x, const std::vector<int64_t>& axes, bool keepdims) { return reduce("sum", x, axes, keepdims); }
Value mean(const Value& x, const std::vector<int64_t>& axes, bool keepdims) { return reduce("mean", x, axes, keepdims); }
Value max(const Value& x, const std::vector<int64_t>& axes, bool keepdims) { return reduce("max", x, axes, keepdims); }

Value scalar_like(const Value& like, double value) {
  Model* model = like.model();
  return model->constant(model->unique_name("const"), Tensor::scalar(like.dtype(), value));
}

std::shared_ptr<Model> dense_model(int64_t in_features, int64_t units, DType dtype, Initializer weight_init,
                                   Initializer bias_init) {
  auto model = std::make_shared<Model>("dense");
  Value x = model->input("input", {Dim::named("batch"), Dim::known(in_features)}, dtype);
  Value w = model->parameter("weight", {Dim::known(in_features), Dim::known(units)}, dtype, weight_init);
  Value b = model->parameter("bias", {Dim::known(units)}, dtype, bias_init);
  model->output("output", matmul(x, w) + b);
  return model;
}

Value dense(const Value& x, int64_t units, const std::string& name, Initializer weight_init, Initializer bias_init) {
  const SymShape& shape = x.shape();
  if (shape.size() != 2 || !shape.back().is_known())
    throw Error(ErrorKind::shape, "dense '" + name + "': input '" + x.ref() + "' has shape " + shape_str(shape) +
                                      ", expected [batch, features] with known features");
  auto layer = dense_model(shape.back().size, units, x.dtype(), weight_init, bias_init);
  return x.model()->add_submodel(name, layer, {{"input", x}}).at("output");
}

Value linear(const Value& x, int64_t units, const std::string& name) { return dense(x, units, name); }

}  // namespace mithril
