#pragma once
// Operator attributes: small typed constants attached to a node (an axis, a list of axes, a
// factor). They are stored sorted by name so that serialization is deterministic.
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace mithril {

/// `null` (e.g. "all axes"), a bool, an integer, a float, a string, or a list of integers/floats.
using AttrValue = std::variant<std::monostate, bool, int64_t, double, std::string, std::vector<int64_t>, std::vector<double>>;

/// Attributes of one node by name.
using Attributes = std::map<std::string, AttrValue>;

/// The kinds an attribute may be declared with; `int_list_or_null` and friends accept null too.
enum class AttrType { boolean, integer, number, string, int_list, number_list, int_or_null, int_list_or_null, number_or_null };

/// "int", "float", "int list", ... for messages.
const char* attr_type_name(AttrType type);

/// True when `value` is acceptable for `type` (an integer is acceptable where a float is expected).
bool attr_matches(const AttrValue& value, AttrType type);

/// Compact text of a value for messages: 1, 0.5, [0,1], null, "x".
std::string attr_str(const AttrValue& value);

/// Typed getters; they assume the value was validated against its declared type.
int64_t attr_int(const Attributes& attrs, const std::string& name);
double attr_number(const Attributes& attrs, const std::string& name);
bool attr_bool(const Attributes& attrs, const std::string& name);
const std::string& attr_string(const Attributes& attrs, const std::string& name);
std::vector<int64_t> attr_ints(const Attributes& attrs, const std::string& name);
std::vector<double> attr_numbers(const Attributes& attrs, const std::string& name);
bool attr_is_null(const Attributes& attrs, const std::string& name);

}  // namespace mithril
