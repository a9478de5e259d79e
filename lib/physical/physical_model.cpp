#include "physical/physical_model.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"
#include "graph/walk.h"
#include "physical/input_check.h"

namespace mithril {
namespace {

Error unknown_parameter(const std::string& name) {
  return Error(ErrorKind::invalid_argument, "unknown parameter '" + name + "'");
}

}  // namespace

PhysicalModel PhysicalModel::compile(std::shared_ptr<const Model> model, const Backend& backend, const CompileOptions& options) {
  if (!model) throw Error(ErrorKind::invalid_argument, "compile: no model");
  // A list input's length is the number of its elements given shapes (xs_0, xs_1, ...).
  if (model->has_list_inputs()) {
    std::vector<std::string> given;
    for (const auto& [name, shape] : options.shapes) given.push_back(name);
    model = expand_list_inputs(*model, given);
  }
  PhysicalModel pm;
  pm.model_ = model;
  pm.backend_ = &backend;
  pm.dtype_ = options.dtype;
  pm.min_node_work_ = options.min_node_work;
  // bfloat16 compute keeps float32 values; the backend rounds products (see CompileOptions).
  std::optional<DType> value_dtype = options.dtype;
  if (options.dtype == DType::bfloat16) {
    pm.bfloat16_compute_ = true;
    value_dtype = DType::float32;
  }
  WalkOptions walk_options{value_dtype, &options.parameter_shapes};

  for (const auto& [name, shape] : options.shapes) find_input(model->name(), model->inputs(), name);
  std::map<std::string, FlatValue> inputs;
  for (const InputDecl& in : model->inputs()) {
    InputDecl compiled = in;
    compiled.info.dtype = walked_dtype(in.info.dtype, walk_options);
    if (auto it = options.shapes.find(in.name); it != options.shapes.end()) {
      compiled.info.shape = to_sym_shape(it->second);
      compiled.info.rank_known = true;
    }
    pm.inputs_.push_back(compiled);
    inputs[in.name] = FlatValue{in.name, compiled.info};
  }

  auto new_slot = [&pm](const std::string& path, const ValueInfo& info) {
    int slot = static_cast<int>(pm.slot_paths_.size());
    pm.slot_of_[path] = slot;
    pm.slot_paths_.push_back(path);
    pm.slot_infos_.push_back(info);
    return slot;
  };
  for (const InputDecl& in : pm.inputs_) new_slot(in.name, in.info);

  WalkCallbacks callbacks;
  callbacks.on_parameter = [&](const std::string& path, const ParameterDecl& decl, const ValueInfo& info) {
    if (!info.rank_known || !is_concrete(info.shape))
      throw Error(ErrorKind::shape, fmt::format("parameter '{}': shape {} is not fully known; give its value or the input shapes",
                                                path, info_str(info)));
    new_slot(path, info);
    pm.parameter_order_.push_back(path);
    pm.parameters_[path] = Parameter{to_shape(info.shape), info.dtype, decl.init, std::nullopt};
  };
  callbacks.on_constant = [&](const std::string& path, const ConstantDecl& decl, const ValueInfo& info) {
    int slot = new_slot(path, info);
    pm.constants_.emplace_back(slot, decl.value.cast(info.dtype));
  };
  callbacks.on_node = [&](const std::string& path, const Step& step, const std::vector<std::string>& input_paths, const ValueInfo& info) {
    if (!reference_backend().implements(*step.op) && !backend.implements(*step.op))
      throw Error(ErrorKind::unsupported, fmt::format("node '{}': operator '{}' has no kernel for the '{}' backend", path,
                                                      step.op->qualified_name(), backend.name()));
    OpCall call{path, step.op, &step.attributes, {}, 0};
    for (const std::string& p : input_paths) call.inputs.push_back(pm.slot_of_.at(p));
    call.output = new_slot(path, info);
    pm.ops_.push_back(std::move(call));
  };
  callbacks.on_value = [&](const std::string& prefix, const std::string& ref, const FlatValue& value) {
    if (prefix.empty()) pm.top_level_slots_[ref] = pm.slot_of_.at(value.path);
  };
  // Shapes of parameters that follow from the input shapes (a Linear's input width), as Python
  // Mithril infers them at compile time.
  std::map<std::string, Shape> parameter_shapes = options.parameter_shapes;
  for (auto& [path, shape] : infer_parameter_shapes(*model, inputs, walk_options)) parameter_shapes.emplace(path, shape);
  walk_options.parameter_shapes = &parameter_shapes;
  auto outputs = walk_model(*model, "", inputs, callbacks, walk_options);
  if (options.initialize_parameters) pm.initialize(options.seed);
  for (const OutputDecl& out : model->outputs()) pm.outputs_.emplace_back(out.name, pm.slot_of_.at(outputs.at(out.name).path));
  return pm;
}

std::vector<std::string> PhysicalModel::get_parameter_names() const { return parameter_order_; }

Shape PhysicalModel::get_shape(const std::string& name) const {
  auto it = parameters_.find(name);
  if (it == parameters_.end()) throw unknown_parameter(name);
  return it->second.shape;
}

DType PhysicalModel::get_dtype(const std::string& name) const {
  auto it = parameters_.find(name);
  if (it == parameters_.end()) throw unknown_parameter(name);
  return it->second.dtype;
}

void PhysicalModel::set_value(const std::string& name, const Tensor& value) {
  auto it = parameters_.find(name);
  if (it == parameters_.end()) throw unknown_parameter(name);
  if (value.shape() != it->second.shape)
    throw Error(ErrorKind::shape, fmt::format("parameter '{}': shape {}, expected {}", name, shape_str(value.shape()),
                                              shape_str(it->second.shape)));
  it->second.value = value.cast(it->second.dtype);
  plans_.clear();
}

void PhysicalModel::set_values(const TensorMap& values) {
  for (const auto& [name, value] : values) set_value(name, value);
}

const Tensor& PhysicalModel::get_value(const std::string& name) const {
  auto it = parameters_.find(name);
  if (it == parameters_.end()) throw unknown_parameter(name);
  if (!it->second.value) throw Error(ErrorKind::invalid_argument, "parameter '" + name + "' has no value yet");
  return *it->second.value;
}

TensorMap PhysicalModel::get_values() const {
  TensorMap out;
  for (const std::string& name : parameter_order_) out[name] = get_value(name);
  return out;
}

bool PhysicalModel::has_all_values() const {
  for (const auto& [name, p] : parameters_)
    if (!p.value) return false;
  return true;
}

void PhysicalModel::initialize(uint64_t seed) {
  uint64_t total = 0;
  for (const auto& [path, p] : parameters_) total += static_cast<uint64_t>(shape_numel(p.shape)) * dtype_size(p.dtype);
  if (total > kMaxInitializedParameterBytes)
    throw Error(ErrorKind::invalid_argument,
                fmt::format("model '{}': its parameters need {:.1f} GiB, more than the {} GiB this library fills from "
                            "initializers; load their values instead", model_->name(), static_cast<double>(total) / (1 << 30),
                            kMaxInitializedParameterBytes >> 30));
  for (const std::string& path : parameter_order_) {
    Parameter& p = parameters_.at(path);
    p.value = mithril::initialize(p.init, p.dtype, p.shape, seed, path);
  }
  plans_.clear();
}

std::vector<const OpSchema*> PhysicalModel::operators() const {
  std::vector<const OpSchema*> ops;
  for (const OpCall& call : ops_)
    if (std::find(ops.begin(), ops.end(), call.op) == ops.end()) ops.push_back(call.op);
  return ops;
}

std::vector<std::string> PhysicalModel::output_names() const {
  std::vector<std::string> names;
  for (const auto& [name, slot] : outputs_) names.push_back(name);
  return names;
}

TensorMap PhysicalModel::evaluate(const TensorMap& given) const { return evaluate(given, {}); }

TensorMap PhysicalModel::evaluate(const TensorMap& given, const std::vector<std::string>& also) const {
  check_inputs(given, also);
  return plan_for(given, also)->run(given);
}

PlanInfo PhysicalModel::plan_info(const TensorMap& inputs) const {
  check_inputs(inputs, {});
  return plan_for(inputs, {})->info();
}

void PhysicalModel::check_inputs(const TensorMap& given, const std::vector<std::string>& also) const {
  for (const std::string& ref : also)
    if (!top_level_slots_.count(ref))
      throw Error(ErrorKind::invalid_argument, fmt::format("model '{}' has no value '{}'", model_->name(), ref));
  std::vector<std::string> names;
  for (const auto& [name, value] : given) {
    check_input_value(model_->name(), find_input(model_->name(), inputs_, name), value.shape(), value.dtype());
    names.push_back(name);
  }
  check_inputs_present(model_->name(), inputs_, names);
  std::vector<std::string> unset;
  for (const auto& [path, p] : parameters_)
    if (!p.value) unset.push_back("'" + path + "'");
  if (!unset.empty())
    throw Error(ErrorKind::invalid_argument, fmt::format("parameters without a value: {}", fmt::join(unset, ", ")));
}

std::shared_ptr<Plan> PhysicalModel::plan_for(const TensorMap& given, const std::vector<std::string>& also) const {
  std::pair<std::vector<Shape>, std::vector<std::string>> key;
  for (const InputDecl& in : inputs_) key.first.push_back(given.at(in.name).shape());
  key.second = also;
  {
    std::lock_guard lock(plans_.mutex);
    if (auto it = plans_.plans.find(key); it != plans_.plans.end()) return it->second;
  }
  std::shared_ptr<Plan> plan = build_plan(given, also);
  std::lock_guard lock(plans_.mutex);
  // A model run on many shapes keeps the latest few plans, not one per shape ever seen.
  if (plans_.plans.size() >= 8) plans_.plans.clear();
  plans_.plans[key] = plan;
  return plan;
}

std::unique_ptr<Plan> PhysicalModel::build_plan(const TensorMap& given, const std::vector<std::string>& also) const {
  PlanGraph graph;
  graph.types.resize(slot_paths_.size());
  std::map<std::string, FlatValue> bound;
  for (const InputDecl& in : inputs_) {
    const Shape& shape = given.at(in.name).shape();
    int slot = slot_of_.at(in.name);
    graph.types[static_cast<std::size_t>(slot)] = TensorType{in.info.dtype, shape};
    graph.inputs.emplace_back(in.name, slot);
    bound[in.name] = FlatValue{in.name, ValueInfo{in.info.dtype, to_sym_shape(shape)}};
  }
  for (const auto& [path, p] : parameters_) {
    int slot = slot_of_.at(path);
    graph.types[static_cast<std::size_t>(slot)] = TensorType{p.value->dtype(), p.value->shape()};
    graph.fixed.emplace_back(slot, *p.value);
  }
  for (const auto& [slot, value] : constants_) {
    graph.types[static_cast<std::size_t>(slot)] = TensorType{value.dtype(), value.shape()};
    graph.fixed.emplace_back(slot, value);
  }
  // Concrete types of every node for these inputs: the same walk as compile, now with concrete
  // dims (a node on values of unknown rank had its inference deferred at compile time).
  WalkCallbacks callbacks;
  callbacks.on_node = [&](const std::string& path, const Step&, const std::vector<std::string>&, const ValueInfo& info) {
    if (!info.rank_known || !is_concrete(info.shape))
      throw Error(ErrorKind::shape, fmt::format("node '{}': output shape {} is not fully known", path, info_str(info)));
    graph.types[static_cast<std::size_t>(slot_of_.at(path))] = TensorType{info.dtype, to_shape(info.shape)};
  };
  std::map<std::string, Shape> parameter_shapes;
  for (const auto& [path, p] : parameters_) parameter_shapes[path] = p.shape;
  std::optional<DType> value_dtype = bfloat16_compute_ ? std::optional<DType>(DType::float32) : dtype_;
  walk_model(*model_, "", bound, callbacks, WalkOptions{value_dtype, &parameter_shapes});
  for (const OpCall& call : ops_) graph.nodes.push_back(PlanGraph::Node{call.path, call.op, call.attributes, call.inputs, call.output});
  graph.returned = outputs_;
  for (const std::string& ref : also) graph.returned.emplace_back(ref, top_level_slots_.at(ref));
  return std::make_unique<Plan>(graph, *backend_, PlanOptions{bfloat16_compute_, min_node_work_});
}

}  // namespace mithril
