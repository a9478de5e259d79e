// ONNX export: walk the model flat (submodels inlined, function operators expanded), lower each
// node to ONNX operators (onnx_export_ops.cpp), parameters and constants as initializers, and
// check the result with ONNX's own checker and shape inference before handing out its bytes.
#include "onnx/onnx_export.h"

#include <limits>
#include <set>

#include <fmt/format.h>
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include "core/error.h"
#include "graph/walk.h"
#include "onnx/onnx_export_graph.h"

namespace mithril::onnx_export {

namespace {

constexpr int kOldestOpset = 13;
constexpr int kNewestOpset = 18;

void set_type(onnx::ValueInfoProto* v, const std::string& name, const ValueInfo& info) {
  v->set_name(name);
  onnx::TypeProto_Tensor* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx_elem_type(info.dtype));
  if (!info.rank_known) return;
  onnx::TensorShapeProto* shape = t->mutable_shape();
  for (std::size_t i = 0; i < info.shape.size(); ++i) {
    const Dim& d = info.shape[i];
    onnx::TensorShapeProto_Dimension* dim = shape->add_dim();
    if (d.is_known()) dim->set_dim_value(d.size);
    else if (d.is_named()) dim->set_dim_param(d.symbol);
    else dim->set_dim_param(fmt::format("{}_dim{}", name, i));  // unknown: a name of its own, as exporters do
  }
}

// Every node output the lowering appended after `first` that is named `from` gets `to`
// instead, as do the later nodes' inputs: the node's last ONNX value takes the node's path.
void rename_value(onnx::GraphProto* graph, int first, const std::string& from, const std::string& to) {
  for (int i = first; i < graph->node_size(); ++i) {
    onnx::NodeProto* n = graph->mutable_node(i);
    for (std::string& in : *n->mutable_input())
      if (in == from) in = to;
    for (std::string& out : *n->mutable_output())
      if (out == from) {
        out = to;
        n->set_name(fmt::format("{}/{}", to, n->op_type()));
      }
  }
}

std::string dims_text(const onnx::TypeProto_Tensor& t) {
  std::vector<std::string> parts;
  for (const auto& d : t.shape().dim())
    parts.push_back(d.has_dim_value() ? std::to_string(d.dim_value()) : d.has_dim_param() ? d.dim_param() : "null");
  return fmt::format("[{}]", fmt::join(parts, ","));
}

// ONNX's checker (full: with strict shape inference) on the model, then our inferred shapes
// against ONNX's for every value a node of ours computes. Both failing would be exporter bugs.
void check_with_onnx(const onnx::ModelProto& model, const std::string& what, const std::map<std::string, ValueInfo>& ours) {
  onnx::ModelProto inferred = model;
  try {
    onnx::checker::check_model(inferred);
    onnx::shape_inference::InferShapes(inferred, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(true, 1, false));
  } catch (const std::exception& e) {
    throw Error(ErrorKind::unsupported, fmt::format("{}: the exported ONNX model fails ONNX's checker (an exporter bug): {}", what, e.what()));
  }
  for (const onnx::ValueInfoProto& v : inferred.graph().value_info()) {
    auto it = ours.find(v.name());
    if (it == ours.end() || !v.type().has_tensor_type()) continue;
    const onnx::TypeProto_Tensor& t = v.type().tensor_type();
    const ValueInfo& info = it->second;
    bool agree = t.elem_type() == onnx_elem_type(info.dtype);
    if (agree && t.has_shape() && info.rank_known) {
      agree = t.shape().dim_size() == static_cast<int>(info.shape.size());
      for (int i = 0; agree && i < t.shape().dim_size(); ++i) {
        const auto& d = t.shape().dim(i);
        const Dim& our = info.shape[static_cast<std::size_t>(i)];
        if (d.has_dim_value() && our.is_known()) agree = d.dim_value() == our.size;
      }
    }
    if (!agree)
      throw Error(ErrorKind::unsupported,
                  fmt::format("{}: ONNX shape inference gives '{}' {}{}, ours is {} (an exporter bug)", what, v.name(),
                              onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(t.elem_type())),
                              dims_text(t), info_str(info)));
  }
}

}  // namespace

std::string export_model(const Model& model, const NamedTensors& parameters, const OnnxExportOptions& options) {
  const std::string what = fmt::format("model '{}'", model.name());
  if (options.opset < kOldestOpset || options.opset > kNewestOpset)
    throw Error(ErrorKind::unsupported, fmt::format("{}: ONNX opset {} is not one export writes ({} to {})", what,
                                                    options.opset, kOldestOpset, kNewestOpset));
  std::map<std::string, const Tensor*> values;
  std::map<std::string, Shape> parameter_shapes;
  for (const auto& [name, t] : parameters) {
    values[name] = &t;
    parameter_shapes[name] = t.shape();
  }
  std::map<std::string, FlatValue> inputs;
  for (const InputDecl& in : model.inputs()) {
    if (!in.info.rank_known)
      throw Error(ErrorKind::unsupported, fmt::format("{}: input '{}' has no declared rank; ONNX export needs each input's "
                                                      "rank (declare its shape, unknown sizes as null)", what, in.name));
    inputs[in.name] = FlatValue{in.name, in.info};
  }
  WalkOptions walk;
  walk.parameter_shapes = &parameter_shapes;

  // Every operator without a lowering, in one message.
  std::map<std::string, std::vector<std::string>> missing;
  WalkCallbacks scan;
  scan.on_node = [&](const std::string& path, const Step& step, const std::vector<std::string>&, const ValueInfo&) {
    if (!lowerings().count(step.op->qualified_name())) missing[step.op->qualified_name()].push_back(path);
  };
  walk_model(model, "", inputs, scan, walk);
  if (!missing.empty()) {
    std::vector<std::string> parts;
    for (const auto& [op, nodes] : missing)
      parts.push_back(fmt::format("{} ({} node{}: {})", op, nodes.size(), nodes.size() == 1 ? "" : "s", fmt::join(nodes, ", ")));
    throw Error(ErrorKind::unsupported, fmt::format("{}: no ONNX lowering for {} operator{}: {}", what, missing.size(),
                                                    missing.size() == 1 ? "" : "s", fmt::join(parts, "; ")));
  }

  onnx::ModelProto proto;
  proto.set_ir_version(8);  // ONNX 1.10..1.13; onnxruntime reads it with any of our opsets
  proto.set_producer_name("mithril-cpp");
  proto.set_producer_version(MITHRIL_VERSION);
  onnx::OperatorSetIdProto* opset = proto.add_opset_import();
  opset->set_domain("");
  opset->set_version(options.opset);
  for (const auto& [key, value] : model.metadata()) {
    onnx::StringStringEntryProto* entry = proto.add_metadata_props();
    entry->set_key(key);
    entry->set_value(value);
  }
  onnx::GraphProto* graph = proto.mutable_graph();
  graph->set_name(model.name());
  GraphWriter writer(graph, options.opset);

  std::map<std::string, ValueInfo> infos;  // flat path -> our info
  std::set<std::string> names;             // every ONNX value name so far
  for (const InputDecl& in : model.inputs()) {
    set_type(graph->add_input(), in.name, in.info);
    names.insert(in.name);
  }
  WalkCallbacks build;
  build.on_value = [&](const std::string&, const std::string&, const FlatValue& v) { infos[v.path] = v.info; };
  build.on_parameter = [&](const std::string& path, const ParameterDecl&, const ValueInfo& info) {
    auto it = values.find(path);
    if (it == values.end())
      throw Error(ErrorKind::invalid_argument, fmt::format("{}: no value for parameter '{}'", what, path));
    if (it->second->dtype() != info.dtype)
      throw Error(ErrorKind::invalid_argument, fmt::format("{}: parameter '{}' is {}, declared {}", what, path,
                                                           describe(*it->second), info_str(info)));
    writer.initializer(path, *it->second);
    names.insert(path);
  };
  build.on_constant = [&](const std::string& path, const ConstantDecl& c, const ValueInfo&) {
    writer.initializer(path, c.value);
    names.insert(path);
  };
  build.on_node = [&](const std::string& path, const Step& step, const std::vector<std::string>& in, const ValueInfo& out) {
    LowerNode n;
    n.path = path;
    n.op = step.op;
    n.inputs = in;
    for (const std::string& p : in) n.input_infos.push_back(infos.at(p));
    n.attrs = step.attributes;
    n.output = out;
    writer.set_scope(path);
    int first = graph->node_size();
    std::string value;
    try {
      if (!out.rank_known)
        throw Error(ErrorKind::unsupported, "its output's rank is unknown (an input of unknown rank reaches it)");
      value = lowerings().at(step.op->qualified_name())(writer, n);
    } catch (const Error& e) {
      throw e.with_context(fmt::format("{}: node '{}' ({})", what, path, step.op->qualified_name()));
    }
    bool made_here = false;
    for (int i = first; i < graph->node_size() && !made_here; ++i)
      for (const std::string& o : graph->node(i).output()) made_here = made_here || o == value;
    if (made_here) rename_value(graph, first, value, path);
    else writer.node("Identity", {value}, {}, path);
    names.insert(path);
    infos[path] = out;
  };
  std::map<std::string, FlatValue> outputs = walk_model(model, "", inputs, build, walk);

  std::map<std::string, ValueInfo> node_infos;  // values our nodes compute, for the shape check
  for (int i = 0; i < graph->node_size(); ++i)
    for (const std::string& o : graph->node(i).output())
      if (infos.count(o)) node_infos[o] = infos[o];
  writer.set_scope("outputs");
  std::map<std::string, std::string> renamed;  // node value -> the output name it took
  for (const OutputDecl& out : model.outputs()) {
    const FlatValue& v = outputs.at(out.name);
    std::string source = renamed.count(v.path) ? renamed[v.path] : v.path;
    if (out.name != source) {
      if (names.count(out.name))
        throw Error(ErrorKind::unsupported, fmt::format("{}: output '{}' has the name of another value of the flat graph; "
                                                        "ONNX needs distinct names (rename the output)", what, out.name));
      if (node_infos.count(source) && !renamed.count(v.path)) {
        // A node's value exposed once: it takes the output's name (no Identity node).
        rename_value(graph, 0, source, out.name);
        renamed[v.path] = out.name;
      } else {
        writer.node("Identity", {source}, {}, out.name);
      }
      names.insert(out.name);
    }
    set_type(graph->add_output(), out.name, v.info);
  }

  // ONNX 1.12's checker knows opsets up to 17; newer files are checked by the runtime that reads them.
  int known = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map().at("").second;
  if (options.opset <= known) check_with_onnx(proto, what, node_infos);

  std::string bytes;
  if (proto.ByteSizeLong() > static_cast<std::size_t>(std::numeric_limits<int32_t>::max()))
    throw Error(ErrorKind::unsupported, fmt::format("{}: the ONNX model would be larger than 2 GiB (protobuf's limit); "
                                                    "external data files are not written", what));
  proto.SerializeToString(&bytes);
  return bytes;
}

}  // namespace mithril::onnx_export
