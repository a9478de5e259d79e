#include "io/json_util.h"

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include <fmt/format.h>
#include <rapidjson/error/en.h>
#include <rapidjson/pointer.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/error.h"

namespace mithril::json {
namespace {

bool is_identifier(std::string_view key) {
  if (key.empty() || (key[0] >= '0' && key[0] <= '9')) return false;
  for (char c : key)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

// "/nodes/2/op" -> "nodes[2].op"
std::string pointer_to_path(const rapidjson::Pointer& pointer) {
  std::string path;
  for (std::size_t i = 0; i < pointer.GetTokenCount(); ++i) {
    const auto& token = pointer.GetTokens()[i];
    std::string_view name(token.name, token.length);
    if (token.index != rapidjson::kPointerInvalidIndex) path = child(path, static_cast<std::size_t>(token.index));
    else path = child(path, name);
  }
  return path.empty() ? "(top level)" : path;
}

std::string schema_expectation(const rapidjson::Value& schema, const std::string& keyword) {
  auto it = schema.FindMember("x-expected");
  if (it != schema.MemberEnd() && it->value.IsString()) return it->value.GetString();
  if (keyword == "type" && schema.HasMember("type")) return "type " + compact(schema["type"]);
  if (keyword == "enum" && schema.HasMember("enum")) return "one of " + compact(schema["enum"]);
  return "a value satisfying '" + keyword + "'";
}

}  // namespace

std::string child(const std::string& path, std::string_view key) {
  std::string k = is_identifier(key) ? std::string(key) : "[\"" + std::string(key) + "\"]";
  if (path.empty()) return k;
  return k[0] == '[' ? path + k : path + "." + k;
}

std::string child(const std::string& path, std::size_t index) { return path + "[" + std::to_string(index) + "]"; }

std::string compact(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string describe(const rapidjson::Value& v) {
  if (v.IsNull()) return "null";
  if (v.IsBool()) return v.GetBool() ? "true" : "false";
  if (v.IsNumber()) return "the number " + compact(v);
  if (v.IsString()) {
    std::string s = compact(v);
    return "the string " + (s.size() > 60 ? s.substr(0, 57) + "...\"" : s);
  }
  if (v.IsArray()) return "an array of " + std::to_string(v.Size());
  return "an object";
}

rapidjson::Document parse(std::string_view text, const std::string& source) {
  rapidjson::Document doc;
  // Iterative parsing: a hostile file of deeply nested brackets must not exhaust the stack.
  doc.Parse<rapidjson::kParseFullPrecisionFlag | rapidjson::kParseIterativeFlag>(text.data(), text.size());
  if (doc.HasParseError()) {
    std::size_t offset = std::min(doc.GetErrorOffset(), text.size());
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < offset; ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    throw Error(ErrorKind::format, fmt::format("{}: invalid JSON at line {}, column {}: {}", source, line, column,
                                               rapidjson::GetParseError_En(doc.GetParseError())));
  }
  return doc;
}

namespace {
void check_duplicates(const rapidjson::Value& v, const std::string& path, const std::string& source, int depth) {
  if (depth > kMaxJsonDepth)
    throw Error(ErrorKind::schema, fmt::format("{}: {}: nested deeper than {} levels", source, path, kMaxJsonDepth));
  if (v.IsObject()) {
    std::set<std::string_view> seen;
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
      std::string_view key(it->name.GetString(), it->name.GetStringLength());
      std::string here = child(path, key);
      if (!seen.insert(key).second)
        throw Error(ErrorKind::schema, fmt::format("{}: {}: duplicate key '{}'", source, path.empty() ? "(top level)" : path, key));
      check_duplicates(it->value, here, source, depth + 1);
    }
  } else if (v.IsArray()) {
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i) check_duplicates(v[i], child(path, i), source, depth + 1);
  }
}
}  // namespace

void check_no_duplicate_keys(const rapidjson::Value& value, const std::string& source) {
  check_duplicates(value, "", source, 0);
}

namespace {

// Parsed schemas, built once per schema text and thread (each validation gets its own validator).
// Per thread because a RapidJSON 1.1 SchemaDocument is not safe to share: its "pattern" regexes
// keep mutable match state, so concurrent validations (mithril-migrate --jobs) crash.
struct CompiledSchema {
  rapidjson::Document doc;
  std::unique_ptr<rapidjson::SchemaDocument> schema;
};

const CompiledSchema& compiled_schema(const char* schema_text) {
  static thread_local std::map<const char*, std::unique_ptr<CompiledSchema>> cache;
  auto& entry = cache[schema_text];
  if (!entry) {
    auto compiled = std::make_unique<CompiledSchema>();
    compiled->doc.Parse(schema_text);
    if (compiled->doc.HasParseError()) throw Error(ErrorKind::schema, "embedded JSON Schema does not parse");
    compiled->schema = std::make_unique<rapidjson::SchemaDocument>(compiled->doc);
    entry = std::move(compiled);
  }
  return *entry;
}

}  // namespace

void validate(const rapidjson::Document& doc, const char* schema_text, const std::string& source) {
  const CompiledSchema& compiled = compiled_schema(schema_text);
  const rapidjson::Document& schema_doc = compiled.doc;
  rapidjson::SchemaValidator validator(*compiled.schema);
  if (doc.Accept(validator)) return;

  rapidjson::Pointer doc_pointer = validator.GetInvalidDocumentPointer();
  rapidjson::Pointer schema_pointer = validator.GetInvalidSchemaPointer();
  std::string keyword = validator.GetInvalidSchemaKeyword();
  std::string path = pointer_to_path(doc_pointer);
  const rapidjson::Value* found = doc_pointer.Get(doc);
  const rapidjson::Value* sub = schema_pointer.Get(schema_doc);

  std::string message;
  if (keyword == "required" && sub && found && found->IsObject()) {
    for (const auto& name : (*sub)["required"].GetArray())
      if (!found->HasMember(name.GetString())) {
        message = fmt::format("missing required key '{}'", name.GetString());
        break;
      }
  } else if (keyword == "additionalProperties" && sub && doc_pointer.GetTokenCount() > 0) {
    // RapidJSON points at the offending member itself; the schema pointer is its parent's schema.
    const auto& token = doc_pointer.GetTokens()[doc_pointer.GetTokenCount() - 1];
    std::string key(token.name, token.length);
    std::string known;
    if (sub->HasMember("properties"))
      for (auto p = (*sub)["properties"].MemberBegin(); p != (*sub)["properties"].MemberEnd(); ++p)
        known += (known.empty() ? "" : ", ") + std::string(p->name.GetString());
    rapidjson::Pointer parent(doc_pointer.GetTokens(), doc_pointer.GetTokenCount() - 1);
    path = pointer_to_path(parent);
    message = fmt::format("unknown key '{}' (allowed: {})", key, known.empty() ? "none" : known);
  }
  if (message.empty()) {
    std::string expected = sub ? schema_expectation(*sub, keyword) : keyword;
    message = "expected " + expected + (found ? ", got " + describe(*found) : "");
  }
  throw Error(ErrorKind::schema, fmt::format("{}: {}: {}", source, path, message));
}

}  // namespace mithril::json
