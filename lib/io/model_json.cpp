#include "io/model_json.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <mutex>
#include <set>

#include <fmt/format.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/json_util.h"

namespace mithril {
namespace {

using Writer = rapidjson::PrettyWriter<rapidjson::StringBuffer>;

// ---------------------------------------------------------------- writing

void write_string(Writer& w, std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }

void write_raw_number(Writer& w, const std::string& text) {
  w.RawValue(text.data(), text.size(), rapidjson::kNumberType);
}

void write_double(Writer& w, double v) {
  if (std::isnan(v)) return write_string(w, "nan");
  if (std::isinf(v)) return write_string(w, v > 0 ? "inf" : "-inf");
  std::string text = fmt::format("{}", v);  // shortest text that reads back to the same double
  if (text.find_first_of(".eE") == std::string::npos) text += ".0";
  write_raw_number(w, text);
}

void write_float(Writer& w, float v) {
  if (std::isnan(v) || std::isinf(v)) return write_double(w, v);
  std::string text = fmt::format("{}", v);  // shortest text that reads back to the same float
  if (text.find_first_of(".eE") == std::string::npos) text += ".0";
  write_raw_number(w, text);
}

void write_shape(Writer& w, const SymShape& shape, bool rank_known = true) {
  if (!rank_known) {
    w.Null();
    return;
  }
  w.StartArray();
  for (const Dim& d : shape) {
    if (d.is_known()) w.Int64(d.size);
    else if (d.is_named()) write_string(w, d.symbol);
    else w.Null();
  }
  w.EndArray();
}

void write_attr(Writer& w, const AttrValue& v) {
  struct Visitor {
    Writer& w;
    void operator()(std::monostate) { w.Null(); }
    void operator()(bool b) { w.Bool(b); }
    void operator()(int64_t i) { w.Int64(i); }
    void operator()(double d) { write_double(w, d); }
    void operator()(const std::string& s) { write_string(w, s); }
    void operator()(const std::vector<int64_t>& l) {
      w.StartArray();
      for (int64_t i : l) w.Int64(i);
      w.EndArray();
    }
    void operator()(const std::vector<double>& l) {
      w.StartArray();
      for (double d : l) write_double(w, d);
      w.EndArray();
    }
  };
  std::visit(Visitor{w}, v);
}

void write_constant_data(Writer& w, const Tensor& t) {
  w.StartArray();
  int64_t n = t.numel();
  visit_dtype(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = t.data_as<T>();
    for (int64_t i = 0; i < n; ++i) {
      if constexpr (std::is_same_v<T, bool>) w.Bool(p[i]);
      else if constexpr (std::is_same_v<T, float>) write_float(w, p[i]);
      else if constexpr (std::is_same_v<T, double>) write_double(w, p[i]);
      else if constexpr (std::is_same_v<T, float16_t>) write_float(w, float16_to_float(p[i].bits));
      else if constexpr (std::is_same_v<T, bfloat16_t>) write_float(w, bfloat16_to_float(p[i].bits));
      else if constexpr (std::is_same_v<T, std::complex<float>>) {
        write_float(w, p[i].real());
        write_float(w, p[i].imag());
      } else if constexpr (std::is_same_v<T, std::complex<double>>) {
        write_double(w, p[i].real());
        write_double(w, p[i].imag());
      } else if constexpr (std::is_same_v<T, uint64_t>) w.Uint64(p[i]);
      else w.Int64(static_cast<int64_t>(p[i]));
    }
  });
  w.EndArray();
}

struct DefinitionTable {
  std::map<const Model*, std::string> names;                    // hoisted submodel bodies -> definition name
  std::vector<std::pair<std::string, const Model*>> in_order;  // definitions in first-use order
};

void write_body(Writer& w, const Model& m, const DefinitionTable& defs);

// Writes `"key": {name: {fields...}, ...}` for a non-empty list; `fields` writes one entry's
// members (their order is part of the deterministic bytes).
template <class Items, class Fields>
void write_named_section(Writer& w, const char* key, const Items& items, Fields fields) {
  if (items.empty()) return;
  w.Key(key);
  w.StartObject();
  for (const auto& item : items) {
    write_string(w, item.name);
    w.StartObject();
    fields(item);
    w.EndObject();
  }
  w.EndObject();
}

void write_body_members(Writer& w, const Model& m, const DefinitionTable& defs) {
  w.Key("name");
  write_string(w, m.name());
  auto shape_and_dtype = [&w](const ValueInfo& info) {
    w.Key("shape");
    write_shape(w, info.shape, info.rank_known);
    w.Key("dtype");
    write_string(w, dtype_name(info.dtype));
  };
  write_named_section(w, "inputs", m.inputs(), [&](const InputDecl& in) {
    shape_and_dtype(in.info);
    if (in.list) {  // format 1.2.0
      w.Key("list");
      w.Bool(true);
    }
  });
  write_named_section(w, "parameters", m.parameters(), [&](const ParameterDecl& p) {
    shape_and_dtype(p.info);
    w.Key("init");
    write_string(w, p.init.str());
  });
  write_named_section(w, "constants", m.constants(), [&](const ConstantDecl& c) {
    w.Key("dtype");
    write_string(w, dtype_name(c.value.dtype()));
    w.Key("shape");
    write_shape(w, to_sym_shape(c.value.shape()));
    w.Key("data");
    write_constant_data(w, c.value);
  });
  w.Key("nodes");
  w.StartArray();
  for (const Step& step : m.steps()) {
    w.StartObject();
    w.Key("name");
    write_string(w, step.name);
    if (step.is_submodel()) {
      w.Key("model");
      auto it = defs.names.find(step.submodel.get());
      if (it != defs.names.end()) write_string(w, it->second);
      else write_body(w, *step.submodel, defs);
      w.Key("inputs");
      w.StartObject();
      for (const auto& [input, ref] : step.bindings) {
        write_string(w, input);
        write_string(w, ref);
      }
      w.EndObject();
    } else {
      w.Key("op");
      write_string(w, step.op->qualified_name());
      if (step.op->version != 1 || !step.op->domain.empty()) {
        w.Key("op_version");
        w.Int(step.op->version);
      }
      w.Key("inputs");
      w.StartArray();
      for (const std::string& ref : step.inputs) write_string(w, ref);
      w.EndArray();
      Attributes written;
      for (const auto& [name, value] : step.attributes) {
        auto spec = std::find_if(step.op->attributes.begin(), step.op->attributes.end(),
                                 [&, &name = name](const AttrSpec& s) { return s.name == name; });
        bool omitted = spec != step.op->attributes.end() && !spec->written_when_default && spec->default_value &&
                       *spec->default_value == value;
        if (!omitted) written.emplace(name, value);
      }
      if (!written.empty()) {
        w.Key("attributes");
        w.StartObject();
        for (const auto& [name, value] : written) {
          write_string(w, name);
          write_attr(w, value);
        }
        w.EndObject();
      }
    }
    w.EndObject();
  }
  w.EndArray();
  w.Key("outputs");
  w.StartObject();
  for (const OutputDecl& out : m.outputs()) {
    write_string(w, out.name);
    write_string(w, out.value);
  }
  w.EndObject();
}

void write_body(Writer& w, const Model& m, const DefinitionTable& defs) {
  w.StartObject();
  write_body_members(w, m, defs);
  w.EndObject();
}

std::string body_text(const Model& m, const DefinitionTable& defs) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  write_body(w, m, defs);
  return buffer.GetString();
}

constexpr int kMaxInlineNesting = 32;
// Models nested in models through definitions, at most. Reading, walking, compiling and writing
// a tree use explicit stacks; only freeing it recurses once per level (under 100 bytes of stack
// each: the deepest tree needs under 512 KiB in all, tests/e2e/deep_definitions.sh).
constexpr int kMaxModelNesting = 6000;

// Every distinct submodel under `top` (top itself excluded), depth first in step order: `pre` in
// the order first reached, `post` in the order finished (each after every submodel inside it).
// With an explicit stack: trees nest kMaxModelNesting deep.
struct SubmodelOrders {
  std::vector<const Model*> pre, post;
};

SubmodelOrders submodel_orders(const Model& top) {
  SubmodelOrders out;
  std::set<const Model*> seen;
  std::vector<std::pair<const Model*, std::size_t>> stack{{&top, 0}};  // model, next step
  while (!stack.empty()) {
    auto& [model, next] = stack.back();
    if (next == model->steps().size()) {
      if (model != &top) out.post.push_back(model);
      stack.pop_back();
      continue;
    }
    const Step& step = model->steps()[next++];
    if (!step.is_submodel() || !seen.insert(step.submodel.get()).second) continue;
    out.pre.push_back(step.submodel.get());
    stack.emplace_back(step.submodel.get(), 0);  // invalidates `model` and `next`
  }
  return out;
}

// Bodies whose content is used more than once in the tree are written once under "definitions",
// so a model of many identical blocks stays small. Names are the model names, suffixed when two
// different bodies share one, in first-use (depth-first) order: deterministic.
DefinitionTable plan_definitions(const Model& top) {
  SubmodelOrders orders = submodel_orders(top);
  const std::vector<const Model*>& order = orders.pre;  // distinct submodel objects, depth-first pre-order

  // Two bodies have the same content when their own text is the same and their submodels have
  // the same content: each body's text is made once with its submodels written as content ids
  // ("#3", never a model name), children first. Linear in the size of the tree, however deep.
  DefinitionTable by_id;  // submodel -> "#<content id>"
  std::map<std::string, int> id_of_text;
  std::map<const Model*, int> content;
  for (const Model* m : orders.post) {
    auto it = id_of_text.emplace(body_text(*m, by_id), static_cast<int>(id_of_text.size())).first;
    content[m] = it->second;
    by_id.names[m] = "#" + std::to_string(it->second);
  }
  std::map<int, int> uses;  // content id -> number of steps using it
  auto count = [&](const Model& m) {
    for (const Step& step : m.steps())
      if (step.is_submodel()) ++uses[content[step.submodel.get()]];
  };
  count(top);
  for (const Model* m : order) count(*m);

  // Bodies used twice are hoisted, and so is every body that would otherwise nest more than
  // kMaxInlineNesting submodels inline (a chain of thousands of definitions must not become JSON
  // nested thousands deep: readers, ours included, cap the nesting).
  std::set<int> hoist;
  for (const auto& [id, n] : uses)
    if (n >= 2) hoist.insert(id);
  std::map<const Model*, int> height;  // submodel levels written inline below a body
  auto inline_height = [&](const Model& m) {  // its submodels' heights are known (post order)
    int h = 0;
    for (const Step& step : m.steps()) {
      if (!step.is_submodel()) continue;
      int below = height.at(step.submodel.get());
      if (!hoist.count(content[step.submodel.get()])) h = std::max(h, below + 1);
    }
    if (&m != &top && h >= kMaxInlineNesting) hoist.insert(content[&m]);
    height[&m] = h;
  };
  for (const Model* m : orders.post) inline_height(*m);
  inline_height(top);

  DefinitionTable defs;
  std::map<int, std::string> name_of_content;
  std::set<std::string> taken;
  for (const Model* m : order) {
    int text = content[m];
    if (!hoist.count(text)) continue;
    auto known = name_of_content.find(text);
    if (known != name_of_content.end()) {
      defs.names[m] = known->second;
      continue;
    }
    std::string name = m->name();
    for (int i = 2; taken.count(name); ++i) name = m->name() + "_" + std::to_string(i);
    taken.insert(name);
    name_of_content[text] = name;
    defs.names[m] = name;
    defs.in_order.emplace_back(name, m);
  }
  return defs;
}

// ---------------------------------------------------------------- reading

// A JSON attribute value (already schema-checked) as an AttrValue; `fail` reports a bad list.
AttrValue json_to_attr(const rapidjson::Value& v, const std::function<void(const std::string&)>& fail) {
  if (v.IsNull()) return std::monostate{};
  if (v.IsBool()) return v.GetBool();
  if (v.IsInt64()) return v.GetInt64();
  if (v.IsNumber()) return v.GetDouble();
  if (v.IsString()) return std::string(v.GetString());
  bool all_ints = true;
  for (const auto& item : v.GetArray()) all_ints = all_ints && item.IsInt64();
  if (all_ints) {
    std::vector<int64_t> out;
    for (const auto& item : v.GetArray()) out.push_back(item.GetInt64());
    return out;
  }
  std::vector<double> out;
  for (const auto& item : v.GetArray()) {
    if (!item.IsNumber()) fail("expected numbers only, got " + json::describe(item));
    out.push_back(item.GetDouble());
  }
  return out;
}

// ---------------------------------------------------------------- functions (format 1.1.0)
//
// A function is an operator defined in the model file as a composition of other operators:
//   "functions": {"acme.scaled_relu": {"version": 1, "inputs": ["x"], "attributes": {"factor": 1.0},
//                 "nodes": [{"name": "r", "op": "relu", "inputs": ["x"]},
//                           {"name": "s", "op": "multiply", "inputs": ["r", "@factor"]}],
//                 "output": "s"}}
// "@name" stands for an attribute's value: as a node input, a 0-d constant of the first input's
// dtype; as a node attribute value, the attribute itself. Loading a file gives its models one
// FunctionTable (graph/functions.h) holding its functions; compiling expands them.

AttrType attr_type_of_default(const AttrValue& v) {
  if (std::holds_alternative<bool>(v)) return AttrType::boolean;
  if (std::holds_alternative<int64_t>(v)) return AttrType::integer;
  if (std::holds_alternative<double>(v)) return AttrType::number;
  if (std::holds_alternative<std::string>(v)) return AttrType::string;
  if (std::holds_alternative<std::vector<double>>(v)) return AttrType::number_list;
  return AttrType::int_list_or_null;
}

// Parses and checks one definition (references resolve in order, "@x" names an attribute).
FunctionDef parse_function(const std::string& name, const rapidjson::Value& v, const std::string& source,
                           const std::string& path) {
  auto fail = [&](const std::string& where, const std::string& what) {
    throw Error(ErrorKind::schema, fmt::format("{}: {}: {}", source, where, what));
  };
  auto dot = name.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == name.size() || name.find('.', dot + 1) != std::string::npos)
    fail(path, "a function is named 'domain.name' (a domain keeps it apart from built-in operators)");
  check_identifier(name.substr(0, dot), "function domain");
  check_identifier(name.substr(dot + 1), "function");
  FunctionDef def;
  def.qualified = name;
  def.json = json::compact(v);
  if (v.HasMember("version")) def.version = v["version"].GetInt();
  if (v.HasMember("doc")) def.doc = v["doc"].GetString();
  std::set<std::string> defined;
  for (const auto& in : v["inputs"].GetArray()) {
    if (!defined.insert(in.GetString()).second) fail(json::child(path, "inputs"), fmt::format("input '{}' is listed twice", in.GetString()));
    def.inputs.push_back(in.GetString());
  }
  std::set<std::string> attribute_names;
  if (auto a = v.FindMember("attributes"); a != v.MemberEnd())
    for (auto it = a->value.MemberBegin(); it != a->value.MemberEnd(); ++it) {
      std::string where = json::child(json::child(path, "attributes"), it->name.GetString());
      AttrValue value = json_to_attr(it->value, [&](const std::string& what) { fail(where, what); });
      def.attributes.push_back({it->name.GetString(), attr_type_of_default(value), value});
      attribute_names.insert(it->name.GetString());
    }
  const auto& nodes = v["nodes"];
  for (rapidjson::SizeType i = 0; i < nodes.Size(); ++i) {
    std::string here = json::child(json::child(path, "nodes"), i);
    FunctionDef::Node node;
    node.name = nodes[i]["name"].GetString();
    node.op = nodes[i]["op"].GetString();
    if (auto ins = nodes[i].FindMember("inputs"); ins != nodes[i].MemberEnd())
      for (rapidjson::SizeType j = 0; j < ins->value.Size(); ++j) {
        std::string ref = ins->value[j].GetString();
        std::string where = json::child(json::child(here, "inputs"), j);
        if (ref[0] == '@' && !attribute_names.count(ref.substr(1))) fail(where, fmt::format("no attribute '{}'", ref.substr(1)));
        if (ref[0] != '@' && !defined.count(ref)) fail(where, fmt::format("unknown value '{}' (not defined before this node)", ref));
        node.inputs.push_back(ref);
      }
    if (auto attrs = nodes[i].FindMember("attributes"); attrs != nodes[i].MemberEnd())
      for (auto it = attrs->value.MemberBegin(); it != attrs->value.MemberEnd(); ++it) {
        std::string where = json::child(json::child(here, "attributes"), it->name.GetString());
        AttrValue value = json_to_attr(it->value, [&](const std::string& what) { fail(where, what); });
        if (auto* text = std::get_if<std::string>(&value); text && !text->empty() && (*text)[0] == '@' && !attribute_names.count(text->substr(1)))
          fail(where, fmt::format("no attribute '{}'", text->substr(1)));
        node.attributes[it->name.GetString()] = value;
      }
    if (!defined.insert(node.name).second) fail(json::child(here, "name"), fmt::format("name '{}' is already used", node.name));
    def.nodes.push_back(std::move(node));
  }
  def.output = v["output"].GetString();
  if (!defined.count(def.output)) fail(json::child(path, "output"), fmt::format("unknown value '{}'", def.output));
  return def;
}

// Function definitions used by `model` (at any depth, and by the functions themselves), by name.
// Each model resolves its nodes through its own table; two different definitions of one name in
// one tree cannot be written as one file.
void collect_functions(const Model& top, std::map<std::string, const FunctionDef*>& out) {
  std::vector<const Model*> models{&top};
  SubmodelOrders orders = submodel_orders(top);
  models.insert(models.end(), orders.pre.begin(), orders.pre.end());
  for (const Model* model : models) {
    const FunctionTable* table = model->functions().get();
    std::function<void(const OpSchema*)> add_function = [&](const OpSchema* op) {
      const FunctionDef* def = table ? table->definition(op) : nullptr;
      if (!def) return;
      auto [it, added] = out.emplace(def->qualified, def);
      if (!added) {
        if (it->second->json != def->json)
          throw Error(ErrorKind::unsupported, fmt::format("model '{}' uses two different functions named '{}' (from different "
                                                          "files): one file cannot hold both", model->name(), def->qualified));
        return;
      }
      for (const FunctionDef::Node& node : def->nodes) add_function(table->find(node.op));
    };
    for (const Step& step : model->steps())
      if (!step.is_submodel()) add_function(step.op);
  }
}

struct Reader {
  const rapidjson::Value& root;
  std::string source;
  bool allow_unknown_ops = false;
  std::shared_ptr<const FunctionTable> functions;  // the file's functions, shared by every model built
  std::map<std::string, std::shared_ptr<const Model>> built_definitions;
  std::set<std::string> building;  // definitions being built, to refuse cycles
  std::map<std::string_view, const rapidjson::Value*, std::less<>> definitions;  // by name, built on first use
  bool definitions_indexed = false;

  [[noreturn]] void fail(ErrorKind kind, const std::string& path, const std::string& what) const {
    throw Error(kind, fmt::format("{}: {}: {}", source, path.empty() ? "(top level)" : path, what));
  }

  ValueInfo read_info(const rapidjson::Value& obj) const {
    const auto& shape = obj["shape"];
    if (shape.IsNull()) return ValueInfo{read_dtype(obj), {}, false};
    return ValueInfo{read_dtype(obj), read_shape(shape)};
  }

  SymShape read_shape(const rapidjson::Value& v) const {
    SymShape shape;
    for (const auto& d : v.GetArray()) {
      if (d.IsNull()) shape.push_back(Dim::any());
      else if (d.IsString()) shape.push_back(Dim::named(d.GetString()));
      else shape.push_back(Dim::known(d.GetInt64()));
    }
    return shape;
  }

  DType read_dtype(const rapidjson::Value& obj) const {
    auto it = obj.FindMember("dtype");
    if (it == obj.MemberEnd()) return DType::float32;
    return *dtype_from_name(it->value.GetString());  // the schema allows only known names
  }

  AttrValue read_attr(const rapidjson::Value& v, const std::string& path) const {
    return json_to_attr(v, [&](const std::string& what) { fail(ErrorKind::schema, path, what); });
  }

  double read_float_item(const rapidjson::Value& v, const std::string& path) const {
    if (v.IsNumber()) return v.GetDouble();
    if (v.IsString()) {
      std::string s = v.GetString();
      if (s == "nan") return std::nan("");
      if (s == "inf") return INFINITY;
      if (s == "-inf") return -INFINITY;
    }
    fail(ErrorKind::schema, path, "expected a number, \"nan\", \"inf\" or \"-inf\", got " + json::describe(v));
  }

  Tensor read_constant(const rapidjson::Value& obj, const std::string& path) const {
    DType dtype = read_dtype(obj);
    Shape shape;
    for (const auto& d : obj["shape"].GetArray()) shape.push_back(d.GetInt64());
    int64_t numel;
    try {
      numel = shape_numel(shape);
    } catch (const Error& e) {
      fail(ErrorKind::schema, json::child(path, "shape"), e.what());
    }
    const auto& data = obj["data"];
    int64_t expected = is_complex(dtype) ? 2 * numel : numel;
    if (static_cast<int64_t>(data.Size()) != expected)
      fail(ErrorKind::schema, json::child(path, "data"),
           fmt::format("{} values for shape {}{}, expected {}", data.Size(), shape_str(shape),
                       is_complex(dtype) ? " (complex: real, imaginary pairs)" : "", expected));
    Tensor t(dtype, shape);
    std::string data_path = json::child(path, "data");
    visit_dtype(dtype, [&](auto tag) {
      using T = decltype(tag);
      T* p = t.mutable_data_as<T>();
      for (int64_t i = 0; i < numel; ++i) {
        std::string item_path = json::child(data_path, static_cast<std::size_t>(i));
        const auto& v = data[static_cast<rapidjson::SizeType>(is_complex(dtype) ? 2 * i : i)];
        if constexpr (std::is_same_v<T, bool>) {
          if (!v.IsBool()) fail(ErrorKind::schema, item_path, "expected true or false, got " + json::describe(v));
          p[i] = v.GetBool();
        } else if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
          p[i] = static_cast<T>(read_float_item(v, item_path));
        } else if constexpr (std::is_same_v<T, float16_t>) {
          p[i] = float16_t{float_to_float16(static_cast<float>(read_float_item(v, item_path)))};
        } else if constexpr (std::is_same_v<T, bfloat16_t>) {
          p[i] = bfloat16_t{float_to_bfloat16(static_cast<float>(read_float_item(v, item_path)))};
        } else if constexpr (std::is_same_v<T, std::complex<float>> || std::is_same_v<T, std::complex<double>>) {
          const auto& im = data[static_cast<rapidjson::SizeType>(2 * i + 1)];
          using R = typename T::value_type;
          p[i] = T(static_cast<R>(read_float_item(v, item_path)),
                   static_cast<R>(read_float_item(im, json::child(data_path, static_cast<std::size_t>(2 * i + 1)))));
        } else if constexpr (std::is_same_v<T, uint64_t>) {
          if (!v.IsUint64()) fail(ErrorKind::schema, item_path, "expected an unsigned integer, got " + json::describe(v));
          p[i] = v.GetUint64();
        } else {
          if (!v.IsInt64()) fail(ErrorKind::schema, item_path, "expected an integer, got " + json::describe(v));
          int64_t x = v.GetInt64();
          if (x < static_cast<int64_t>(std::numeric_limits<T>::min()) || x > static_cast<int64_t>(std::numeric_limits<T>::max()))
            fail(ErrorKind::schema, item_path, fmt::format("{} does not fit {}", x, dtype_name(dtype)));
          p[i] = static_cast<T>(x);
        }
      }
    });
    return t;
  }

  // rapidjson finds members by a linear search: the definitions are indexed by name once.
  void index_definitions() {
    if (definitions_indexed) return;
    definitions_indexed = true;
    if (auto defs = root.FindMember("definitions"); defs != root.MemberEnd())
      for (auto it = defs->value.MemberBegin(); it != defs->value.MemberEnd(); ++it)
        definitions.emplace(std::string_view(it->name.GetString(), it->name.GetStringLength()), &it->value);
  }

  // A reference from a body to a definition by name: its JSON path, and how many models deep it
  // is (1: a node of the body itself; more: inside bodies written inline).
  struct DefinitionRef {
    std::string name;
    std::string path;
    int level = 1;
  };

  // The definitions a body refers to (also from bodies written inline in it; the body's own nodes
  // are at `level`); returns how many models deep its inline bodies go (0: none).
  int definition_refs(const rapidjson::Value& body, const std::string& path, int level, std::vector<DefinitionRef>& out) const {
    int deepest = 0;
    auto nodes = body.FindMember("nodes");
    if (nodes == body.MemberEnd() || !nodes->value.IsArray()) return deepest;
    for (rapidjson::SizeType i = 0; i < nodes->value.Size(); ++i) {
      auto m = nodes->value[i].FindMember("model");
      if (m == nodes->value[i].MemberEnd()) continue;
      std::string here = json::child(json::child(json::child(path, "nodes"), i), "model");
      if (m->value.IsString()) {
        out.push_back({m->value.GetString(), here, level});
      } else if (m->value.IsObject()) {  // inline: bounded by kMaxJsonDepth
        deepest = std::max({deepest, level, definition_refs(m->value, here, level + 1, out)});
      }
    }
    return deepest;
  }

  // Builds every definition the top body uses, each after the ones it uses, with an explicit
  // stack: a chain of thousands of definitions costs linear time and no deep recursion (each
  // body then finds its submodels built). Refuses cycles, and models nested deeper than
  // kMaxModelNesting, before building anything.
  void build_definitions() {
    index_definitions();
    if (definitions.empty()) return;
    struct Frame {
      std::string name;
      std::vector<DefinitionRef> refs;
      std::size_t next = 0;
      int depth = 0;  // models nested in this definition, itself included
    };
    auto open = [&](const std::string& name) {
      Frame f{name, {}, 0, 0};
      f.depth = 1 + definition_refs(*definitions.find(name)->second, json::child("definitions", name), 1, f.refs);
      return f;
    };
    std::map<std::string, int, std::less<>> depth_of;  // finished definitions
    std::set<std::string, std::less<>> on_stack;
    std::vector<std::string> order;
    std::vector<DefinitionRef> roots;
    definition_refs(root, "", 1, roots);
    for (const DefinitionRef& r : roots) {
      if (depth_of.count(r.name) || !definitions.count(r.name)) continue;  // unknown: build_body says so
      std::vector<Frame> stack;
      stack.push_back(open(r.name));
      on_stack.insert(r.name);
      while (!stack.empty()) {
        Frame& f = stack.back();
        if (f.next < f.refs.size()) {
          const DefinitionRef& ref = f.refs[f.next++];
          if (on_stack.count(ref.name)) fail(ErrorKind::schema, ref.path, "definition '" + ref.name + "' contains itself");
          if (auto done = depth_of.find(ref.name); done != depth_of.end()) {
            f.depth = std::max(f.depth, ref.level + done->second);
            continue;
          }
          if (!definitions.count(ref.name)) continue;  // build_body reports it with its path
          on_stack.insert(ref.name);
          stack.push_back(open(ref.name));
          continue;
        }
        Frame done = std::move(f);
        stack.pop_back();
        if (done.depth > kMaxModelNesting)
          fail(ErrorKind::schema, json::child("definitions", done.name),
               fmt::format("models nested {} deep through definitions (at most {})", done.depth, kMaxModelNesting));
        on_stack.erase(done.name);
        depth_of.emplace(done.name, done.depth);
        order.push_back(done.name);
        if (!stack.empty()) {
          Frame& parent = stack.back();
          parent.depth = std::max(parent.depth, parent.refs[parent.next - 1].level + done.depth);
        }
      }
    }
    for (const std::string& name : order) definition(name, json::child("definitions", name));
  }

  std::shared_ptr<const Model> definition(const std::string& name, const std::string& path) {
    auto done = built_definitions.find(name);
    if (done != built_definitions.end()) return done->second;
    index_definitions();
    auto body = definitions.find(name);
    if (body == definitions.end()) fail(ErrorKind::schema, path, "no definition named '" + name + "'");
    if (building.count(name)) fail(ErrorKind::schema, path, "definition '" + name + "' contains itself");
    building.insert(name);
    auto model = build_body(*body->second, json::child("definitions", name));
    building.erase(name);
    built_definitions[name] = model;
    return model;
  }

  std::shared_ptr<Model> build_body(const rapidjson::Value& body, const std::string& path) {
    auto model = std::make_shared<Model>(body["name"].GetString());
    model->use_functions(functions);
    auto section = [&](const char* key) -> const rapidjson::Value* {
      auto it = body.FindMember(key);
      return it == body.MemberEnd() ? nullptr : &it->value;
    };
    auto guarded = [&](const std::string& where, auto&& fn) {
      try {
        fn();
      } catch (const Error& e) {
        if (std::string(e.what()).rfind(source + ":", 0) == 0) throw;  // already placed
        fail(e.kind(), where, e.what());
      }
    };
    if (auto* inputs = section("inputs"))
      for (auto it = inputs->MemberBegin(); it != inputs->MemberEnd(); ++it) {
        std::string where = json::child(json::child(path, "inputs"), it->name.GetString());
        guarded(where, [&] {
          auto list = it->value.FindMember("list");
          if (list != it->value.MemberEnd() && list->value.GetBool()) model->list_input(it->name.GetString(), read_info(it->value));
          else model->input(it->name.GetString(), read_info(it->value));
        });
      }
    if (auto* params = section("parameters"))
      for (auto it = params->MemberBegin(); it != params->MemberEnd(); ++it) {
        std::string where = json::child(json::child(path, "parameters"), it->name.GetString());
        guarded(where, [&] {
          auto init_it = it->value.FindMember("init");
          Initializer init = init_it == it->value.MemberEnd() ? Initializer::glorot()
                                                              : Initializer::parse(init_it->value.GetString());
          model->parameter(it->name.GetString(), read_info(it->value), init);
        });
      }
    if (auto* constants = section("constants"))
      for (auto it = constants->MemberBegin(); it != constants->MemberEnd(); ++it) {
        std::string where = json::child(json::child(path, "constants"), it->name.GetString());
        Tensor value = read_constant(it->value, where);
        guarded(where, [&] { model->constant(it->name.GetString(), value); });
      }
    if (auto* nodes = section("nodes"))
      for (rapidjson::SizeType i = 0; i < nodes->Size(); ++i) build_node(*model, (*nodes)[i], json::child(json::child(path, "nodes"), i));
    const auto& outputs = body["outputs"];
    for (auto it = outputs.MemberBegin(); it != outputs.MemberEnd(); ++it) {
      std::string where = json::child(json::child(path, "outputs"), it->name.GetString());
      std::string ref = it->value.GetString();
      if (!model->has_value(ref)) fail(ErrorKind::schema, where, "unknown value '" + ref + "'");
      guarded(where, [&] { model->output(it->name.GetString(), model->value(ref)); });
    }
    if (model->outputs().empty()) fail(ErrorKind::schema, json::child(path, "outputs"), "a model needs at least one output");
    return model;
  }

  Value lookup(Model& model, const rapidjson::Value& ref, const std::string& where) const {
    std::string name = ref.GetString();
    if (!model.has_value(name))
      fail(ErrorKind::schema, where, "unknown value '" + name + "' (not defined before this node)");
    return model.value(name);
  }

  void build_node(Model& model, const rapidjson::Value& node, const std::string& path) {
    std::string name = node["name"].GetString();
    bool has_op = node.HasMember("op"), has_model = node.HasMember("model");
    if (has_op == has_model) fail(ErrorKind::schema, path, "a node needs exactly one of \"op\" or \"model\"");
    auto inputs_it = node.FindMember("inputs");
    if (has_op) {
      std::vector<Value> inputs;
      if (inputs_it != node.MemberEnd()) {
        if (!inputs_it->value.IsArray())
          fail(ErrorKind::schema, json::child(path, "inputs"), "an operator node takes an array of value references");
        for (rapidjson::SizeType i = 0; i < inputs_it->value.Size(); ++i)
          inputs.push_back(lookup(model, inputs_it->value[i], json::child(json::child(path, "inputs"), i)));
      }
      Attributes attrs;
      if (auto a = node.FindMember("attributes"); a != node.MemberEnd())
        for (auto it = a->value.MemberBegin(); it != a->value.MemberEnd(); ++it)
          attrs[it->name.GetString()] = read_attr(it->value, json::child(json::child(path, "attributes"), it->name.GetString()));
      std::string op = node["op"].GetString();
      const OpSchema* schema = find_operator(functions.get(), op);
      if (!schema && allow_unknown_ops) {
        model.add_opaque_node(name, op, inputs, attrs);
        return;
      }
      if (schema) {
        int version = node.HasMember("op_version") ? node["op_version"].GetInt() : 1;
        if (version > schema->version)
          fail(ErrorKind::unsupported, json::child(path, "op_version"),
               fmt::format("operator '{}' version {} is newer than the registered version {}", op, version, schema->version));
      }
      try {
        model.apply(op, inputs, attrs, name);
      } catch (const Error& e) {
        fail(e.kind(), path, e.what());
      }
      return;
    }
    const auto& ref = node["model"];
    std::shared_ptr<const Model> sub =
        ref.IsString() ? definition(ref.GetString(), json::child(path, "model")) : build_body(ref, json::child(path, "model"));
    std::map<std::string, Value> bindings;
    if (inputs_it != node.MemberEnd()) {
      if (!inputs_it->value.IsObject())
        fail(ErrorKind::schema, json::child(path, "inputs"), "a submodel node takes an object of inputs by name");
      for (auto it = inputs_it->value.MemberBegin(); it != inputs_it->value.MemberEnd(); ++it)
        bindings.emplace(it->name.GetString(),
                         lookup(model, it->value, json::child(json::child(path, "inputs"), it->name.GetString())));
    }
    try {
      model.add_submodel(name, sub, bindings);
    } catch (const Error& e) {
      fail(e.kind(), path, e.what());
    }
  }

  // Every operator nobody registered, with where it is used, in one error.
  void check_operators_known() const {
    std::vector<std::string> unknown;
    std::function<void(const rapidjson::Value&, const std::string&)> scan = [&](const rapidjson::Value& body, const std::string& path) {
      auto nodes = body.FindMember("nodes");
      if (nodes == body.MemberEnd()) return;
      for (rapidjson::SizeType i = 0; i < nodes->value.Size(); ++i) {
        const auto& node = nodes->value[i];
        std::string here = json::child(json::child(path, "nodes"), i);
        if (auto op = node.FindMember("op"); op != node.MemberEnd() && !find_operator(functions.get(), op->value.GetString()))
          unknown.push_back(fmt::format("'{}' at {}", op->value.GetString(), here));
        if (auto m = node.FindMember("model"); m != node.MemberEnd() && m->value.IsObject()) scan(m->value, json::child(here, "model"));
      }
    };
    scan(root, "");
    if (auto fns = root.FindMember("functions"); fns != root.MemberEnd())
      for (auto it = fns->value.MemberBegin(); it != fns->value.MemberEnd(); ++it)
        scan(it->value, json::child("functions", it->name.GetString()));
    if (auto defs = root.FindMember("definitions"); defs != root.MemberEnd())
      for (auto it = defs->value.MemberBegin(); it != defs->value.MemberEnd(); ++it)
        scan(it->value, json::child("definitions", it->name.GetString()));
    if (!unknown.empty())
      throw Error(ErrorKind::unsupported,
                  fmt::format("{}: unknown operator{} {} (register it in C++ or load the plugin that provides it with --plugin)",
                              source, unknown.size() > 1 ? "s" : "", fmt::join(unknown, ", ")));
  }
};

struct SemVer {
  int major = 0, minor = 0, patch = 0;
};

std::optional<SemVer> parse_semver(std::string_view text) {
  SemVer v;
  if (std::sscanf(std::string(text).c_str(), "%d.%d.%d", &v.major, &v.minor, &v.patch) != 3) return std::nullopt;
  if (fmt::format("{}.{}.{}", v.major, v.minor, v.patch) != text) return std::nullopt;
  return v;
}

}  // namespace

// What only format 1.2.0 expresses, anywhere in the tree: list inputs and concat over all
// elements (axis null), each as "list input 'xs'" or "node 'cat' (concat with axis null)".
static std::vector<std::string> constructs_of_1_2_0(const Model& model, const std::string& prefix) {
  std::vector<std::string> out;
  for (const InputDecl& in : model.inputs())
    if (in.list) out.push_back("list input '" + prefix + in.name + "'");
  for (const Step& step : model.steps()) {
    if (step.is_submodel()) {
      for (std::string& s : constructs_of_1_2_0(*step.submodel, prefix + step.name + ".")) out.push_back(std::move(s));
      continue;
    }
    if (step.op->domain.empty() && step.op->name == "concat" && attr_is_null(step.attributes, "axis"))
      out.push_back("node '" + prefix + step.name + "' (concat with axis null)");
  }
  return out;
}

std::string to_dict(const Model& model) { return to_dict(model, kModelFormatVersion); }

std::string to_dict(const Model& model, const std::string& version) {
  std::map<std::string, const FunctionDef*> functions;
  collect_functions(model, functions);
  if (version == "1.0.0" || version == "1.1.0") {
    std::vector<std::string> newer = constructs_of_1_2_0(model, "");
    if (!newer.empty())
      throw Error(ErrorKind::unsupported, fmt::format("model '{}' cannot be written as format {}: it uses {} (format 1.2.0)", model.name(),
                                                      version, fmt::join(newer, ", ")));
  }
  if (version == "1.0.0") {
    if (!functions.empty()) {
      std::vector<std::string> names;
      for (const auto& [name, def] : functions) names.push_back("'" + name + "'");
      throw Error(ErrorKind::unsupported, fmt::format("model '{}' cannot be written as format 1.0.0: it uses function operator{} {} "
                                                      "(functions need format 1.1.0)", model.name(), names.size() > 1 ? "s" : "",
                                                      fmt::join(names, ", ")));
    }
  } else if (version != "1.1.0" && version != kModelFormatVersion) {
    throw Error(ErrorKind::unsupported, fmt::format("cannot write format version '{}' (this writes 1.0.0, 1.1.0 and {}; versioning::to_dict writes any "
                                                    "version of the format history, python-mithril included)", version,
                                                    kModelFormatVersion));
  }
  DefinitionTable defs = plan_definitions(model);
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.SetIndent(' ', 2);
  w.SetFormatOptions(rapidjson::kFormatSingleLineArray);
  w.StartObject();
  w.Key("version");
  write_string(w, version);
  if (!model.metadata().empty()) {
    w.Key("metadata");
    w.StartObject();
    for (const auto& [k, v] : model.metadata()) {
      write_string(w, k);
      write_string(w, v);
    }
    w.EndObject();
  }
  write_body_members(w, model, defs);
  if (!defs.in_order.empty()) {
    w.Key("definitions");
    w.StartObject();
    for (const auto& [name, body] : defs.in_order) {
      write_string(w, name);
      w.StartObject();
      // A definition's own submodels are referenced by name too, but the body itself is written
      // in place here (it is the definition).
      write_body_members(w, *body, defs);
      w.EndObject();
    }
    w.EndObject();
  }
  if (!functions.empty()) {
    w.Key("functions");
    w.StartObject();
    for (const auto& [name, def] : functions) {
      write_string(w, name);
      rapidjson::Document d;
      d.Parse(def->json.c_str());
      d.Accept(w);
    }
    w.EndObject();
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize()) + "\n";
}

std::shared_ptr<Model> from_dict(std::string_view json, const std::string& source) { return from_dict(json, source, {}); }

std::shared_ptr<Model> from_dict(std::string_view json, const std::string& source, const FromDictOptions& options) {
  rapidjson::Document doc = json::parse(json, source);
  if (!doc.IsObject()) throw Error(ErrorKind::schema, source + ": expected a JSON object, got " + json::describe(doc));
  auto version_it = doc.FindMember("version");
  if (version_it == doc.MemberEnd())
    throw Error(ErrorKind::schema, source + ": no \"version\": not a Mithril model dict of this library "
                                            "(a Python Mithril dict? upgrade it with mithril-migrate)");
  if (!version_it->value.IsString())
    throw Error(ErrorKind::schema, source + ": version: expected a version string such as \"1.0.0\", got " +
                                       json::describe(version_it->value));
  std::string version = version_it->value.GetString();
  auto parsed = parse_semver(version);
  if (!parsed) throw Error(ErrorKind::schema, source + ": version: '" + version + "' is not a MAJOR.MINOR.PATCH version");
  auto current = *parse_semver(kModelFormatVersion);
  if (parsed->major > current.major)
    throw Error(ErrorKind::unsupported, fmt::format("{}: format version {} is newer than this library reads ({}); "
                                                    "upgrade mithril", source, version, kModelFormatVersion));
  const char* schema = model_schema(version);
  if (!schema) schema = model_schema(kModelFormatVersion);  // a newer minor of the same major: validate as ours
  json::check_no_duplicate_keys(doc, source);
  try {
    json::validate(doc, schema, source);
  } catch (const Error& e) {
    if (parsed->minor <= current.minor) throw;
    throw Error(e.kind(), fmt::format("{} (the file is format {}, newer than {}: it may use constructs this library does not know)",
                                      e.what(), version, kModelFormatVersion));
  }
  auto functions = std::make_shared<FunctionTable>();
  if (auto fns = doc.FindMember("functions"); fns != doc.MemberEnd())
    for (auto it = fns->value.MemberBegin(); it != fns->value.MemberEnd(); ++it) {
      std::string path = json::child("functions", it->name.GetString());
      functions->add(parse_function(it->name.GetString(), it->value, source, path));
    }
  Reader reader{doc, source, options.allow_unknown_ops, functions->empty() ? nullptr : std::move(functions), {}, {}, {}, false};
  if (!options.allow_unknown_ops) reader.check_operators_known();
  reader.build_definitions();
  auto model = reader.build_body(doc, "");
  if (auto meta = doc.FindMember("metadata"); meta != doc.MemberEnd())
    for (auto it = meta->value.MemberBegin(); it != meta->value.MemberEnd(); ++it)
      model->set_metadata(it->name.GetString(), it->value.GetString());
  return model;
}

void save_model_json(const Model& model, const std::string& path) { write_file_atomic(path, to_dict(model)); }

std::shared_ptr<Model> load_model_json(const std::string& path) {
  return from_dict(read_file(path), path == "-" ? "<stdin>" : path);
}

}  // namespace mithril
