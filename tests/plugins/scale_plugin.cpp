// A test plugin: the seed's factor-scaling custom operator as "acme.scale", loaded by tools with
// --plugin. Built by tests/CMakeLists.txt as a MODULE library.
#include "core/error.h"
#include "ops/plugin.h"

namespace {

void register_ops(mithril::OpRegistry& registry) {
  using namespace mithril;
  OpSchema op;
  op.domain = "acme";
  op.name = "scale";
  op.version = 1;
  op.doc = "output = input * factor";
  op.inputs = {{"input"}};
  op.attributes = {{"factor", AttrType::number, AttrValue{1.0}}};
  op.infer = [](const std::vector<ValueInfo>& in, const Attributes&) {
    if (!is_floating(in[0].dtype)) throw Error(ErrorKind::shape, "acme.scale needs a floating-point input");
    return in[0];
  };
  op.kernels["reference"] = [](const std::vector<Tensor>& in, const Attributes& attrs, Tensor& out) {
    double factor = attr_number(attrs, "factor");
    if (in[0].dtype() == DType::float32) {
      for (int64_t i = 0; i < in[0].numel(); ++i)
        out.mutable_data_as<float>()[i] = in[0].data_as<float>()[i] * static_cast<float>(factor);
    } else if (in[0].dtype() == DType::float64) {
      for (int64_t i = 0; i < in[0].numel(); ++i) out.mutable_data_as<double>()[i] = in[0].data_as<double>()[i] * factor;
    } else {
      throw Error(ErrorKind::unsupported, "acme.scale: reference kernel supports float32 and float64");
    }
  };
  registry.add(std::move(op));
}

}  // namespace

MITHRIL_PLUGIN(register_ops)
