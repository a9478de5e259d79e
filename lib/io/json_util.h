#pragma once
// Internal helpers shared by the JSON readers (model dicts, migrations, run inputs): parse errors
// with line and column, JSON-path strings, schema validation with readable messages.
// Not installed: RapidJSON stays out of the public headers.
#include <string>
#include <string_view>

#include <rapidjson/document.h>

namespace mithril::json {

/// Parses `text` (full-precision numbers, NaN/Inf refused; a leading UTF-8 byte-order mark, as
/// some Windows editors write, is skipped). Throws Error(format)
/// "<source>: invalid JSON at line L, column C: <what>".
rapidjson::Document parse(std::string_view text, const std::string& source);

/// `text` without a leading UTF-8 byte-order mark (EF BB BF).
std::string_view skip_bom(std::string_view text);

/// True when `text` starts, after a byte-order mark and white space, with '{': how the readers
/// tell a JSON object (model dict, inputs) from other content.
bool starts_like_object(std::string_view text);

/// Deepest nesting of arrays and objects accepted (validation and reading recurse over it).
inline constexpr int kMaxJsonDepth = 200;

/// Throws Error(schema) "<source>: <path>: duplicate key 'k'" for the first object with a key
/// twice, or for nesting deeper than kMaxJsonDepth. Run it before anything else walks the tree.
void check_no_duplicate_keys(const rapidjson::Value& value, const std::string& source);

/// Validates `doc` against the JSON Schema `schema_text`; throws Error(schema)
/// "<source>: <path>: <what was expected>, got <what was found>".
void validate(const rapidjson::Document& doc, const char* schema_text, const std::string& source);

/// "nodes[2].inputs[0]" from a path prefix and a key or index.
std::string child(const std::string& path, std::string_view key);
std::string child(const std::string& path, std::size_t index);

/// A short description of a JSON value for messages: 'a string "abc"', 'the number 3', 'an array'.
std::string describe(const rapidjson::Value& value);

/// The value compactly serialized.
std::string compact(const rapidjson::Value& value);

}  // namespace mithril::json
