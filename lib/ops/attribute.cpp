#include "ops/attribute.h"

#include <cassert>

#include <fmt/format.h>

namespace mithril {

const char* attr_type_name(AttrType type) {
  switch (type) {
    case AttrType::boolean: return "bool";
    case AttrType::integer: return "int";
    case AttrType::number: return "float";
    case AttrType::string: return "string";
    case AttrType::int_list: return "int list";
    case AttrType::number_list: return "float list";
    case AttrType::int_or_null: return "int or null";
    case AttrType::int_list_or_null: return "int, int list or null";
    case AttrType::number_or_null: return "float or null";
  }
  return "?";
}

bool attr_matches(const AttrValue& v, AttrType type) {
  switch (type) {
    case AttrType::boolean: return std::holds_alternative<bool>(v);
    case AttrType::integer: return std::holds_alternative<int64_t>(v);
    case AttrType::number: return std::holds_alternative<double>(v) || std::holds_alternative<int64_t>(v);
    case AttrType::string: return std::holds_alternative<std::string>(v);
    case AttrType::int_list: return std::holds_alternative<std::vector<int64_t>>(v);
    case AttrType::number_list:
      return std::holds_alternative<std::vector<double>>(v) || std::holds_alternative<std::vector<int64_t>>(v);
    case AttrType::int_or_null: return std::holds_alternative<int64_t>(v) || std::holds_alternative<std::monostate>(v);
    case AttrType::int_list_or_null:
      return std::holds_alternative<std::vector<int64_t>>(v) || std::holds_alternative<int64_t>(v) ||
             std::holds_alternative<std::monostate>(v);
    case AttrType::number_or_null:
      return std::holds_alternative<double>(v) || std::holds_alternative<int64_t>(v) ||
             std::holds_alternative<std::monostate>(v);
  }
  return false;
}

std::string attr_str(const AttrValue& v) {
  struct Visitor {
    std::string operator()(std::monostate) const { return "null"; }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const { return fmt::format("{}", d); }
    std::string operator()(const std::string& s) const { return "\"" + s + "\""; }
    std::string operator()(const std::vector<int64_t>& l) const { return fmt::format("[{}]", fmt::join(l, ",")); }
    std::string operator()(const std::vector<double>& l) const { return fmt::format("[{}]", fmt::join(l, ",")); }
  };
  return std::visit(Visitor{}, v);
}

namespace {
const AttrValue& get(const Attributes& attrs, const std::string& name) {
  auto it = attrs.find(name);
  assert(it != attrs.end() && "attribute not declared");
  return it->second;
}
}  // namespace

int64_t attr_int(const Attributes& attrs, const std::string& name) { return std::get<int64_t>(get(attrs, name)); }

double attr_number(const Attributes& attrs, const std::string& name) {
  const AttrValue& v = get(attrs, name);
  if (auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  return std::get<double>(v);
}

bool attr_bool(const Attributes& attrs, const std::string& name) { return std::get<bool>(get(attrs, name)); }

const std::string& attr_string(const Attributes& attrs, const std::string& name) {
  return std::get<std::string>(get(attrs, name));
}

std::vector<int64_t> attr_ints(const Attributes& attrs, const std::string& name) {
  const AttrValue& v = get(attrs, name);
  if (auto* i = std::get_if<int64_t>(&v)) return {*i};
  if (std::holds_alternative<std::monostate>(v)) return {};
  return std::get<std::vector<int64_t>>(v);
}

std::vector<double> attr_numbers(const Attributes& attrs, const std::string& name) {
  const AttrValue& v = get(attrs, name);
  if (auto* l = std::get_if<std::vector<int64_t>>(&v)) return std::vector<double>(l->begin(), l->end());
  return std::get<std::vector<double>>(v);
}

bool attr_is_null(const Attributes& attrs, const std::string& name) {
  return std::holds_alternative<std::monostate>(get(attrs, name));
}

}  // namespace mithril
