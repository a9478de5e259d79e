#include "io/json_util.h"

#include <charconv>
#include <climits>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include <fmt/format.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
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

// "/nodes/2/op" -> "nodes[2].op" (below `base`, the path of the value the pointer is relative to)
std::string pointer_to_path(const rapidjson::Pointer& pointer, const std::string& base = "") {
  std::string path = base;
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

namespace {

// Passes the SAX events of a parse to the document, converting numbers (read as raw text) with
// std::from_chars instead of RapidJSON's full-precision strtod: that one (RapidJSON 1.1.0, as
// packaged by distributions) reads far out of bounds on "0." followed by some 350 zeros
// (testdata/fuzz/json_tensors/crash-strtod-zeros-after-point.json). from_chars is correctly rounded too. Numbers get
// the types RapidJSON gives them: Int/Uint/Int64/Uint64 for integers that fit, else a double.
class NumberConverter {
 public:
  explicit NumberConverter(rapidjson::Document& doc) : doc_(doc) {}

  bool Null() { return doc_.Null(); }
  bool Bool(bool b) { return doc_.Bool(b); }
  bool Int(int i) { return doc_.Int(i); }
  bool Uint(unsigned u) { return doc_.Uint(u); }
  bool Int64(int64_t i) { return doc_.Int64(i); }
  bool Uint64(uint64_t u) { return doc_.Uint64(u); }
  bool Double(double d) { return doc_.Double(d); }
  bool String(const char* s, rapidjson::SizeType n, bool copy) { return doc_.String(s, n, copy); }
  bool StartObject() { return doc_.StartObject(); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) { return doc_.Key(s, n, copy); }
  bool EndObject(rapidjson::SizeType n) { return doc_.EndObject(n); }
  bool StartArray() { return doc_.StartArray(); }
  bool EndArray(rapidjson::SizeType n) { return doc_.EndArray(n); }

  /// `s` is a valid JSON number (the reader checked the grammar).
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    const char* end = s + n;
    bool negative = *s == '-';
    if (std::string_view(s, n).find_first_of(".eE") == std::string_view::npos) {
      if (negative) {
        int64_t v;
        if (auto r = std::from_chars(s, end, v); r.ec == std::errc() && r.ptr == end)
          return v >= INT_MIN ? doc_.Int(static_cast<int>(v)) : doc_.Int64(v);
      } else {
        uint64_t v;
        if (auto r = std::from_chars(s, end, v); r.ec == std::errc() && r.ptr == end)
          return v <= UINT_MAX ? doc_.Uint(static_cast<unsigned>(v)) : doc_.Uint64(v);
      }
    }
    double d;
    auto r = std::from_chars(s, end, d);
    if (r.ec == std::errc() && r.ptr == end) return doc_.Double(d);
    if (r.ec != std::errc::result_out_of_range || r.ptr != end) return false;  // not expected: refuse
    if (overflows(s, end)) return false;  // RapidJSON refuses these too ("number too big")
    return doc_.Double(negative ? -0.0 : 0.0);  // underflow: zero, as RapidJSON gives
  }

  bool too_big = false;

 private:
  // Whether an out-of-range number is too large (not too small): the decimal exponent of its
  // first non-zero digit is positive.
  bool overflows(const char* s, const char* end) {
    if (*s == '-') ++s;
    bool seen_point = false, found = false;
    int64_t int_digits = 0, frac_zeros = 0;
    for (; s != end && *s != 'e' && *s != 'E'; ++s) {
      if (*s == '.') {
        seen_point = true;
      } else if (!seen_point) {
        if (found || *s != '0') ++int_digits, found = true;
      } else if (!found) {
        if (*s == '0') ++frac_zeros;
        else found = true;
      }
    }
    // Decimal exponent of the first non-zero digit, before the 'e' part.
    int64_t lead = int_digits > 0 ? int_digits - 1 : -(frac_zeros + 1);
    int64_t exp = 0;
    if (s != end) {
      ++s;
      bool exp_negative = *s == '-';
      if (*s == '-' || *s == '+') ++s;
      for (; s != end; ++s) exp = std::min<int64_t>(exp * 10 + (*s - '0'), int64_t{1} << 40);
      if (exp_negative) exp = -exp;
    }
    too_big = lead + exp > 0;
    return too_big;
  }

  rapidjson::Document& doc_;
};

}  // namespace

std::string_view skip_bom(std::string_view text) {
  return text.substr(0, 3) == "\xEF\xBB\xBF" ? text.substr(3) : text;
}

bool starts_like_object(std::string_view text) {
  text = skip_bom(text);
  std::size_t first = text.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && text[first] == '{';
}

rapidjson::Document parse(std::string_view text, const std::string& source) {
  text = skip_bom(text);  // (line and column numbers below count from after it)
  rapidjson::Document doc;
  rapidjson::MemoryStream stream(text.data(), text.size());
  rapidjson::Reader reader;
  NumberConverter converter(doc);
  // Iterative parsing: a hostile file of deeply nested brackets must not exhaust the stack.
  auto generate = [&](rapidjson::Document& handler) {
    (void)handler;  // the converter forwards to it
    return !reader.Parse<rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseIterativeFlag>(stream, converter).IsError();
  };
  doc.Populate(generate);
  if (reader.HasParseError()) {
    std::size_t offset = std::min(reader.GetErrorOffset(), text.size());
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < offset; ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    const char* what = converter.too_big ? rapidjson::GetParseError_En(rapidjson::kParseErrorNumberTooBig)
                                         : rapidjson::GetParseError_En(reader.GetParseErrorCode());
    throw Error(ErrorKind::format, fmt::format("{}: invalid JSON at line {}, column {}: {}", source, line, column, what));
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

namespace {

std::string pointer_text(const rapidjson::Pointer& pointer) {
  rapidjson::StringBuffer buffer;
  pointer.Stringify(buffer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

// The JSON type name of a value as JSON Schema spells it.
const char* json_type(const rapidjson::Value& v) {
  if (v.IsObject()) return "object";
  if (v.IsArray()) return "array";
  if (v.IsString()) return "string";
  if (v.IsBool()) return "boolean";
  if (v.IsNull()) return "null";
  return v.IsInt64() || v.IsUint64() ? "integer" : "number";
}

// The "type" a schema branch requires ($ref to the root's "definitions" followed), or "".
std::string branch_type(const rapidjson::Value& branch, const rapidjson::Document& root) {
  const rapidjson::Value* b = &branch;
  for (int hops = 0; hops < 8 && b->IsObject() && b->HasMember("$ref") && (*b)["$ref"].IsString(); ++hops) {
    rapidjson::Pointer ref(std::string((*b)["$ref"].GetString()).substr(1).c_str());  // "#/definitions/x"
    b = ref.IsValid() ? ref.Get(root) : nullptr;
    if (!b) return "";
  }
  if (!b->IsObject()) return "";
  auto t = b->FindMember("type");
  return t != b->MemberEnd() && t->value.IsString() ? t->value.GetString() : "";
}

// One branch of an anyOf/oneOf as a schema of its own: the branch with the root's "definitions"
// beside it (so its $refs resolve). Built once per branch and thread, like compiled_schema.
const CompiledSchema& compiled_branch(const char* schema_text, const rapidjson::Document& root, const std::string& key,
                                      const rapidjson::Value& branch) {
  static thread_local std::map<std::pair<const char*, std::string>, std::unique_ptr<CompiledSchema>> cache;
  auto& entry = cache[{schema_text, key}];
  if (!entry) {
    auto compiled = std::make_unique<CompiledSchema>();
    compiled->doc.SetObject();
    auto& a = compiled->doc.GetAllocator();
    for (auto it = branch.MemberBegin(); it != branch.MemberEnd(); ++it)
      compiled->doc.AddMember(rapidjson::Value(it->name, a), rapidjson::Value(it->value, a), a);
    if (auto defs = root.FindMember("definitions"); defs != root.MemberEnd() && !compiled->doc.HasMember("definitions"))
      compiled->doc.AddMember("definitions", rapidjson::Value(defs->value, a), a);
    compiled->schema = std::make_unique<rapidjson::SchemaDocument>(compiled->doc);
    entry = std::move(compiled);
  }
  return *entry;
}

// Validates `value` (found at `base` in the file) against a compiled schema; throws the first
// problem as "source: path: message". When a value fails an anyOf/oneOf and its JSON type picks
// exactly one branch (an inline model body is the object branch of "model"), the problem is
// reported from inside that branch, at its exact path, instead of "expected A or B".
void validate_value(const rapidjson::Value& value, const CompiledSchema& compiled, const char* schema_text,
                    const std::string& source, const std::string& base, const std::string& key) {
  const rapidjson::Document& schema_doc = compiled.doc;
  rapidjson::SchemaValidator validator(*compiled.schema);
  if (value.Accept(validator)) return;

  rapidjson::Pointer doc_pointer = validator.GetInvalidDocumentPointer();
  rapidjson::Pointer schema_pointer = validator.GetInvalidSchemaPointer();
  std::string keyword = validator.GetInvalidSchemaKeyword();
  std::string path = pointer_to_path(doc_pointer, base);
  const rapidjson::Value* found = doc_pointer.Get(value);
  const rapidjson::Value* sub = schema_pointer.Get(schema_doc);

  if ((keyword == "anyOf" || keyword == "oneOf") && sub && found && sub->HasMember(keyword.c_str()) &&
      (*sub)[keyword.c_str()].IsArray()) {
    const rapidjson::Value& branches = (*sub)[keyword.c_str()];
    // Only containers: for a scalar the anyOf's own expectation ("a dimension") says it best.
    const std::string type = found->IsObject() || found->IsArray() ? json_type(*found) : "";
    const rapidjson::Value* pick = nullptr;
    std::size_t matches = 0, pick_index = 0;
    for (rapidjson::SizeType i = 0; i < branches.Size(); ++i) {
      std::string t = branch_type(branches[i], schema_doc);
      if (!type.empty() && t == type) {
        pick = &branches[i];
        pick_index = i;
        ++matches;
      }
    }
    if (matches == 1 && pick->IsObject()) {
      std::string branch_key = key + "|" + pointer_text(schema_pointer) + "/" + keyword + "/" + std::to_string(pick_index);
      // Throws the precise problem; returns if the branch alone accepts it (then report as before).
      validate_value(*found, compiled_branch(schema_text, schema_doc, branch_key, *pick), schema_text, source,
                     path == "(top level)" ? "" : path, branch_key);
    }
  }

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
    std::string name(token.name, token.length);
    std::string known;
    if (sub->HasMember("properties"))
      for (auto p = (*sub)["properties"].MemberBegin(); p != (*sub)["properties"].MemberEnd(); ++p)
        known += (known.empty() ? "" : ", ") + std::string(p->name.GetString());
    rapidjson::Pointer parent(doc_pointer.GetTokens(), doc_pointer.GetTokenCount() - 1);
    path = pointer_to_path(parent, base);
    message = fmt::format("unknown key '{}' (allowed: {})", name, known.empty() ? "none" : known);
  }
  if (message.empty()) {
    std::string expected = sub ? schema_expectation(*sub, keyword) : keyword;
    message = "expected " + expected + (found ? ", got " + describe(*found) : "");
  }
  throw Error(ErrorKind::schema, fmt::format("{}: {}: {}", source, path, message));
}

}  // namespace

void validate(const rapidjson::Document& doc, const char* schema_text, const std::string& source) {
  validate_value(doc, compiled_schema(schema_text), schema_text, source, "", "");
}

}  // namespace mithril::json
