#include "ops/registry.h"

#include "core/error.h"

namespace mithril {

std::string info_str(const ValueInfo& info) {
  return std::string(dtype_name(info.dtype)) + (info.rank_known ? shape_str(info.shape) : "[...]");
}

std::string OpSchema::qualified_name() const { return domain.empty() ? name : domain + "." + name; }

OpRegistry& OpRegistry::global() {
  static OpRegistry* registry = [] {
    auto* r = new OpRegistry();  // never destroyed: plugins may still hold schema pointers at exit
    register_builtin_ops(*r);
    return r;
  }();
  return *registry;
}

void OpRegistry::add(OpSchema schema) {
  std::string qualified = schema.qualified_name();
  if (schema.name.empty() || schema.name.find('.') != std::string::npos)
    throw Error(ErrorKind::invalid_argument, "operator '" + qualified + "': name must be non-empty and contain no '.'");
  if (!schema.infer) throw Error(ErrorKind::invalid_argument, "operator '" + qualified + "': no inference function");
  for (std::size_t i = 0; i + 1 < schema.inputs.size(); ++i)
    if (schema.inputs[i].variadic)
      throw Error(ErrorKind::invalid_argument, "operator '" + qualified + "': only the last input may be variadic");
  std::lock_guard lock(mutex_);
  if (ops_.count(qualified)) throw Error(ErrorKind::invalid_argument, "operator '" + qualified + "' is already registered");
  ops_.emplace(qualified, std::make_unique<OpSchema>(std::move(schema)));
}

void OpRegistry::add_kernel(std::string_view qualified_name, const std::string& backend, KernelFn kernel) {
  std::lock_guard lock(mutex_);
  auto it = ops_.find(qualified_name);
  if (it == ops_.end())
    throw Error(ErrorKind::invalid_argument, "cannot add a kernel: operator '" + std::string(qualified_name) + "' is not registered");
  it->second->kernels[backend] = std::move(kernel);
}

const OpSchema* OpRegistry::find(std::string_view qualified_name) const {
  std::lock_guard lock(mutex_);
  auto it = ops_.find(qualified_name);
  return it == ops_.end() ? nullptr : it->second.get();
}

std::vector<std::string> OpRegistry::names() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [name, schema] : ops_) out.push_back(name);
  return out;
}

Attributes OpRegistry::complete_attributes(const OpSchema& schema, const Attributes& given) {
  for (const auto& [name, value] : given) {
    bool declared = false;
    for (const AttrSpec& spec : schema.attributes) {
      if (spec.name != name) continue;
      declared = true;
      if (!attr_matches(value, spec.type))
        throw Error(ErrorKind::schema, "attribute '" + name + "' of '" + schema.qualified_name() + "': expected " +
                                           attr_type_name(spec.type) + ", got " + attr_str(value));
    }
    if (!declared) {
      std::string known;
      for (const AttrSpec& spec : schema.attributes) known += (known.empty() ? "" : ", ") + spec.name;
      throw Error(ErrorKind::schema, "unknown attribute '" + name + "' for operator '" + schema.qualified_name() +
                                         "' (it has: " + (known.empty() ? "none" : known) + ")");
    }
  }
  Attributes complete = given;
  for (const AttrSpec& spec : schema.attributes) {
    if (complete.count(spec.name)) continue;
    if (!spec.default_value)
      throw Error(ErrorKind::schema, "operator '" + schema.qualified_name() + "' needs attribute '" + spec.name + "'");
    complete[spec.name] = *spec.default_value;
  }
  return complete;
}

void OpRegistry::check_arity(const OpSchema& schema, std::size_t count) {
  bool variadic = !schema.inputs.empty() && schema.inputs.back().variadic;
  std::size_t declared = schema.inputs.size();
  bool ok = variadic ? count >= declared : count == declared;
  if (!ok)
    throw Error(ErrorKind::schema, "operator '" + schema.qualified_name() + "' takes " +
                                       (variadic ? "at least " : "") + std::to_string(declared) + " input(s), got " +
                                       std::to_string(count));
}

}  // namespace mithril
