// ONNX import: parse and check the ModelProto with ONNX's own library (checker, version converter,
// shape inference), then walk the graph once, converting each node with the converter of its op
// type (onnx_import_ops_*.cpp) or, for ops ONNX defines as functions, with the nodes of the
// function body. Values known at import time are folded (see onnx_import_context.h).
#include "onnx/onnx_import.h"

#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <onnx/checker.h>
#include <onnx/defs/function.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>
#include <onnx/version_converter/convert.h>

#include "backends/backend.h"
#include "core/error.h"
#include "onnx/onnx_import_context.h"
#include "physical/physical_model.h"

namespace mithril::onnx_import {

/// Files older than this opset are converted to it with ONNX's version converter, so converters
/// only meet the operator versions of opsets 13 to 17 (older ones when the converter cannot).
inline constexpr int kOldestNativeOpset = 13;
/// Largest file accepted (protobuf cannot parse more than 2 GiB; bigger models use external data).
inline constexpr std::size_t kMaxModelBytes = (std::size_t{1} << 31) - 1;

namespace {

const ConverterTable& converters() {
  static const ConverterTable table = [] {
    ConverterTable t;
    register_math_converters(t);
    register_nn_converters(t);
    register_shape_converters(t);
    register_rnn_converters(t);
    register_training_converters(t);
    std::erase_if(t, [](const auto& entry) { return !entry.second; });
    return t;
  }();
  return table;
}

bool is_default_domain(const std::string& domain) { return domain.empty() || domain == "ai.onnx"; }

std::string folder_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash == 0 ? 1 : slash);
}

std::string identifier_from(const std::string& name) {
  std::string out;
  for (char c : name) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '_') ? c : '_';
  if (out.empty() || std::isdigit(static_cast<unsigned char>(out[0]))) out = "_" + out;
  return out;
}

// ONNX 1.12's shape inference (run on every file, and by its version converter) divides by a
// convolution's or pool's strides (and Split's by its outputs), indexes the input's axes by the
// weight's, and reads a Scan's attributes unchecked: a zero stride, a Split without outputs, a
// weight of another rank or a malformed Scan crashes it (fixed upstream in 2026, onnx#7764 and
// #6180). Such nodes are refused here first, in the graph and in every subgraph.
void refuse_what_onnx_inference_crashes_on(const onnx::GraphProto& graph, const std::string& path) {
  static const std::set<std::string> windowed = {"Conv", "ConvInteger", "QLinearConv", "ConvTranspose", "MaxPool",
                                                 "AveragePool", "LpPool", "MaxUnpool", "DeformConv"};
  std::map<std::string, int> ranks;  // values whose rank the file states: graph inputs and initializers
  for (const onnx::ValueInfoProto& v : graph.input())
    if (v.type().tensor_type().has_shape()) ranks[v.name()] = v.type().tensor_type().shape().dim_size();
  for (const onnx::TensorProto& t : graph.initializer()) ranks[t.name()] = t.dims_size();
  auto rank = [&](const onnx::NodeProto& node, int i) {
    auto it = i < node.input_size() ? ranks.find(node.input(i)) : ranks.end();
    return it == ranks.end() ? -1 : it->second;
  };
  for (const onnx::NodeProto& node : graph.node()) {
    std::string where = fmt::format("{}: node '{}' ({})", path, node.name().empty() && node.output_size() ? node.output(0) : node.name(),
                                    node.op_type());
    // We import no loops, and ONNX's inference of a malformed Scan dereferences a missing attribute.
    if (is_default_domain(node.domain()) && (node.op_type() == "Scan" || node.op_type() == "Loop"))
      throw Error(ErrorKind::unsupported, fmt::format("{}: unsupported ONNX operator: loops (Scan, Loop) are not imported", where));
    // Every ONNX operator has an output; Split's inference divides by their count.
    if (is_default_domain(node.domain()) && node.output_size() == 0)
      throw Error(ErrorKind::format, fmt::format("{}: the node has no outputs", where));
    if (is_default_domain(node.domain()) && windowed.count(node.op_type())) {
      bool has_kernel_shape = false;
      for (const onnx::AttributeProto& a : node.attribute()) {
        has_kernel_shape = has_kernel_shape || a.name() == "kernel_shape";
        if (a.name() != "strides" && a.name() != "dilations" && a.name() != "kernel_shape") continue;
        for (int64_t v : a.ints())
          if (v < 1) throw Error(ErrorKind::format, fmt::format("{}: attribute '{}' holds {}: it must be positive", where, a.name(), v));
      }
      int weight = node.op_type() == "QLinearConv" ? 3 : 1;
      bool kernel_from_weight = !has_kernel_shape && node.op_type().find("Conv") != std::string::npos;
      int x_rank = rank(node, 0), w_rank = rank(node, weight);
      if (kernel_from_weight && x_rank >= 0 && w_rank >= 0 && x_rank != w_rank)
        throw Error(ErrorKind::format, fmt::format("{}: the input has rank {} and the weight rank {}: they must be equal", where, x_rank, w_rank));
    }
    for (const onnx::AttributeProto& a : node.attribute()) {
      if (a.has_g()) refuse_what_onnx_inference_crashes_on(a.g(), where);
      for (const onnx::GraphProto& g : a.graphs()) refuse_what_onnx_inference_crashes_on(g, where);
    }
  }
}

}  // namespace

class Importer {
 public:
  Importer(const std::string& path, const OnnxImportOptions& options) : path_(path), options_(options) {}

  OnnxModel run();

  // --- used by NodeContext ---
  Operand& operand(const std::string& name, const std::string& where) {
    auto it = operands_.find(name);
    if (it == operands_.end()) throw Error(ErrorKind::format, fmt::format("{}: {}: input '{}' is not defined before use", path_, where, name));
    return it->second;
  }
  Value materialize(Operand& x);
  Operand fold(const std::string& op, const std::vector<Operand>& operands, const Attributes& attrs);
  Model& model() { return *model_; }
  void set(const std::string& name, Operand x) {
    x.onnx_name = name;
    operands_[name] = std::move(x);
  }
  const std::string& path() const { return path_; }
  const std::string& folder() const { return folder_; }
  /// Converts a subgraph's nodes in place (NodeContext::inline_graph).
  std::vector<Operand> inline_graph(const onnx::GraphProto& graph, const std::string& where) {
    for (const onnx::NodeProto& node : graph.node()) convert_node(node, 1);
    std::vector<Operand> outputs;
    for (const onnx::ValueInfoProto& out : graph.output()) outputs.push_back(operand(out.name(), where));
    return outputs;
  }
  /// The value names a shape operand depends on that come from graph inputs, for the --freeze hint.
  std::vector<std::string> graph_inputs_behind(const std::string& name);

 private:
  void declare_inputs(const onnx::GraphProto& graph);
  /// `body_opset`: the default domain's opset of the function body the node comes from (0: the file's).
  void convert_node(const onnx::NodeProto& node, int depth, int body_opset = 0);
  void check_supported(const onnx::GraphProto& graph);
  std::string unique_identifier(const std::string& onnx_name);
  int opset_of(const std::string& domain) const {
    auto it = opsets_.find(is_default_domain(domain) ? "" : domain);
    return it == opsets_.end() ? 0 : it->second;
  }

  std::string path_;
  std::string folder_;
  OnnxImportOptions options_;
  std::shared_ptr<Model> model_;
  OnnxModel result_;
  std::map<std::string, Operand> operands_;
  std::map<std::string, int> opsets_;
  std::map<std::string, onnx::TypeProto> types_;          // value name -> type (after shape inference)
  std::map<std::string, std::vector<std::string>> producers_;  // value name -> the node inputs it was computed from
  std::set<std::string> graph_inputs_;
  std::set<std::string> used_identifiers_;
  int expansions_ = 0;
};

// --- Operand / NodeContext ---

ValueInfo Operand::info() const {
  if (value) return value->info();
  if (known) return ValueInfo{known->dtype(), to_sym_shape(known->shape())};
  return ValueInfo{};
}

std::string NodeContext::where() const {
  std::string name = node_.name().empty() ? (node_.output_size() ? node_.output(0) : std::string("?")) : node_.name();
  return fmt::format("node '{}' ({})", name, node_.op_type());
}

Operand NodeContext::input(int i) const {
  if (!has(i)) throw Error(ErrorKind::format, fmt::format("{}: {}: input {} is missing", importer_.path(), where(), i));
  return importer_.operand(node_.input(i), where());
}

const Tensor* NodeContext::known(int i) const {
  if (!has(i)) return nullptr;
  Operand& x = importer_.operand(node_.input(i), where());
  return x.known ? &*x.known : nullptr;
}

Tensor NodeContext::need(int i, const std::string& operand) const {
  if (const Tensor* t = known(i)) return *t;
  if (!has(i)) refuse(fmt::format("operand '{}' (input {}) is missing", operand, i));
  std::vector<std::string> behind = importer_.graph_inputs_behind(node_.input(i));
  std::string hint = behind.empty() ? std::string("it cannot be computed at import time")
                                    : fmt::format("it depends on graph input(s) {}: give their values with --freeze NAME=FILE",
                                                  fmt::join(behind, ", "));
  throw Error(ErrorKind::unsupported,
              fmt::format("{}: {}: operand '{}' (input {}, '{}') must be known when the model is imported "
                          "(our operators take it as an attribute); {}",
                          importer_.path(), where(), operand, i, node_.input(i), hint));
}

std::vector<int64_t> NodeContext::need_ints(int i, const std::string& operand) const { return tensor_ints(need(i, operand)); }

namespace {
Tensor one_value(const NodeContext& c, const Tensor& t, const std::string& operand) {
  if (t.numel() != 1) c.refuse(fmt::format("operand '{}' must hold one value, it holds {}", operand, t.numel()));
  return t;
}
}  // namespace

double NodeContext::need_scalar(int i, const std::string& operand) const {
  return one_value(*this, need(i, operand), operand).value_at(0);
}

int64_t NodeContext::need_int(int i, const std::string& operand) const {
  return tensor_ints(one_value(*this, need(i, operand), operand))[0];
}

const onnx::AttributeProto* NodeContext::attr(const std::string& name) const {
  for (const onnx::AttributeProto& a : node_.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

bool NodeContext::has_attr(const std::string& name) const { return attr(name) != nullptr; }

int64_t NodeContext::attr_int(const std::string& name, int64_t fallback) const {
  const onnx::AttributeProto* a = attr(name);
  return a ? a->i() : fallback;
}

double NodeContext::attr_float(const std::string& name, double fallback) const {
  const onnx::AttributeProto* a = attr(name);
  return a ? static_cast<double>(a->f()) : fallback;
}

std::string NodeContext::attr_string(const std::string& name, const std::string& fallback) const {
  const onnx::AttributeProto* a = attr(name);
  return a ? a->s() : fallback;
}

std::vector<int64_t> NodeContext::attr_ints(const std::string& name, const std::vector<int64_t>& fallback) const {
  const onnx::AttributeProto* a = attr(name);
  return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : fallback;
}

std::vector<double> NodeContext::attr_floats(const std::string& name, const std::vector<double>& fallback) const {
  const onnx::AttributeProto* a = attr(name);
  if (!a) return fallback;
  return std::vector<double>(a->floats().begin(), a->floats().end());
}

Tensor NodeContext::attr_tensor(const std::string& name) const {
  const onnx::AttributeProto* a = attr(name);
  if (!a || !a->has_t()) throw Error(ErrorKind::format, fmt::format("{}: {}: attribute '{}' (a tensor) is missing", importer_.path(), where(), name));
  return tensor_from_proto(a->t(), importer_.folder(), fmt::format("{}: {}: attribute '{}'", importer_.path(), where(), name));
}

Operand NodeContext::apply(const std::string& op, const std::vector<Operand>& operands, const Attributes& attrs) const {
  // Fold when every operand is known, except computations on floating-point initializers (weights):
  // those stay parameters under their ONNX names, and the computation a node of the model.
  bool fold = true;
  for (const Operand& x : operands) fold = fold && x.known.has_value() && !(x.initializer && is_floating(x.known->dtype()));
  if (fold) return importer_.fold(op, operands, attrs);
  std::vector<Value> values;
  for (const Operand& x : operands) {
    Operand copy = x;
    values.push_back(importer_.materialize(copy));
  }
  Operand out;
  out.value = importer_.model().apply(op, values, attrs);
  return out;
}

Operand NodeContext::constant(Tensor value) const {
  Operand out;
  out.known = std::move(value);
  return out;
}

void NodeContext::output(int i, Operand value) const {
  if (!wants_output(i)) return;
  importer_.set(node_.output(i), std::move(value));
}

std::vector<Operand> NodeContext::inline_graph(const onnx::GraphProto& graph) const { return importer_.inline_graph(graph, where()); }

void NodeContext::refuse(const std::string& what) const {
  throw Error(ErrorKind::unsupported, fmt::format("{}: {}: {}", importer_.path(), where(), what));
}

// --- Importer ---

std::string Importer::unique_identifier(const std::string& onnx_name) {
  std::string base = identifier_from(onnx_name);
  std::string name = base;
  for (int i = 1; used_identifiers_.count(name) || model_->has_value(name); ++i) name = base + "_" + std::to_string(i);
  used_identifiers_.insert(name);
  if (name != onnx_name) result_.metadata["onnx.original_name." + name] = onnx_name;
  return name;
}

Value Importer::materialize(Operand& x) {
  if (x.value) return *x.value;
  // Known values named in the file are materialized once and shared by every node using them.
  Operand* slot = &x;
  if (!x.onnx_name.empty()) {
    auto it = operands_.find(x.onnx_name);
    if (it != operands_.end() && it->second.known && x.known && it->second.known->data() == x.known->data()) {
      slot = &it->second;
      if (slot->value) return *(x.value = slot->value);
    }
  }
  if (x.initializer) {
    std::string name = unique_identifier(x.onnx_name);
    const Tensor& t = *x.known;
    slot->value = model_->parameter(name, ValueInfo{t.dtype(), to_sym_shape(t.shape())}, Initializer::zeros());
    result_.parameters.emplace_back(name, t);
  } else {
    std::string base = x.onnx_name.empty() ? std::string("constant") : identifier_from(x.onnx_name);
    std::string name = model_->has_value(base) || used_identifiers_.count(base) ? model_->unique_name(base) : base;
    used_identifiers_.insert(name);
    slot->value = model_->constant(name, *x.known);
  }
  x.value = slot->value;
  return *x.value;
}

Operand Importer::fold(const std::string& op, const std::vector<Operand>& operands, const Attributes& attrs) {
  // A one-node model evaluated on the reference backend: the same kernels (and function-operator
  // expansions) the model would run, so a folded value equals the one computed at run time.
  auto tiny = std::make_shared<Model>("fold");
  std::vector<Value> values;
  for (std::size_t i = 0; i < operands.size(); ++i) values.push_back(tiny->constant(fmt::format("c{}", i), *operands[i].known));
  tiny->output("y", tiny->apply(op, values, attrs));
  PhysicalModel physical = PhysicalModel::compile(tiny, reference_backend());
  TensorMap out = physical.evaluate({});
  Operand result;
  result.known = out.at("y");
  return result;
}

std::vector<std::string> Importer::graph_inputs_behind(const std::string& name) {
  std::set<std::string> found, seen;
  std::vector<std::string> todo{name};
  while (!todo.empty()) {
    std::string v = todo.back();
    todo.pop_back();
    if (!seen.insert(v).second) continue;
    if (graph_inputs_.count(v)) found.insert(v);
    auto it = producers_.find(v);
    if (it != producers_.end()) todo.insert(todo.end(), it->second.begin(), it->second.end());
  }
  return std::vector<std::string>(found.begin(), found.end());
}

namespace {

Dim dim_from_proto(const onnx::TensorShapeProto::Dimension& d) {
  if (d.has_dim_value() && d.dim_value() >= 0) return Dim::known(d.dim_value());
  if (d.has_dim_param() && !d.dim_param().empty()) return Dim::named(d.dim_param());
  return Dim::any();
}

}  // namespace

void Importer::declare_inputs(const onnx::GraphProto& graph) {
  std::set<std::string> initializers;
  for (const onnx::TensorProto& t : graph.initializer()) initializers.insert(t.name());
  std::set<std::string> frozen_used;
  for (const onnx::ValueInfoProto& in : graph.input()) {
    if (initializers.count(in.name())) continue;
    const std::string where = fmt::format("{}: graph input '{}'", path_, in.name());
    Operand x;
    for (const auto& [name, value] : options_.frozen_inputs)
      if (name == in.name() || name == identifier_from(in.name())) {
        x.known = value;
        frozen_used.insert(name);
      }
    if (!x.known) {
      if (!in.type().has_tensor_type())
        throw Error(ErrorKind::unsupported, where + ": only tensor inputs are supported (sequences, maps and optionals are not)");
      const onnx::TypeProto_Tensor& tt = in.type().tensor_type();
      std::optional<DType> dtype = dtype_from_onnx(tt.elem_type());
      if (!dtype) throw Error(ErrorKind::unsupported, where + ": element type " + onnx_type_name(tt.elem_type()) + " is not supported");
      ValueInfo info{*dtype, {}};
      if (tt.has_shape())
        for (const auto& d : tt.shape().dim()) info.shape.push_back(dim_from_proto(d));
      else
        info.rank_known = false;
      x.value = model_->input(unique_identifier(in.name()), info);
      graph_inputs_.insert(in.name());
    }
    set(in.name(), x);
  }
  for (const auto& [name, value] : options_.frozen_inputs)
    if (!frozen_used.count(name))
      throw Error(ErrorKind::invalid_argument, fmt::format("{}: --freeze {}: the model has no graph input of that name", path_, name));
  for (const onnx::TensorProto& t : graph.initializer()) {
    Operand x;
    x.known = tensor_from_proto(t, folder_, fmt::format("{}: initializer '{}'", path_, t.name()));
    x.initializer = true;
    set(t.name(), x);
  }
  if (graph.sparse_initializer_size())
    throw Error(ErrorKind::unsupported, path_ + ": sparse initializers are not supported");
}

void Importer::check_supported(const onnx::GraphProto& graph) {
  // One message for every op type we cannot import, with counts, before converting anything.
  std::map<std::string, int> unsupported;
  for (const onnx::NodeProto& node : graph.node()) {
    std::string domain = is_default_domain(node.domain()) ? "" : node.domain();
    int opset = opset_of(domain);
    std::string label = (domain.empty() ? "" : domain + ".") + node.op_type();
    if (converters().count(label)) continue;
    const onnx::OpSchema* schema = onnx::OpSchemaRegistry::Schema(node.op_type(), opset, domain);
    if (schema && (schema->HasFunction() || schema->HasContextDependentFunction())) continue;
    unsupported[fmt::format("{} (opset {})", label, opset)]++;
  }
  if (unsupported.empty()) return;
  std::vector<std::string> parts;
  for (const auto& [what, count] : unsupported) parts.push_back(fmt::format("{} x{}", what, count));
  throw Error(ErrorKind::unsupported, fmt::format("{}: unsupported ONNX operators: {}", path_, fmt::join(parts, ", ")));
}

void Importer::convert_node(const onnx::NodeProto& node, int depth, int body_opset) {
  std::string domain = is_default_domain(node.domain()) ? "" : node.domain();
  int opset = domain.empty() && body_opset > 0 ? body_opset : opset_of(domain);
  std::vector<std::string> inputs;
  for (const std::string& i : node.input())
    if (!i.empty()) inputs.push_back(i);
  for (const std::string& o : node.output()) producers_[o] = inputs;
  // Converters are keyed by op type, prefixed by the domain outside the default one.
  auto it = converters().find(domain.empty() ? node.op_type() : domain + "." + node.op_type());
  if (it != converters().end()) {
    NodeContext context(*this, node, opset);
    try {
      it->second(context);
    } catch (const Error& e) {
      std::string message = e.what();
      if (message.rfind(path_ + ":", 0) == 0) throw;
      throw e.with_context(path_ + ": " + context.where());
    }
    for (int i = 0; i < node.output_size(); ++i)
      if (!node.output(i).empty() && !operands_.count(node.output(i)))
        context.refuse(fmt::format("output {} ('{}') is not supported", i, node.output(i)));
    return;
  }
  // An op ONNX defines as a function of other ops: import the function body in its place.
  const onnx::OpSchema* schema = onnx::OpSchemaRegistry::Schema(node.op_type(), opset, domain);
  std::string where = fmt::format("{}: node '{}' ({})", path_, node.name().empty() ? node.output(0) : node.name(), node.op_type());
  if (!schema || !(schema->HasFunction() || schema->HasContextDependentFunction()))
    throw Error(ErrorKind::unsupported, where + ": unsupported ONNX operator (opset " + std::to_string(opset) + ")");
  if (depth > 8) throw Error(ErrorKind::unsupported, where + ": function bodies nest too deeply");
  onnx::FunctionProto body;
  if (schema->HasFunction() && schema->GetFunction()) {
    body = *schema->GetFunction();
  } else {
    std::vector<onnx::TypeProto> input_types;
    for (const std::string& name : node.input()) {
      auto t = types_.find(name);
      if (t != types_.end()) {
        input_types.push_back(t->second);
        continue;
      }
      onnx::TypeProto type;
      auto o = operands_.find(name);
      if (!name.empty() && o != operands_.end()) {
        ValueInfo info = o->second.info();
        for (int e = 1; e <= 16; ++e)
          if (dtype_from_onnx(e) == info.dtype) type.mutable_tensor_type()->set_elem_type(e);
        if (info.rank_known) {
          auto* shape = type.mutable_tensor_type()->mutable_shape();
          for (const Dim& d : info.shape) {
            auto* dim = shape->add_dim();
            if (d.is_known()) dim->set_dim_value(d.size);
          }
        }
      }
      input_types.push_back(type);
    }
    onnx::FunctionBodyBuildContextImpl build(node, input_types);
    if (!schema->BuildContextDependentFunction(build, body))
      throw Error(ErrorKind::unsupported, where + ": ONNX could not build its function body for these inputs");
  }
  // A body attribute referring to one of the op's attributes (ref_attr_name) that the node does
  // not set and that has no default means "absent" (NegativeLogLikelihoodLoss's ignore_index).
  // FunctionExpandHelper would give it a zero value instead: drop it first.
  std::set<std::string> given;
  for (const onnx::AttributeProto& a : node.attribute()) given.insert(a.name());
  for (onnx::NodeProto& inner : *body.mutable_node()) {
    auto* attrs = inner.mutable_attribute();
    for (int i = attrs->size() - 1; i >= 0; --i) {
      const std::string& ref = attrs->Get(i).ref_attr_name();
      if (ref.empty() || given.count(ref)) continue;
      auto spec = schema->attributes().find(ref);
      bool has_default = spec != schema->attributes().end() && spec->second.default_value.type() != onnx::AttributeProto::UNDEFINED;
      if (!has_default) attrs->DeleteSubrange(i, 1);
    }
  }
  onnx::GraphProto expanded;
  try {
    onnx::FunctionExpandHelper(node, body, expanded, fmt::format("__{}_{}_", node.op_type(), expansions_++));
  } catch (const std::exception& e) {
    throw Error(ErrorKind::unsupported, where + ": expanding its function body failed: " + e.what());
  }
  // Body nodes follow the opset the body was written for (LogSoftmax's semantics changed at 13).
  int inner_opset = 0;
  for (const onnx::OperatorSetIdProto& id : body.opset_import())
    if (is_default_domain(id.domain())) inner_opset = static_cast<int>(id.version());
  for (const onnx::NodeProto& inner : expanded.node()) {
    try {
      convert_node(inner, depth + 1, inner_opset);
    } catch (const Error& e) {
      // One path prefix per message: the inner node's error names the file too.
      std::string message = e.what();
      if (message.rfind(path_ + ": ", 0) == 0) message = message.substr(path_.size() + 2);
      throw Error(e.kind(), where + ", expanded from its ONNX function body: " + message);
    }
  }
}

OnnxModel Importer::run() {
  folder_ = folder_of(path_);
  std::ifstream in(path_, std::ios::binary | std::ios::ate);
  if (!in) throw Error(ErrorKind::io, path_ + ": cannot be read");
  std::streamoff size = in.tellg();
  if (size < 0 || static_cast<std::size_t>(size) > kMaxModelBytes)
    throw Error(ErrorKind::format, fmt::format("{}: {} bytes: larger than the 2 GiB an ONNX protobuf can hold", path_, size));
  std::string bytes(static_cast<std::size_t>(size), '\0');
  in.seekg(0);
  in.read(bytes.data(), size);
  if (!in) throw Error(ErrorKind::io, path_ + ": read failed");
  onnx::ModelProto proto;
  if (!proto.ParseFromString(bytes)) throw Error(ErrorKind::format, path_ + ": not a valid ONNX model (its protobuf does not parse)");
  bytes.clear();
  bytes.shrink_to_fit();

  bool external = false;
  for (const onnx::TensorProto& t : proto.graph().initializer()) external = external || t.data_location() == onnx::TensorProto::EXTERNAL;
  if (options_.check) {
    try {
      // The path form resolves external data relative to the model's folder (it parses again).
      if (external) onnx::checker::check_model(path_);
      else onnx::checker::check_model(proto);
    } catch (const std::exception& e) {
      throw Error(ErrorKind::format, path_ + ": ONNX checker: " + e.what());
    }
  }
  // After the checker, which names the problem more precisely when it runs.
  if (!proto.has_graph()) throw Error(ErrorKind::format, path_ + ": not a valid ONNX model (no graph)");
  {
    // ONNX's checker lets a graph output that nothing produces through, and ONNX's own IR
    // conversion (used by the version converter) dereferences its missing producer: refuse it here.
    std::set<std::string> defined;
    for (const onnx::ValueInfoProto& v : proto.graph().input()) defined.insert(v.name());
    for (const onnx::TensorProto& t : proto.graph().initializer()) defined.insert(t.name());
    for (const onnx::NodeProto& n : proto.graph().node()) defined.insert(n.output().begin(), n.output().end());
    for (const onnx::ValueInfoProto& v : proto.graph().output())
      if (!defined.count(v.name()))
        throw Error(ErrorKind::format, fmt::format("{}: graph output '{}' is not produced by any node, input or initializer", path_, v.name()));
  }
  refuse_what_onnx_inference_crashes_on(proto.graph(), path_);
  for (const onnx::OperatorSetIdProto& id : proto.opset_import())
    opsets_[is_default_domain(id.domain()) ? "" : id.domain()] = static_cast<int>(id.version());
  int file_opset = opset_of("");
  result_.metadata["onnx.opset"] = std::to_string(file_opset);
  if (file_opset > 0 && file_opset < kOldestNativeOpset) {
    try {
      // The converter's adapters need the shapes of every node input: inferred ones, and those of
      // initializers, which files since IR 4 need not list as graph inputs.
      onnx::ModelProto typed = proto;
      std::set<std::string> listed;
      for (const onnx::ValueInfoProto& v : typed.graph().input()) listed.insert(v.name());
      for (const onnx::TensorProto& t : typed.graph().initializer()) {
        if (listed.count(t.name())) continue;
        onnx::ValueInfoProto* v = typed.mutable_graph()->add_input();
        v->set_name(t.name());
        auto* tt = v->mutable_type()->mutable_tensor_type();
        tt->set_elem_type(t.data_type());
        for (int64_t d : t.dims()) tt->mutable_shape()->add_dim()->set_dim_value(d);
      }
      try {
        onnx::shape_inference::InferShapes(typed);
      } catch (const std::exception&) {
        // The converter says what it lacks.
      }
      proto = onnx::version_conversion::ConvertVersion(typed, kOldestNativeOpset);
      opsets_[""] = kOldestNativeOpset;
      result_.metadata["onnx.converted_to_opset"] = std::to_string(kOldestNativeOpset);
    } catch (const std::exception& e) {
      // Not fatal: converters also read the older forms they know; others are refused by name.
      std::string why = e.what();
      result_.metadata["onnx.version_conversion"] = fmt::format("from opset {} to {} failed: {}", file_opset, kOldestNativeOpset,
                                                                why.substr(0, why.find('\n')));
    }
  }
  try {
    onnx::shape_inference::InferShapes(proto);
  } catch (const std::exception& e) {
    std::string why = e.what();
    result_.metadata["onnx.shape_inference"] = why.substr(0, why.find('\n'));
  }
  const onnx::GraphProto& graph = proto.graph();
  for (const auto* list : {&graph.input(), &graph.value_info(), &graph.output()})
    for (const onnx::ValueInfoProto& v : *list) types_[v.name()] = v.type();

  std::string name = identifier_from(graph.name().empty() ? std::string("onnx_model") : graph.name());
  model_ = std::make_shared<Model>(name);
  if (!proto.producer_name().empty())
    result_.metadata["onnx.producer"] = proto.producer_name() + (proto.producer_version().empty() ? "" : " " + proto.producer_version());
  std::vector<std::string> opset_text;
  for (const auto& [domain, version] : opsets_) opset_text.push_back(fmt::format("{}:{}", domain.empty() ? "ai.onnx" : domain, version));
  result_.metadata["onnx.opset_import"] = fmt::format("{}", fmt::join(opset_text, ","));
  result_.metadata["onnx.ir_version"] = std::to_string(proto.ir_version());
  if (!proto.doc_string().empty()) result_.metadata["onnx.doc"] = proto.doc_string();
  if (!graph.doc_string().empty()) result_.metadata["onnx.graph_doc"] = graph.doc_string();
  for (const onnx::StringStringEntryProto& p : proto.metadata_props()) result_.metadata["onnx.meta." + p.key()] = p.value();

  check_supported(graph);
  declare_inputs(graph);
  for (const onnx::NodeProto& node : graph.node()) convert_node(node, 0);

  std::set<std::string> output_names;
  for (const onnx::ValueInfoProto& out : graph.output()) {
    auto it = operands_.find(out.name());
    if (it == operands_.end()) throw Error(ErrorKind::format, fmt::format("{}: graph output '{}' is computed by no node", path_, out.name()));
    std::string base = identifier_from(out.name());
    std::string oname = base;
    for (int i = 1; output_names.count(oname); ++i) oname = base + "_" + std::to_string(i);
    output_names.insert(oname);
    if (oname != out.name()) result_.metadata["onnx.original_output_name." + oname] = out.name();
    model_->output(oname, materialize(it->second));
  }
  for (const auto& [key, value] : result_.metadata) model_->set_metadata(key, value);
  result_.model = model_;
  return std::move(result_);
}

OnnxModel import_model(const std::string& path, const OnnxImportOptions& options) {
  Importer importer(path, options);
  try {
    return importer.run();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    // ONNX's library reports problems by throwing its own exception types.
    throw Error(ErrorKind::format, path + ": " + e.what());
  }
}

}  // namespace mithril::onnx_import
