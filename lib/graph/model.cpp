#include "graph/model.h"

#include <algorithm>
#include <functional>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "graph/walk.h"

namespace mithril {
namespace {

std::string dims_mismatch(const std::string& what, const SymShape& declared, const SymShape& actual) {
  return fmt::format("{}: shape {}, expected {}", what, shape_str(actual), shape_str(declared));
}

// Binds the named symbols of a declared shape to the dims actually connected to it, checking
// that known sizes agree and that one symbol never stands for two different known sizes.
class SymbolBinder {
 public:
  void bind(const std::string& what, const ValueInfo& declared_info, const ValueInfo& actual_info) {
    if (!declared_info.rank_known || !actual_info.rank_known) return;  // checked once ranks are known
    const SymShape& declared = declared_info.shape;
    const SymShape& actual = actual_info.shape;
    if (declared.size() != actual.size()) throw Error(ErrorKind::shape, dims_mismatch(what, declared, actual));
    for (std::size_t i = 0; i < declared.size(); ++i) {
      const Dim& d = declared[i];
      const Dim& a = actual[i];
      if (d.is_known()) {
        if (a.is_known() && a.size != d.size) throw Error(ErrorKind::shape, dims_mismatch(what, declared, actual));
        continue;
      }
      if (!d.is_named()) continue;
      auto it = bound_.find(d.symbol);
      if (it == bound_.end()) {
        bound_[d.symbol] = a;
      } else if (it->second.is_known() && a.is_known() && it->second.size != a.size) {
        throw Error(ErrorKind::shape, fmt::format("{}: shape {}, but dimension '{}' is {} elsewhere", what,
                                                  shape_str(actual), d.symbol, it->second.size));
      } else if (!it->second.is_known() && a.is_known()) {
        it->second = a;
      }
    }
  }

  ValueInfo substitute(const ValueInfo& declared) const {
    ValueInfo out = declared;
    for (Dim& d : out.shape) {
      if (!d.is_named()) continue;
      auto it = bound_.find(d.symbol);
      if (it != bound_.end()) d = it->second;
    }
    return out;
  }

 private:
  std::map<std::string, Dim> bound_;
};

// Nesting of function expansions in the current walk: a function that uses itself must end in
// an error, not in a stack overflow.
thread_local int function_depth = 0;
constexpr int kMaxFunctionDepth = 64;

bool same_info(const ValueInfo& a, const ValueInfo& b) {
  return a.dtype == b.dtype && a.rank_known == b.rank_known && a.shape == b.shape;
}

}  // namespace

ValueInfo infer_node(const OpSchema& op, const std::vector<ValueInfo>& inputs, const Attributes& attributes) {
  bool ranks_known = std::all_of(inputs.begin(), inputs.end(), [](const ValueInfo& in) { return in.rank_known; });
  if (ranks_known) return op.infer(inputs, attributes);
  // The shape is deferred until shapes are concrete. The dtype is the operator's for the inputs'
  // dtypes (a comparison's bool, dim_size's attribute, a cast's target), found by inferring with
  // the unknown ranks taken as 0 to 5 unknown dimensions: the first rank the operator accepts
  // gives it (no operator's dtype depends on ranks). Failing all, the first input's.
  std::vector<ValueInfo> probe = inputs;
  for (std::size_t rank = 0; rank <= 5; ++rank) {
    for (std::size_t i = 0; i < inputs.size(); ++i)
      if (!inputs[i].rank_known) probe[i] = ValueInfo{inputs[i].dtype, SymShape(rank, Dim::any())};
    try {
      return ValueInfo{op.infer(probe, attributes).dtype, {}, false};
    } catch (const Error&) {
    }
  }
  return ValueInfo{inputs.front().dtype, {}, false};
}

DType walked_dtype(DType declared, const WalkOptions& options) {
  return options.float_dtype && is_floating(declared) ? *options.float_dtype : declared;
}

namespace {

// One model of the walk in progress: a submodel or function body being walked while the
// enclosing model waits at the step that contains it.
struct WalkFrame {
  const Model* model;
  std::shared_ptr<const Model> body;  // keeps a function body alive while it is walked
  std::string prefix;
  std::map<std::string, FlatValue> values;  // local reference -> flat value
  SymbolBinder binder;
  std::size_t next_step = 0;
  bool is_function = false;
};

// Binds a frame's inputs and declares its parameters and constants.
void enter_frame(WalkFrame& frame, const std::map<std::string, FlatValue>& inputs, const WalkCallbacks& callbacks,
                 const WalkOptions& options) {
  const Model& model = *frame.model;
  const std::string& prefix = frame.prefix;
  auto& values = frame.values;
  for (const InputDecl& input : model.inputs()) {
    auto it = inputs.find(input.name);
    if (it == inputs.end())
      throw Error(ErrorKind::shape, fmt::format("input '{}{}' is not connected", prefix, input.name));
    const ValueInfo& actual = it->second.info;
    DType expected = walked_dtype(input.info.dtype, options);
    if (actual.dtype != expected)
      throw Error(ErrorKind::shape, fmt::format("input '{}{}': dtype {}, expected {}", prefix, input.name,
                                                dtype_name(actual.dtype), dtype_name(expected)));
    frame.binder.bind(fmt::format("input '{}{}'", prefix, input.name), input.info, actual);
    values[input.name] = it->second;
    if (callbacks.on_value) callbacks.on_value(prefix, input.name, it->second);
  }
  for (const ParameterDecl& param : model.parameters()) {
    std::string path = prefix + param.name;
    ValueInfo info = frame.binder.substitute(param.info);
    info.dtype = walked_dtype(param.info.dtype, options);
    if (options.parameter_shapes) {
      if (auto it = options.parameter_shapes->find(path); it != options.parameter_shapes->end()) {
        ValueInfo actual{info.dtype, to_sym_shape(it->second)};
        frame.binder.bind(fmt::format("parameter '{}'", path), info, actual);
        info = actual;
      }
    }
    if (callbacks.on_parameter) callbacks.on_parameter(path, param, info);
    values[param.name] = FlatValue{path, info};
    if (callbacks.on_value) callbacks.on_value(prefix, param.name, values[param.name]);
  }
  for (const ConstantDecl& constant : model.constants()) {
    ValueInfo info{walked_dtype(constant.value.dtype(), options), to_sym_shape(constant.value.shape())};
    std::string path = prefix + constant.name;
    if (callbacks.on_constant) callbacks.on_constant(path, constant, info);
    values[constant.name] = FlatValue{path, info};
    if (callbacks.on_value) callbacks.on_value(prefix, constant.name, values[constant.name]);
  }
}

std::map<std::string, FlatValue> frame_outputs(const WalkFrame& frame) {
  std::map<std::string, FlatValue> outputs;
  for (const OutputDecl& output : frame.model->outputs()) outputs[output.name] = frame.values.at(output.value);
  return outputs;
}

}  // namespace

std::map<std::string, FlatValue> walk_model(const Model& model, const std::string& prefix,
                                            const std::map<std::string, FlatValue>& inputs,
                                            const WalkCallbacks& callbacks, const WalkOptions& options) {
  const bool inference_only = !callbacks.on_parameter && !callbacks.on_constant && !callbacks.on_node &&
                              !callbacks.on_value && !options.float_dtype && !options.parameter_shapes;
  // An explicit stack instead of recursion: models nest as deep as the format allows (6,000
  // definitions), deeper than a thread's stack holds frames for in a sanitizer build.
  std::vector<WalkFrame> stack;
  // Function frames on this stack count toward function_depth (shared with walks that a
  // function's expansion starts) until they are popped, also when an error unwinds the walk.
  struct FunctionFrames {
    int count = 0;
    ~FunctionFrames() { function_depth -= count; }
  } function_frames;
  auto push = [&](const Model* m, std::shared_ptr<const Model> body, std::string frame_prefix,
                  const std::map<std::string, FlatValue>& bound, bool is_function) {
    WalkFrame frame{m, std::move(body), std::move(frame_prefix), {}, {}, 0, is_function};
    if (is_function) {
      ++function_depth;
      ++function_frames.count;
    }
    stack.push_back(std::move(frame));
    enter_frame(stack.back(), bound, callbacks, options);
  };
  push(&model, nullptr, prefix, inputs, false);
  for (;;) {
    WalkFrame& frame = stack.back();
    const std::vector<Step>& steps = frame.model->steps();
    if (frame.next_step == steps.size()) {
      std::map<std::string, FlatValue> outputs = frame_outputs(frame);
      bool was_function = frame.is_function;
      stack.pop_back();
      if (was_function) {
        --function_depth;
        --function_frames.count;
      }
      if (stack.empty()) return outputs;
      // Hand the finished model's outputs to the step of its parent that contains it.
      WalkFrame& parent = stack.back();
      const Step& step = parent.model->steps()[parent.next_step++];
      if (was_function) {
        parent.values[step.name] = outputs.at("output");
        if (callbacks.on_value) callbacks.on_value(parent.prefix, step.name, parent.values[step.name]);
      } else {
        for (auto& [output_name, value] : outputs) {
          parent.values[step.name + "." + output_name] = value;
          if (callbacks.on_value) callbacks.on_value(parent.prefix, step.name + "." + output_name, value);
        }
      }
      continue;
    }
    const Step& step = steps[frame.next_step];
    auto& values = frame.values;
    std::string path = frame.prefix + step.name;
    if (!step.is_submodel()) {
      std::vector<ValueInfo> infos;
      std::vector<std::string> paths;
      bool ranks_known = true;
      for (const std::string& ref : step.inputs) {
        const FlatValue& v = values.at(ref);
        infos.push_back(v.info);
        paths.push_back(v.path);
        ranks_known = ranks_known && v.info.rank_known;
      }
      const FunctionTable* functions = frame.model->functions().get();
      if (functions && functions->definition(step.op) && ranks_known) {
        // A function operator runs as its body, like a submodel named after the node.
        if (function_depth >= kMaxFunctionDepth)
          throw Error(ErrorKind::schema, fmt::format("node '{}': function '{}' expands into itself (more than {} nested functions)",
                                                     path, step.op->qualified_name(), kMaxFunctionDepth));
        std::shared_ptr<const Model> body;
        try {
          // The expansion may itself walk models (inferring its body): this frame counts.
          ++function_depth;
          struct Undo {
            ~Undo() { --function_depth; }
          } undo;
          body = functions->expand(*step.op, step.attributes, infos);
        } catch (const Error& e) {
          throw e.with_context(fmt::format("node '{}' ({})", path, step.op->qualified_name()));
        }
        std::map<std::string, FlatValue> bound;
        for (std::size_t i = 0; i < step.inputs.size() && i < body->inputs().size(); ++i)
          bound[body->inputs()[i].name] = values.at(step.inputs[i]);
        const Model* body_model = body.get();
        push(body_model, std::move(body), path + ".", bound, true);  // invalidates `frame`
        continue;
      }
      ValueInfo out;
      try {
        out = infer_node(*step.op, infos, step.attributes);
      } catch (const Error& e) {
        throw e.with_context(fmt::format("node '{}' ({})", path, step.op->qualified_name()));
      }
      if (callbacks.on_node) callbacks.on_node(path, step, paths, out);
      values[step.name] = FlatValue{path, out};
      if (callbacks.on_value) callbacks.on_value(frame.prefix, step.name, values[step.name]);
      ++frame.next_step;
      continue;
    }
    std::map<std::string, FlatValue> bound;
    bool as_built = inference_only;
    for (const auto& [input_name, ref] : step.bindings) {
      bound[input_name] = values.at(ref);
      as_built = as_built && same_info(bound[input_name].info, frame.model->info(ref));
    }
    if (as_built) {
      // Inputs as they were when the submodel was added: its outputs are the ones inferred
      // then. Without this, inferring a chain of n nested submodels walks n levels per level.
      for (const auto& [output_name, info] : step.outputs)
        values[step.name + "." + output_name] = FlatValue{path + "." + output_name, info};
      ++frame.next_step;
      continue;
    }
    push(step.submodel.get(), nullptr, path + ".", bound, false);  // invalidates `frame`
  }
}

std::map<std::string, ValueInfo> infer_outputs(const Model& model, const std::map<std::string, ValueInfo>& inputs) {
  std::map<std::string, FlatValue> flat_inputs;
  for (const auto& [name, info] : inputs) flat_inputs[name] = FlatValue{name, info};
  std::map<std::string, ValueInfo> out;
  for (auto& [name, value] : walk_model(model, "", flat_inputs, {})) out[name] = value.info;
  return out;
}

void check_identifier(const std::string& name, const std::string& what) {
  bool ok = !name.empty() && !(name[0] >= '0' && name[0] <= '9');
  for (char c : name)
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_');
  if (!ok)
    throw Error(ErrorKind::schema, fmt::format("{} name '{}' is not an identifier (letters, digits and '_', "
                                               "not starting with a digit)", what, name));
}

const ValueInfo& Value::info() const {
  if (!model_) throw Error(ErrorKind::invalid_argument, "empty value handle");
  return model_->info(ref_);
}

Model::Model(std::string name) : name_(std::move(name)) { check_identifier(name_, "model"); }

void Model::declare_name(const std::string& name) {
  if (names_.count(name))
    throw Error(ErrorKind::schema, fmt::format("model '{}': name '{}' is already used", name_, name));
  names_[name] = 1;
}

std::string Model::unique_name(const std::string& base) {
  std::string stem = base;
  for (char& c : stem)
    if (c == '.') c = '_';
  // Resume from the last number used for this stem: automatic naming stays linear overall.
  for (int& i = next_index_[stem];; ++i) {
    std::string candidate = stem + "_" + std::to_string(i);
    if (!names_.count(candidate)) return candidate;
  }
}

Value Model::input(const std::string& name, SymShape shape, DType dtype) {
  return input(name, ValueInfo{dtype, std::move(shape)});
}

Value Model::input(const std::string& name, const ValueInfo& info) {
  check_identifier(name, "input");
  declare_name(name);
  inputs_.push_back({name, info});
  values_[name] = inputs_.back().info;
  return Value(this, name);
}

Value Model::list_input(const std::string& name, const ValueInfo& element) {
  check_identifier(name, "input");
  declare_name(name);
  inputs_.push_back({name, element, true});
  // As a value, the list has no shape of its own: nodes taking it infer once it is expanded.
  values_[name] = ValueInfo{element.dtype, {}, false};
  lists_.insert(name);
  return Value(this, name);
}

bool Model::has_list_inputs() const { return !lists_.empty(); }

Value Model::parameter(const std::string& name, SymShape shape, DType dtype, Initializer init) {
  return parameter(name, ValueInfo{dtype, std::move(shape)}, init);
}

Value Model::parameter(const std::string& name, const ValueInfo& info, Initializer init) {
  check_identifier(name, "parameter");
  declare_name(name);
  parameters_.push_back({name, info, init});
  values_[name] = parameters_.back().info;
  return Value(this, name);
}

Value Model::constant(const std::string& name, Tensor value) {
  check_identifier(name, "constant");
  declare_name(name);
  ValueInfo info{value.dtype(), to_sym_shape(value.shape())};
  constants_.push_back({name, std::move(value)});
  values_[name] = info;
  return Value(this, name);
}

Value Model::apply(const std::string& op, const std::vector<Value>& inputs, const Attributes& attributes,
                   const std::string& name) {
  const OpSchema* schema = find_operator(functions_.get(), op);
  std::string node = name.empty() ? unique_name(schema ? schema->name : op) : name;
  std::string where = fmt::format("model '{}': node '{}' ({})", name_, node, op);
  if (!schema) throw Error(ErrorKind::unsupported, where + ": unknown operator '" + op + "'");
  Step step;
  step.name = node;
  step.op = schema;
  std::vector<ValueInfo> infos;
  try {
    check_identifier(node, "node");
    OpRegistry::check_arity(*schema, inputs.size());
    step.attributes = OpRegistry::complete_attributes(*schema, attributes);
    for (const Value& v : inputs) {
      if (v.model() != this)
        throw Error(ErrorKind::invalid_argument, "input '" + v.ref() + "' belongs to another model");
      // A list stands for its elements: only a variadic input (the last one) can take them.
      if (lists_.count(v.ref()) && (step.inputs.size() + 1 < schema->inputs.size() || !schema->inputs.back().variadic))
        throw Error(ErrorKind::schema, "input '" + v.ref() + "' is a list of tensors: only a variadic operator input takes one");
      step.inputs.push_back(v.ref());
      infos.push_back(info(v.ref()));
    }
    step.output = infer_node(*schema, infos, step.attributes);
  } catch (const Error& e) {
    throw e.with_context(where);
  }
  declare_name(node);
  values_[node] = step.output;
  steps_.push_back(std::move(step));
  return Value(this, node);
}

Value Model::add_opaque_node(const std::string& name, const std::string& op, const std::vector<Value>& inputs,
                             const Attributes& attributes) {
  auto schema = std::make_shared<OpSchema>();
  auto dot = op.rfind('.');
  schema->domain = dot == std::string::npos ? "" : op.substr(0, dot);
  schema->name = dot == std::string::npos ? op : op.substr(dot + 1);
  schema->doc = "unknown operator (kept opaque)";
  for (std::size_t i = 0; i < inputs.size(); ++i) schema->inputs.push_back({"input" + std::to_string(i)});
  schema->infer = [](const std::vector<ValueInfo>& in, const Attributes&) {
    return ValueInfo{in.empty() ? DType::float32 : in[0].dtype, {}, false};
  };
  for (const auto& [attr, value] : attributes) schema->attributes.push_back({attr, AttrType::string, value});
  check_identifier(name, "node");
  Step step;
  step.name = name;
  step.op = schema.get();
  step.attributes = attributes;
  for (const Value& v : inputs) step.inputs.push_back(v.ref());
  step.output = ValueInfo{inputs.empty() ? DType::float32 : info(inputs[0].ref()).dtype, {}, false};
  declare_name(name);
  values_[name] = step.output;
  steps_.push_back(std::move(step));
  opaque_ops_.push_back(std::move(schema));
  return Value(this, name);
}

std::map<std::string, Value> Model::add_submodel(const std::string& name, std::shared_ptr<const Model> model,
                                                 const std::map<std::string, Value>& inputs) {
  std::string where = fmt::format("model '{}': submodel '{}' ({})", name_, name, model ? model->name() : "null");
  if (!model) throw Error(ErrorKind::invalid_argument, where + ": no model");
  Step step;
  step.name = name;
  step.submodel = model;
  std::map<std::string, ValueInfo> infos;
  try {
    check_identifier(name, "submodel");
    for (const auto& [input_name, value] : inputs) {
      bool declared = false;
      for (const InputDecl& d : model->inputs()) declared = declared || d.name == input_name;
      if (!declared) throw Error(ErrorKind::schema, "it has no input '" + input_name + "'");
      if (value.model() != this)
        throw Error(ErrorKind::invalid_argument, "input '" + value.ref() + "' belongs to another model");
      if (lists_.count(value.ref()))
        throw Error(ErrorKind::schema, "input '" + value.ref() + "' is a list of tensors: only a variadic operator input takes one");
    }
    if (model->has_list_inputs())
      throw Error(ErrorKind::unsupported, "it has a list input: only the top-level model may have one");
    for (const InputDecl& d : model->inputs()) {
      auto it = inputs.find(d.name);
      if (it == inputs.end()) throw Error(ErrorKind::schema, "input '" + d.name + "' is not connected");
      step.bindings.emplace_back(d.name, it->second.ref());
      infos[d.name] = info(it->second.ref());
    }
    for (auto& [output_name, out_info] : infer_outputs(*model, infos)) step.outputs.emplace_back(output_name, out_info);
  } catch (const Error& e) {
    throw e.with_context(where);
  }
  declare_name(name);
  std::map<std::string, Value> outputs;
  for (const auto& [output_name, out_info] : step.outputs) {
    std::string ref = name + "." + output_name;
    values_[ref] = out_info;
    outputs.emplace(output_name, Value(this, ref));
  }
  steps_.push_back(std::move(step));
  return outputs;
}

void Model::output(const std::string& name, const Value& value) {
  check_identifier(name, "output");
  for (const OutputDecl& o : outputs_)
    if (o.name == name) throw Error(ErrorKind::schema, fmt::format("model '{}': output '{}' is already defined", name_, name));
  if (value.model() != this)
    throw Error(ErrorKind::invalid_argument, fmt::format("model '{}': output '{}' takes a value of another model", name_, name));
  if (lists_.count(value.ref()))
    throw Error(ErrorKind::schema, fmt::format("model '{}': output '{}' takes the list input '{}': an output is one tensor", name_,
                                               name, value.ref()));
  outputs_.push_back({name, value.ref(), info(value.ref())});
}

Value Model::value(const std::string& ref) {
  info(ref);
  return Value(this, ref);
}

const ValueInfo& Model::info(const std::string& ref) const {
  auto it = values_.find(ref);
  if (it == values_.end())
    throw Error(ErrorKind::invalid_argument, fmt::format("model '{}' has no value '{}'", name_, ref));
  return it->second;
}

namespace {

// Calls enter(model, prefix) for every model of the tree, depth first, and on_node(model, step,
// prefix) for each of its operator nodes in step order, entering a submodel at its place. With an
// explicit stack: definitions nest models 6,000 deep.
template <class Enter, class OnNode>
void visit_tree(const Model& root, Enter enter, OnNode on_node) {
  struct Frame {
    const Model* model;
    std::string prefix;
    std::size_t next;
  };
  std::vector<Frame> stack{{&root, "", 0}};
  enter(root, std::string());
  while (!stack.empty()) {
    Frame& frame = stack.back();
    if (frame.next == frame.model->steps().size()) {
      stack.pop_back();
      continue;
    }
    const Step& step = frame.model->steps()[frame.next++];
    if (!step.is_submodel()) {
      on_node(*frame.model, step, frame.prefix);
      continue;
    }
    std::string prefix = frame.prefix + step.name + ".";
    enter(*step.submodel, prefix);
    stack.push_back({step.submodel.get(), std::move(prefix), 0});  // invalidates `frame`
  }
}

}  // namespace

std::vector<ParameterPath> Model::parameter_paths() const {
  std::vector<ParameterPath> out;
  visit_tree(
      *this,
      [&](const Model& model, const std::string& prefix) {
        for (const ParameterDecl& p : model.parameters_) out.push_back({prefix + p.name, p.info, p.init});
      },
      [](const Model&, const Step&, const std::string&) {});
  return out;
}

std::vector<std::string> Model::opaque_nodes() const {
  std::vector<std::string> out;
  visit_tree(
      *this, [](const Model&, const std::string&) {},
      [&](const Model& model, const Step& step, const std::string& prefix) {
        for (const auto& op : model.opaque_ops_)
          if (op.get() == step.op) out.push_back(prefix + step.name + " (" + op->qualified_name() + ")");
      });
  return out;
}

int64_t Model::node_count() const {
  int64_t n = 0;
  visit_tree(
      *this, [](const Model&, const std::string&) {}, [&](const Model&, const Step&, const std::string&) { ++n; });
  return n;
}

bool is_list_element(const std::string& name, const std::string& list) {
  if (name.size() <= list.size() + 1 || name.compare(0, list.size(), list) != 0 || name[list.size()] != '_') return false;
  std::string index = name.substr(list.size() + 1);
  if (index.size() > 1 && index[0] == '0') return false;
  for (char c : index)
    if (c < '0' || c > '9') return false;
  return true;
}

namespace {

// A copy of `original` whose inputs `declare_input` declares in the copy (each as one value or,
// for a list input, several); everything else as it was.
std::shared_ptr<Model> rebuild_with_inputs(const Model& original,
                                           const std::function<std::vector<Value>(Model&, const InputDecl&)>& declare_input) {
  auto out = std::make_shared<Model>(original.name());
  out->use_functions(original.functions());  // its nodes may use the model's functions
  std::map<std::string, std::vector<Value>> values;  // reference -> the value(s) it stands for
  for (const InputDecl& in : original.inputs()) values[in.name] = declare_input(*out, in);
  for (const ParameterDecl& p : original.parameters()) values[p.name] = {out->parameter(p.name, p.info, p.init)};
  for (const ConstantDecl& c : original.constants()) values[c.name] = {out->constant(c.name, c.value)};
  auto one = [&](const std::string& ref) { return values.at(ref).front(); };
  for (const Step& step : original.steps()) {
    if (step.is_submodel()) {
      std::map<std::string, Value> bound;
      for (const auto& [input, ref] : step.bindings) bound[input] = one(ref);
      for (auto& [output, v] : out->add_submodel(step.name, step.submodel, bound)) values[step.name + "." + output] = {v};
      continue;
    }
    std::vector<Value> inputs;
    for (const std::string& ref : step.inputs)
      for (const Value& v : values.at(ref)) inputs.push_back(v);
    values[step.name] = {out->apply(step.op->qualified_name(), inputs, step.attributes, step.name)};
  }
  for (const OutputDecl& o : original.outputs()) out->output(o.name, one(o.value));
  for (const auto& [k, v] : original.metadata()) out->set_metadata(k, v);
  return out;
}

}  // namespace

std::shared_ptr<Model> expand_list_inputs(const Model& model, const std::vector<std::string>& given) {
  std::set<std::string> names(given.begin(), given.end());
  return rebuild_with_inputs(model, [&](Model& out, const InputDecl& in) {
    if (!in.list) return std::vector<Value>{out.input(in.name, in.info)};
    std::vector<Value> elements;
    for (std::size_t i = 0; names.count(in.name + "_" + std::to_string(i)); ++i)
      elements.push_back(out.input(in.name + "_" + std::to_string(i), in.info));
    if (elements.empty())
      throw Error(ErrorKind::invalid_argument, fmt::format("model '{}': list input '{}' has no element: give them as {}_0, {}_1, ...",
                                                           model.name(), in.name, in.name, in.name));
    return elements;
  });
}

std::shared_ptr<Model> with_input_shapes(const Model& model, const std::map<std::string, Shape>& shapes) {
  for (const auto& entry : shapes) {
    const std::string& name = entry.first;
    const Shape& shape = entry.second;
    auto in = std::find_if(model.inputs().begin(), model.inputs().end(), [&name](const InputDecl& i) { return i.name == name; });
    if (in == model.inputs().end())
      throw Error(ErrorKind::invalid_argument, fmt::format("model '{}' has no input '{}'", model.name(), name));
    if (in->list) throw Error(ErrorKind::invalid_argument, fmt::format("input '{}' is a list: give its elements' shapes when it runs", name));
    if (in->info.rank_known && !shape_fits(in->info.shape, shape))
      throw Error(ErrorKind::shape, fmt::format("input '{}': shape {} does not fit its declared {}", name, shape_str(shape),
                                                shape_str(in->info.shape)));
  }
  return rebuild_with_inputs(model, [&](Model& out, const InputDecl& in) {
    ValueInfo info = in.info;
    if (auto it = shapes.find(in.name); it != shapes.end()) info = ValueInfo{in.info.dtype, to_sym_shape(it->second)};
    return std::vector<Value>{out.input(in.name, info)};
  });
}

}  // namespace mithril
