#pragma once
// Internal: the JSON writer the tool reports share (RapidJSON stays out of public headers).
#include <string>
#include <string_view>

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include "core/tensor.h"
#include "tools/common.h"

namespace mithril::tools {

class JsonOut {
 public:
  JsonOut() : writer_(buffer_) { writer_.SetIndent(' ', 2); }

  JsonOut& key(std::string_view k) { writer_.Key(k.data(), static_cast<rapidjson::SizeType>(k.size())); return *this; }
  JsonOut& str(std::string_view v) { writer_.String(v.data(), static_cast<rapidjson::SizeType>(v.size())); return *this; }
  JsonOut& num(int64_t v) { writer_.Int64(v); return *this; }
  JsonOut& unum(uint64_t v) { writer_.Uint64(v); return *this; }
  /// Non-finite doubles are written as the strings "nan", "inf", "-inf" (JSON has no literal).
  JsonOut& real(double v);
  JsonOut& boolean(bool v) { writer_.Bool(v); return *this; }
  JsonOut& null() { writer_.Null(); return *this; }
  JsonOut& begin_object() { writer_.StartObject(); return *this; }
  JsonOut& end_object() { writer_.EndObject(); return *this; }
  JsonOut& begin_array() { writer_.StartArray(); return *this; }
  JsonOut& end_array() { writer_.EndArray(); return *this; }
  /// Already serialized JSON (e.g. a tensor's nested lists).
  JsonOut& raw(std::string_view json) {
    writer_.RawValue(json.data(), json.size(), rapidjson::kObjectType);
    return *this;
  }

  JsonOut& shape(const Shape& shape) {
    begin_array();
    for (int64_t d : shape) num(d);
    return end_array();
  }
  /// {"name": ..., "dtype": ..., "shape": [...], "bytes": n}
  JsonOut& tensor_info(const std::string& name, const Tensor& t) {
    begin_object().key("name").str(name).key("dtype").str(dtype_name(t.dtype())).key("shape").shape(t.shape());
    return key("bytes").unum(t.nbytes()).end_object();
  }
  JsonOut& written(const std::vector<WrittenFile>& files) {
    begin_array();
    for (const WrittenFile& f : files)
      begin_object().key("path").str(f.path).key("kind").str(f.kind).key("bytes").unum(f.bytes).key("content").str(f.content).end_object();
    return end_array();
  }

  std::string text() const { return std::string(buffer_.GetString(), buffer_.GetSize()) + "\n"; }

 private:
  rapidjson::StringBuffer buffer_;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> writer_;
};

inline JsonOut& JsonOut::real(double v) {
  if (v != v) return str("nan");
  if (v == 1.0 / 0.0) return str("inf");
  if (v == -1.0 / 0.0) return str("-inf");
  writer_.Double(v);
  return *this;
}

}  // namespace mithril::tools
