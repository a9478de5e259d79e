#include "graph/extract.h"

#include <map>
#include <set>

#include <fmt/format.h>

#include "core/error.h"

namespace mithril {
namespace {

std::string sanitized(std::string ref) {
  for (char& c : ref)
    if (c == '.') c = '_';
  return ref;
}

// Which step (index) produces each reference of the top level; inputs, parameters and constants
// map to -1 and are told apart by the sets below.
struct Producers {
  std::map<std::string, int> step_of;
  std::set<std::string> inputs, parameters, constants;

  explicit Producers(const Model& m) {
    for (const InputDecl& in : m.inputs()) inputs.insert(in.name);
    for (const ParameterDecl& p : m.parameters()) parameters.insert(p.name);
    for (const ConstantDecl& c : m.constants()) constants.insert(c.name);
    for (std::size_t i = 0; i < m.steps().size(); ++i) {
      const Step& s = m.steps()[i];
      if (s.is_submodel())
        for (const auto& [out, info] : s.outputs) step_of[s.name + "." + out] = static_cast<int>(i);
      else
        step_of[s.name] = static_cast<int>(i);
    }
  }

  bool known(const std::string& ref) const {
    return step_of.count(ref) || inputs.count(ref) || parameters.count(ref) || constants.count(ref);
  }
};

std::vector<std::string> step_inputs(const Step& s) {
  if (!s.is_submodel()) return s.inputs;
  std::vector<std::string> refs;
  for (const auto& [name, ref] : s.bindings) refs.push_back(ref);
  return refs;
}

}  // namespace

std::shared_ptr<Model> extract_submodel(const Model& model, const std::vector<std::string>& inputs,
                                        const std::vector<std::string>& outputs, const std::string& name) {
  Producers producers(model);
  std::map<std::string, std::string> output_value;  // requested name -> value reference
  for (const std::string& out : outputs) {
    std::string ref = out;
    for (const OutputDecl& o : model.outputs())
      if (o.name == out) ref = o.value;
    if (!producers.known(ref))
      throw Error(ErrorKind::invalid_argument, fmt::format("model '{}' has no output or value '{}'", model.name(), out));
    output_value[out] = ref;
  }
  if (outputs.empty()) throw Error(ErrorKind::invalid_argument, "extract_submodel: no outputs requested");
  std::set<std::string> given;
  for (const std::string& in : inputs) {
    if (!producers.known(in))
      throw Error(ErrorKind::invalid_argument, fmt::format("model '{}' has no value '{}' to cut at", model.name(), in));
    if (producers.parameters.count(in) || producers.constants.count(in))
      throw Error(ErrorKind::invalid_argument, fmt::format("'{}' is a parameter or constant, not a value to cut at", in));
    given.insert(in);
  }

  // Backward walk from the outputs, each value visited once (linear), remembering who asked for it
  // so that an uncovered path can be printed.
  std::map<std::string, std::string> reached_from;  // value -> the value that needed it ("" for outputs)
  std::set<int> kept_steps;
  std::set<std::string> used_params, used_constants, used_given;
  std::vector<std::string> stack;
  for (const auto& [out, ref] : output_value)
    if (reached_from.emplace(ref, "").second) stack.push_back(ref);
  while (!stack.empty()) {
    std::string ref = stack.back();
    stack.pop_back();
    if (given.count(ref)) {
      used_given.insert(ref);
      continue;
    }
    if (producers.parameters.count(ref)) {
      used_params.insert(ref);
      continue;
    }
    if (producers.constants.count(ref)) {
      used_constants.insert(ref);
      continue;
    }
    if (producers.inputs.count(ref)) {
      std::vector<std::string> path{ref};
      for (std::string at = reached_from[ref]; !at.empty(); at = reached_from[at]) path.push_back(at);
      std::string requested = path.back();
      for (const auto& [out, v] : output_value)
        if (v == requested) requested = out;
      std::string chain;
      for (auto it = path.rbegin(); it != path.rend(); ++it) chain += (chain.empty() ? "" : " <- ") + *it;
      throw Error(ErrorKind::invalid_argument,
                  fmt::format("output '{}' depends on input '{}' ({}), which is not among the given inputs", requested, ref, chain));
    }
    int step = producers.step_of.at(ref);
    kept_steps.insert(step);
    for (const std::string& in : step_inputs(model.steps()[static_cast<std::size_t>(step)]))
      if (reached_from.emplace(in, ref).second) stack.push_back(in);
  }
  for (const std::string& in : inputs)
    if (!used_given.count(in))
      throw Error(ErrorKind::invalid_argument, fmt::format("no requested output depends on the given input '{}'", in));

  auto part = std::make_shared<Model>(name.empty() ? model.name() + "_part" : name);
  for (const auto& [k, v] : model.metadata()) part->set_metadata(k, v);
  part->use_functions(model.functions());  // its nodes may use the model's functions
  std::map<std::string, std::string> renamed;  // original reference -> reference in the part
  for (const std::string& in : inputs) {
    renamed[in] = sanitized(in);
    part->input(sanitized(in), model.info(in));
  }
  for (const ParameterDecl& p : model.parameters())
    if (used_params.count(p.name)) {
      part->parameter(p.name, p.info, p.init);
      renamed[p.name] = p.name;
    }
  for (const ConstantDecl& c : model.constants())
    if (used_constants.count(c.name)) {
      part->constant(c.name, c.value);
      renamed[c.name] = c.name;
    }
  for (int index : kept_steps) {  // std::set keeps the original (topological) order
    const Step& s = model.steps()[static_cast<std::size_t>(index)];
    if (s.is_submodel()) {
      std::map<std::string, Value> bindings;
      for (const auto& [input, ref] : s.bindings) bindings.emplace(input, part->value(renamed.at(ref)));
      for (const auto& [out, v] : part->add_submodel(s.name, s.submodel, bindings)) renamed[s.name + "." + out] = v.ref();
    } else {
      std::vector<Value> args;
      for (const std::string& ref : s.inputs) args.push_back(part->value(renamed.at(ref)));
      renamed[s.name] = part->apply(s.op->qualified_name(), args, s.attributes, s.name).ref();
    }
  }
  for (const std::string& out : outputs) part->output(sanitized(out), part->value(renamed.at(output_value.at(out))));
  return part;
}

}  // namespace mithril
