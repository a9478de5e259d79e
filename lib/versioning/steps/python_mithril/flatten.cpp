// The flattener of the python-mithril step (see flatten.h): every Python key is an edge;
// `connect` and reused names join edges (union-find); each library model instance emits its nodes.
#include "versioning/steps/python_mithril/flatten.h"

#include <algorithm>
#include <cctype>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

#include <fmt/format.h>

#include "core/error.h"
#include "graph/model.h"
#include "io/json_tensors.h"
#include "io/json_util.h"
#include "io/model_json.h"
#include "versioning/steps/python_mithril/library_models.h"

namespace mithril::versioning::python_mithril {
namespace {

struct Edge {
  int parent = -1;          // union-find; -1 for a root
  std::string name;         // the Python key name; empty when unnamed
  std::optional<std::string> value;  // explicit value (compact JSON)
  bool value_is_tensor = false;
  std::string value_path;
  std::optional<std::string> default_value;  // from a library key's default
  std::optional<bool> differentiable;
  bool library_differentiable = false;
  std::string first_key;    // the local key that created it, for naming unnamed keys
  std::string type_json;    // Python type annotation, if any
  std::optional<ValueInfo> shape;  // from assigned_shapes
  std::optional<std::vector<std::string>> shape_template;  // declared by the library model (KeyDef::shape)
  int template_instance = -1;                              // the instance that declared it
  int template_anchor = -1;  // or, in a composite (RNN cells), the key whose final name prefixes its symbols
  int producer = -1;        // the instance whose output it is
};


struct Instance {
  std::string model;  // canonical Python name
  std::string path;   // JSON path of its dict
  std::vector<KeyDef> keys;
  std::map<std::string, int> edges;  // key -> edge (inputs and "output")
  Emitter emit;
  bool canonical_output = true;  // its output is its model's canonical one (not LogisticRegression's probs_output)
};

// Lazily resolved connection: the child creates edges in its own key order, like Python does.
using Binding = std::function<int()>;

// ------------------------------------------------------------------ flattening

class Flattener {
 public:
  explicit Flattener(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw Error(ErrorKind::unsupported, fmt::format("{}: {}: {}", source_, path.empty() ? "(top level)" : path, what));
  }
  [[noreturn]] void bad(const std::string& path, const std::string& what) const {
    throw Error(ErrorKind::schema, fmt::format("{}: {}: {}", source_, path.empty() ? "(top level)" : path, what));
  }

  int find(int e) {
    while (edges_[static_cast<std::size_t>(e)].parent >= 0) e = edges_[static_cast<std::size_t>(e)].parent;
    return e;
  }
  Edge& edge(int e) { return edges_[static_cast<std::size_t>(find(e))]; }

  int new_edge(const std::string& name, const std::string& first_key) {
    Edge e;
    e.name = name;
    e.first_key = first_key;
    edges_.push_back(e);
    return static_cast<int>(edges_.size()) - 1;
  }

  void set_value(int e, const std::string& value, bool is_tensor, const std::string& path) {
    Edge& x = edge(e);
    if (x.value && *x.value != value) bad(path, "key already holds the value " + *x.value + ", got " + value);
    x.value = value;
    x.value_is_tensor = is_tensor;
    x.value_path = path;
  }

  // Joins two edges (Python merge_connections), keeping what each knew.
  int unite(int a, int b, const std::string& path) {
    a = find(a);
    b = find(b);
    if (a == b) return a;
    if (b < a) std::swap(a, b);  // the older edge survives, for stable naming
    Edge& x = edges_[static_cast<std::size_t>(a)];
    Edge y = edges_[static_cast<std::size_t>(b)];
    if (!x.name.empty() && !y.name.empty() && x.name != y.name)
      bad(path, "connects key '" + x.name + "' with key '" + y.name + "'");
    if (x.name.empty()) x.name = y.name;
    if (y.value) set_value(a, *y.value, y.value_is_tensor, y.value_path);
    if (!x.default_value) x.default_value = y.default_value;
    if (y.differentiable) x.differentiable = y.differentiable;
    x.library_differentiable = x.library_differentiable || y.library_differentiable;
    if (x.type_json.empty()) x.type_json = y.type_json;
    if (!x.shape) x.shape = y.shape;
    if (y.producer >= 0) {
      if (x.producer >= 0) bad(path, "joins the outputs of two models");
      x.producer = y.producer;
    }
    edges_[static_cast<std::size_t>(b)].parent = a;
    return a;
  }

  // Converts a Python connection value to a binding.
  Binding connection(const JValue& v, const std::string& key, const std::string& path, std::map<std::string, int>& ns,
                     const std::map<std::string, std::map<std::string, int>>& siblings, const std::set<std::string>& unnamed) {
    if (v.IsString()) {
      std::string s = v.GetString();
      if (auto c = python_constant(s)) {
        std::string value = *c;
        return [this, value, key, path] {
          int e = new_edge("", key);
          set_value(e, value, false, path);
          return e;
        };
      }
      if (is_python_constant_name(s)) fail(path, "unknown Python Mithril constant '" + s + "'");
      // A Dtype (an IntEnum written by str() as its number): the value of a dtype key (Cast's).
      if (is_dtype_value(s))
        return [this, value = "\"" + s + "\"", key, path] {
          int e = new_edge("", key);
          set_value(e, value, false, path);
          return e;
        };
      if (unnamed.count(s)) return [this, key] { return new_edge("", key); };
      return [this, s, key, &ns] { return named(ns, s, key); };
    }
    if (v.IsObject() && v.HasMember("tensor")) {
      std::string value = compact(v["tensor"]);
      if (v["tensor"].IsString()) {
        auto c = python_constant(v["tensor"].GetString());
        if (!c) fail(json::child(path, "tensor"), "unknown constant " + value);
        value = *c;
      }
      return [this, value, key, path] {
        int e = new_edge("", key);
        set_value(e, value, true, path);
        return e;
      };
    }
    if (v.IsObject() && v.HasMember("key")) {
      const JValue& k = v["key"];
      std::string kpath = json::child(path, "key");
      if (!k.IsObject()) bad(kpath, "expected an object, got " + json::describe(k));
      std::optional<int> joined;
      if (auto c = k.FindMember("connect"); c != k.MemberEnd()) {
        if (!c->value.IsArray() || c->value.Empty()) bad(json::child(kpath, "connect"), "expected a list of [submodel, key] pairs");
        for (rapidjson::SizeType i = 0; i < c->value.Size(); ++i) {
          const JValue& pair = c->value[i];
          std::string ppath = json::child(json::child(kpath, "connect"), i);
          if (!pair.IsArray() || pair.Size() != 2 || !pair[0].IsString() || !pair[1].IsString())
            bad(ppath, "expected [submodel id, key name], got " + compact(pair));
          auto sib = siblings.find(pair[0].GetString());
          if (sib == siblings.end())
            bad(ppath, std::string("no earlier submodel '") + pair[0].GetString() + "' to connect to");
          auto ke = sib->second.find(pair[1].GetString());
          if (ke == sib->second.end())
            bad(ppath, std::string("submodel '") + pair[0].GetString() + "' has no key '" + pair[1].GetString() + "'");
          joined = joined ? unite(*joined, ke->second, ppath) : find(ke->second);
        }
      }
      std::optional<std::string> name;
      if (auto n = k.FindMember("name"); n != k.MemberEnd() && !joined) {
        if (!n->value.IsString()) bad(json::child(kpath, "name"), "expected a string, got " + json::describe(n->value));
        name = n->value.GetString();
        if (unnamed.count(*name)) name.reset();
      } else if (auto n2 = k.FindMember("name"); n2 != k.MemberEnd() && joined && n2->value.IsString()) {
        // With connect, Python ignores name except for exposing; keep it as the edge's name.
        if (edge(*joined).name.empty()) edge(*joined).name = n2->value.GetString();
      }
      std::optional<std::string> value;
      bool value_is_tensor = false;
      if (auto val = k.FindMember("value"); val != k.MemberEnd()) {
        const JValue& x = val->value;
        if (x.IsObject() && x.HasMember("tensor")) {
          value = compact(x["tensor"]);
          value_is_tensor = true;
        } else if (x.IsString() && python_constant(x.GetString())) {
          value = python_constant(x.GetString());
        } else {
          value = compact(x);
        }
      }
      std::optional<bool> differentiable;
      if (auto d = k.FindMember("differentiable"); d != k.MemberEnd() && d->value.IsBool()) differentiable = d->value.GetBool();
      std::string type;
      if (auto t = k.FindMember("type"); t != k.MemberEnd()) type = compact(t->value);
      return [=, this, &ns] {
        int e = joined ? *joined : name ? named(ns, *name, key) : new_edge("", key);
        if (value) set_value(e, *value, value_is_tensor, json::child(kpath, "value"));
        if (differentiable) edge(e).differentiable = differentiable;
        if (!type.empty()) {
          edge(e).type_json = type;
          if (!name_of(e).empty()) key_types_[name_of(e)] = type;
        }
        return e;
      };
    }
    if (v.IsObject()) bad(path, "expected a key name, a value, {\"tensor\": ...} or {\"key\": {...}}, got an object");
    std::string value = compact(v);  // a number, bool, list or null: a non-tensor value
    return [this, value, key, path] {
      int e = new_edge("", key);
      set_value(e, value, false, path);
      return e;
    };
  }

  std::string name_of(int e) { return edge(e).name; }

  int named(std::map<std::string, int>& ns, const std::string& name, const std::string& key) {
    auto it = ns.find(name);
    if (it != ns.end()) return find(it->second);
    int e = new_edge(name, key);
    ns[name] = e;
    return e;
  }

  // Expands a model (dict or name) bound by `bindings`; returns its keys -> edges.
  std::map<std::string, int> expand(const JValue& model, const std::string& path, const std::map<std::string, Binding>& bindings,
                                    bool top = false) {
    std::string name;
    const JValue* args = nullptr;
    if (model.IsString()) {
      name = model.GetString();
    } else {
      if (!model.IsObject()) bad(path, "expected a model dict or a model name, got " + json::describe(model));
      if (model.HasMember("is_train_model"))
        fail(path, "a TrainModel dict (losses, regularizations) is not a model: migrate its \"model\" entry");
      auto n = model.FindMember("name");
      if (n == model.MemberEnd() || !n->value.IsString()) bad(path, "a model dict needs a \"name\" string");
      name = n->value.GetString();
      if (auto a = model.FindMember("args"); a != model.MemberEnd()) args = &a->value;
    }
    std::string canonical = *canonical_name(name);  // unknown names were refused up front
    std::map<std::string, int> keys;
    // A bare name has no submodels or connections: only library models can be given that way.
    if (canonical == "Model" && !model.IsObject())
      bad(path, "a composite model must be a dict with \"submodels\" and \"connections\", not the bare name " +
                    json::describe(model));
    bool table_entry = false;  // a library model of the table, not expanded by a function here
    if (canonical == "Model") keys = expand_container(model, path, bindings, top);
    else if (canonical == "Layer") keys = expand_layer(args, path, bindings);
    else if (canonical == "MLP") keys = expand_mlp(args, path, bindings);
    else if (canonical == "LogisticRegression") keys = expand_logistic_regression(path, bindings);
    else if (canonical == "PolynomialRegression") keys = expand_polynomial_regression(args, path, bindings);
    else if (canonical == "LinearSVM") keys = expand_linear_svm(path, bindings);
    else if (canonical == "KernelizedSVM") keys = expand_kernelized_svm(args, path, bindings);
    else if (canonical == "TSNE" || canonical == "MDS") keys = expand_distance_encoder(canonical, args, path, bindings);
    else if (canonical == "GaussProcessRegressionCore") keys = expand_gpr_core(path, bindings);
    else if (canonical == "RNNCell") keys = expand_rnn_cell(path, bindings);
    else if (canonical == "LSTMCell") keys = expand_lstm_cell(path, bindings);
    else if (canonical == "OneToMany") keys = expand_one_to_many(args, path, bindings);
    else if (canonical == "ManyToOne") keys = expand_many_to_one(args, path, bindings);
    else if (canonical == "EncoderDecoder") keys = expand_encoder_decoder(args, path, bindings);
    else {
      keys = expand_library(canonical, robust_if_exposed(model, canonical, args), path, bindings);
      table_entry = true;
    }
    // A Composite leaves its order for this call to take; the models inside took theirs.
    std::vector<std::string> composite_order = std::exchange(composite_order_, {});
    last_was_composite_ = !composite_order.empty();
    // Python's order of this model's keys: a library model's as its table lists them, a
    // Composite's as it made them, otherwise inputs then outputs, each in the order they were made.
    last_key_order_.clear();
    if (last_was_composite_) {
      last_key_order_ = std::move(composite_order);
    } else if (table_entry) {
      for (const KeyDef& k : instances_.back().keys) last_key_order_.push_back(k.name);
      last_key_order_.push_back("output");
    } else {
      std::vector<std::tuple<bool, int, std::string>> sorted;
      for (const auto& [k, e] : keys) sorted.emplace_back(edge(e).producer >= 0, find(e), k);
      std::sort(sorted.begin(), sorted.end());
      for (const auto& item : sorted) last_key_order_.push_back(std::get<2>(item));
    }
    if (model.IsObject()) apply_assignments(model, path, keys, top);
    return keys;
  }

  // model_to_dict drops the `robust` arg of Power, Sqrt and Log, but a robust one lists its
  // `threshold` key in its exposed_keys (Python's own reader then fails): read that as robust.
  const JValue* robust_if_exposed(const JValue& model, const std::string& canonical, const JValue* args) {
    if (!model.IsObject() || (canonical != "Power" && canonical != "Sqrt" && canonical != "Log") || arg(args, "robust"))
      return args;
    auto x = model.FindMember("exposed_keys");
    if (x == model.MemberEnd() || !x->value.IsArray()) return args;
    bool threshold = false;
    for (const auto& k : x->value.GetArray()) threshold = threshold || (k.IsString() && std::string(k.GetString()) == "threshold");
    if (!threshold) return args;
    auto& doc = synthesized_args_.emplace_back();
    doc.SetObject();
    if (args && args->IsObject()) doc.CopyFrom(*args, doc.GetAllocator());
    doc.AddMember("robust", true, doc.GetAllocator());
    return &doc;
  }

  std::map<std::string, int> expand_library(const std::string& name, const JValue* args, const std::string& path,
                                            const std::map<std::string, Binding>& bindings) {
    std::optional<LibraryModel> lib = library_model(name, args, path);
    Instance inst;
    inst.model = name;
    inst.path = path;
    inst.keys = lib->keys;
    inst.emit = lib->emit;
    int index = static_cast<int>(instances_.size());
    std::set<std::string> known;
    for (const KeyDef& k : inst.keys) known.insert(k.name);
    known.insert("output");
    for (const auto& [key, binding] : bindings)
      if (!known.count(key)) {
        std::string list;
        for (const KeyDef& k : inst.keys) list += k.name + ", ";
        bad(path, "model '" + name + "' has no key '" + key + "' (keys: " + list + "output)");
      }
    for (const KeyDef& k : inst.keys) {
      auto b = bindings.find(k.name);
      int e = b != bindings.end() ? b->second() : new_edge("", k.name);
      if (k.default_json && !edge(e).default_value) edge(e).default_value = k.default_json;
      if (k.differentiable) edge(e).library_differentiable = true;
      if (k.shape && !edge(e).shape_template) {
        edge(e).shape_template = k.shape;
        edge(e).template_instance = index;
      }
      inst.edges[k.name] = find(e);
    }
    auto b = bindings.find("output");
    int out = b != bindings.end() ? b->second() : new_edge("", "output");
    if (edge(out).producer >= 0) bad(path, "its output is connected to a key that another model already writes");
    if (edge(out).value) bad(path, "its output is connected to a key holding a value");
    edge(out).producer = index;
    inst.edges["output"] = find(out);
    instances_.push_back(std::move(inst));
    std::map<std::string, int> keys;
    for (const auto& [k, e] : instances_.back().edges) keys[k] = e;
    return keys;
  }

  std::map<std::string, int> expand_layer(const JValue* args, const std::string& path, const std::map<std::string, Binding>& bindings) {
    const JValue* activation = arg(args, "activation");
    if (!activation) bad(path, "Layer needs args.activation");
    for (const auto& [key, b] : bindings)
      if (key != "weight" && key != "input" && key != "bias" && key != "output")
        bad(path, "model 'Layer' has no key '" + key + "' (keys: weight, input, bias, output)");
    std::map<std::string, Binding> linear;
    for (const char* k : {"weight", "input", "bias"})
      if (auto b = bindings.find(k); b != bindings.end()) linear[k] = b->second;
    int hidden = new_edge("", "output");
    linear["output"] = [hidden] { return hidden; };
    auto keys = expand_library("Linear", args, path, linear);  // args.dimension is the Linear's
    std::map<std::string, Binding> act = {{"input", [this, hidden] { return find(hidden); }}};
    if (auto b = bindings.find("output"); b != bindings.end()) act["output"] = b->second;
    auto act_keys = expand(*activation, json::child(json::child(path, "args"), "activation"), act);
    keys["output"] = act_keys.at("output");
    return keys;
  }

  // LogisticRegression: Linear(dimension=1) to "output", and its sigmoid to "probs_output".
  std::map<std::string, int> expand_logistic_regression(const std::string& path, const std::map<std::string, Binding>& bindings) {
    std::map<std::string, Binding> linear, sigmoid;
    for (const auto& [key, b] : bindings) {
      if (key == "weight" || key == "input" || key == "bias" || key == "output") linear[key] = b;
      else if (key == "probs_output") sigmoid["output"] = b;
      else bad(path, "model 'LogisticRegression' has no key '" + key + "' (keys: input, weight, bias, output, probs_output)");
    }
    auto keys = expand_linear_of_width_one(path, linear);
    int out = keys.at("output");
    sigmoid["input"] = [this, out] { return find(out); };
    keys["probs_output"] = expand_library("Sigmoid", nullptr, path, sigmoid).at("output");
    instances_.back().canonical_output = false;  // its canonical output is the linear one
    return keys;
  }

  // A Linear(dimension=1) bound by `linear`, as LogisticRegression and the SVMs make it.
  std::map<std::string, int> expand_linear_of_width_one(const std::string& path, const std::map<std::string, Binding>& linear) {
    rapidjson::Document& args = synthesized_args_.emplace_back();
    args.SetObject();
    args.AddMember("dimension", 1, args.GetAllocator());
    return expand_library("Linear", &args, path, linear);
  }

  // LinearSVM: Linear(dimension=1) to "output" (its canonical output), its sign to "decision_output".
  std::map<std::string, int> expand_linear_svm(const std::string& path, const std::map<std::string, Binding>& bindings) {
    std::map<std::string, Binding> linear, sign;
    for (const auto& [key, b] : bindings) {
      if (key == "weight" || key == "input" || key == "bias" || key == "output") linear[key] = b;
      else if (key == "decision_output") sign["output"] = b;
      else bad(path, "model 'LinearSVM' has no key '" + key + "' (keys: weight, input, bias, output, decision_output)");
    }
    auto keys = expand_linear_of_width_one(path, linear);
    int out = keys.at("output");
    sign["input"] = [this, out] { return find(out); };
    keys["decision_output"] = expand_library("Sign", nullptr, path, sign).at("output");
    instances_.back().canonical_output = false;
    return keys;
  }

  // KernelizedSVM(kernel): the kernel model (args.kernel) on the SVM's keys named like the
  // kernel's inputs, its output exposed as "kernel", then Linear(dimension=1) of it to "output"
  // (Python declares weight [1, M] and bias [1]).
  std::map<std::string, int> expand_kernelized_svm(const JValue* args, const std::string& path,
                                                   const std::map<std::string, Binding>& bindings) {
    const JValue* kernel = arg(args, "kernel");
    if (!kernel) bad(path, "KernelizedSVM needs args.kernel (the kernel model)");
    std::map<std::string, Binding> kernel_bindings, linear;
    for (const auto& [key, b] : bindings) {
      if (key == "weight" || key == "bias" || key == "output") linear[key] = b;
      else if (key == "kernel") kernel_bindings["output"] = b;
      else kernel_bindings[key] = b;
    }
    auto kernel_keys = expand(*kernel, json::child(json::child(path, "args"), "kernel"), kernel_bindings);
    int k = kernel_keys.at("output");
    linear["input"] = [this, k] { return find(k); };
    auto keys = expand_linear_of_width_one(path, linear);
    keys.erase("input");  // the kernel's output, exposed as "kernel"
    for (const auto& [key, e] : kernel_keys)
      if (key != "output") keys[key] = e;
    keys["kernel"] = k;
    return keys;
  }

  // TSNE and MDS (Python's DistanceEncoder): the powered distances of the coordinates
  // (EncoderDistanceMatrix without its final root) as pred_distances of a TSNECore or MDSCore
  // whose distances are the input, or with input_type "points" the input's own powered
  // distances; the coordinates also come out as predicted_coords. MDS is MDSCore(exact_distances
  // = input_type == "distances") with the norm; TSNE's TSNECore reads p_joint (its dict does not
  // keep calculate_p_joint).
  std::map<std::string, int> expand_distance_encoder(const std::string& name, const JValue* args, const std::string& path,
                                                     const std::map<std::string, Binding>& bindings) {
    std::string input_type = "distances";
    if (const JValue* t = arg(args, "input_type"); t && t->IsString()) input_type = t->GetString();
    if (input_type != "distances" && input_type != "powered_distances" && input_type != "points")
      bad(json::child(json::child(path, "args"), "input_type"),
          "expected \"distances\", \"powered_distances\" or \"points\", got \"" + input_type + "\"");
    bool tsne = name == "TSNE";
    std::set<std::string> known = {"input", "coords", "norm", "predicted_coords", "output"};
    if (tsne) known.insert("p_joint");
    for (const auto& [key, b] : bindings)
      if (!known.count(key)) bad(path, "model '" + name + "' has no key '" + key + "'");
    auto bound = [&](const std::string& key) -> int {
      if (auto it = bindings.find(key); it != bindings.end()) return it->second();
      return new_edge("", key);
    };
    auto shared = [this](int e) -> Binding { return [this, e] { return find(e); }; };
    int input = bound("input"), coords = bound("coords"), norm = bound("norm");
    rapidjson::Document& matrix_args = synthesized_args_.emplace_back();
    matrix_args.SetObject();
    matrix_args.AddMember("get_final_distance", false, matrix_args.GetAllocator());
    auto powered_distances = [&](int points) {
      return expand_library("EncoderDistanceMatrix", &matrix_args, path,
                            {{"input1", shared(points)}, {"input2", shared(points)}, {"norm", shared(norm)}})
          .at("output");
    };
    int distances = input_type == "points" ? powered_distances(input) : input;
    int predicted = powered_distances(coords);
    rapidjson::Document& core_args = synthesized_args_.emplace_back();
    core_args.SetObject();
    core_args.AddMember("exact_distances", input_type == "distances", core_args.GetAllocator());
    std::map<std::string, Binding> core = {{"distances", shared(distances)}, {"pred_distances", shared(predicted)}};
    if (tsne) core["p_joint"] = [&bound] { return bound("p_joint"); };
    else core["norm"] = shared(norm);
    if (auto it = bindings.find("output"); it != bindings.end()) core["output"] = it->second;
    auto core_keys = expand_library(tsne ? "TSNECore" : "MDSCore", &core_args, path, core);
    std::map<std::string, Binding> buffer = {{"input", shared(coords)}};
    if (auto it = bindings.find("predicted_coords"); it != bindings.end()) buffer["output"] = it->second;
    int predicted_coords = expand_library("Buffer", nullptr, path, buffer).at("output");
    instances_.back().canonical_output = false;  // the loss is the canonical output
    std::map<std::string, int> keys = {{"input", find(input)}, {"coords", find(coords)}, {"norm", find(norm)},
                                       {"predicted_coords", predicted_coords}, {"output", core_keys.at("output")}};
    if (tsne) keys["p_joint"] = core_keys.at("p_joint");
    return keys;
  }

  // A composite library model built as Python's __init__ connects it, from library models on
  // edges: key() gives one of its keys (bound by the parent's connection, or new), model() adds an
  // inner model and binds its output to the composite's key `out` when the parent connects that
  // key. keys() is what expand() returns: every key it made, each at its joined edge.
  class Composite {
   public:
    Composite(Flattener& f, std::string name, std::string path, const std::map<std::string, Binding>& bindings,
              const std::vector<std::string>& names)
        : f_(f), name_(std::move(name)), path_(std::move(path)), bindings_(bindings) {
      std::string list;
      for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
      for (const auto& [key, b] : bindings)
        if (std::find(names.begin(), names.end(), key) == names.end())
          f_.bad(path_, "model '" + name_ + "' has no key '" + key + "' (keys: " + list + ")");
    }
    bool connected(const std::string& key) const { return bindings_.count(key) > 0; }
    // Makes the keys in this order (Python's key order, which [owner, index] references and the
    // auto-namer count in: inputs in the order made, outputs in the order exposed).
    void make_keys(const std::vector<std::string>& names) {
      for (const std::string& n : names) key(n);
    }
    // An input key holding a constant that only the hidden part of Python's model reads (the 0 of
    // an RNN cell's Indexer, its "$2"): nothing reads it here, but it takes its place in the order.
    void unread_constant(const std::string& name, const std::string& value_json) {
      order_.push_back(name);
      keys_[name] = f_.new_edge("", name);
      f_.set_value(keys_[name], value_json, false, path_);
    }
    int key(const std::string& key) {
      if (auto k = keys_.find(key); k != keys_.end()) return f_.find(k->second);
      auto it = bindings_.find(key);
      order_.push_back(key);
      return keys_[key] = it != bindings_.end() ? it->second() : f_.new_edge("", key);
    }
    // A trainable key with the shape Python declares for it: its symbols are shared by the keys
    // of this instance that name them (an RNN cell's d_hid), prefixed by the final name of the
    // instance's first templated key.
    int weight(const std::string& name, std::vector<std::string> shape) {
      int e = key(name);
      f_.edge(e).library_differentiable = true;
      if (!f_.edge(e).shape_template) {
        if (anchor_ < 0) anchor_ = e;
        f_.edge(e).shape_template = std::move(shape);
        f_.edge(e).template_anchor = anchor_;
      }
      return e;
    }
    int model(const std::string& name, const std::map<std::string, int>& inputs, const std::string& out = "",
              const JValue* args = nullptr) {
      std::map<std::string, std::string> outs;
      if (!out.empty()) outs["output"] = out;
      return sub([&](const std::map<std::string, Binding>& b) { return f_.expand_library(name, args, path_, b); }, inputs, outs)
          .at("output");
    }
    // An inner model made by `expand` (a library model, or another composite such as a cell) on
    // edges `inputs`; each of its keys in `outs` is this composite's key of the mapped name.
    std::map<std::string, int> sub(const std::function<std::map<std::string, int>(const std::map<std::string, Binding>&)>& expand,
                                   const std::map<std::string, int>& inputs, const std::map<std::string, std::string>& outs) {
      std::map<std::string, Binding> b;
      for (const auto& [key, e] : inputs) b[key] = [this, e = e] { return f_.find(e); };
      for (const auto& [key, out] : outs) {
        if (out.empty()) continue;
        if (keys_.count(out)) b[key] = [this, e = keys_.at(out)] { return f_.find(e); };
        else if (auto it = bindings_.find(out); it != bindings_.end()) b[key] = it->second;
      }
      std::map<std::string, int> made = expand(b);
      for (const auto& [key, out] : outs) {
        if (out.empty()) continue;
        if (!keys_.count(out)) order_.push_back(out);
        keys_[out] = made.at(key);
        outputs_.insert(out);
      }
      return made;
    }
    // The inner model made last computes a key that is not the composite's canonical output.
    void not_canonical() { f_.instances_.back().canonical_output = false; }
    // Also leaves Python's order of the keys, inputs then outputs, each in the order made, for
    // expand() (the auto-namer, [owner, index] references).
    std::map<std::string, int> keys() {
      for (auto& [key, e] : keys_) e = f_.find(e);
      f_.composite_order_.clear();
      for (bool outputs : {false, true})
        for (const std::string& k : order_)
          if (outputs_.count(k) == static_cast<std::size_t>(outputs)) f_.composite_order_.push_back(k);
      return keys_;
    }

   private:
    Flattener& f_;
    std::string name_, path_;
    const std::map<std::string, Binding>& bindings_;
    std::map<std::string, int> keys_;
    std::vector<std::string> order_;
    std::set<std::string> outputs_;
    int anchor_ = -1;
  };

  // GaussProcessRegressionCore, built as Python builds it: K_term = k + s * Eye(N=Size(dim=0)(k)),
  // L = Cholesky(K_term), alpha = GPRAlpha(label - mu, L, K_term), prediction = mu + k.T @ alpha
  // (its canonical output), and loss = GPRLoss(label, mu, L, K_term, alpha) and confidence = s +
  // |TransposedDiagonal(k_star - GPRVOuter(k, K_term, L))| when the dict connects them: Python
  // Mithril's snapshot names them inside but does not expose them, so its dicts give only the
  // prediction and its compile drops what only they use (k_star). Keys are made in Python's order.
  std::map<std::string, int> expand_gpr_core(const std::string& path, const std::map<std::string, Binding>& bindings) {
    Composite c(*this, "GaussProcessRegressionCore", path, bindings,
                {"label", "s", "k", "k_star", "mu", "loss", "prediction", "confidence"});
    rapidjson::Document& size_args = synthesized_args_.emplace_back();
    size_args.SetObject();
    size_args.AddMember("dim", 0, size_args.GetAllocator());
    int k = c.key("k");
    int eye = c.model("Eye", {{"N", c.model("Size", {{"input", k}}, "", &size_args)}});
    int s = c.key("s");
    int k_term = c.model("Add", {{"left", k}, {"right", c.model("Multiply", {{"left", s}, {"right", eye}})}});
    int l = c.model("Cholesky", {{"input", k_term}});
    int label = c.key("label"), mu = c.key("mu");
    int alpha = c.model("GPRAlpha", {{"label_mu_diff", c.model("Subtract", {{"left", label}, {"right", mu}})}, {"L", l}, {"K_term", k_term}});
    if (c.connected("loss")) {
      c.model("GPRLoss", {{"labels", label}, {"mu", mu}, {"L", l}, {"K_term", k_term}, {"alpha", alpha}}, "loss");
      c.not_canonical();
    }
    int dot = c.model("MatrixMultiply", {{"left", c.model("Transpose", {{"input", k}})}, {"right", alpha}});
    c.model("Add", {{"left", mu}, {"right", dot}}, "prediction");
    if (c.connected("confidence")) {
      int v_outer = c.model("GPRVOuter", {{"K", k}, {"L", l}, {"K_term", k_term}});
      int k_star = c.key("k_star");
      int diagonal = c.model("TransposedDiagonal", {{"input", c.model("Subtract", {{"left", k_star}, {"right", v_outer}})}});
      c.model("Add", {{"left", s}, {"right", c.model("Absolute", {{"input", diagonal}})}}, "confidence");
      c.not_canonical();
    } else if (c.connected("k_star")) {
      c.key("k_star");
    }
    return c.keys();
  }

  // RNNCell, as Python builds it: with N = len(input), hidden_compl = prev_hidden[N:], hidden =
  // tanh(prev_hidden[:N] @ w_hh.T + input @ w_ih.T + bias_h), output = hidden @ w_ho.T + bias_o
  // (its canonical output). Keys in the order Python makes them.
  // Without `projection` (EncoderDecoder's encoder, whose outputs nothing reads) it stops at hidden.
  std::map<std::string, int> expand_rnn_cell(const std::string& path, const std::map<std::string, Binding>& bindings,
                                             bool projection = true) {
    Composite c(*this, "RNNCell", path, bindings,
                {"input", "prev_hidden", "w_ih", "w_hh", "w_ho", "bias_h", "bias_o", "hidden", "hidden_compl", "output"});
    int input = c.key("input");
    c.unread_constant("$2", "0");
    int prev_hidden = c.key("prev_hidden");
    c.make_keys({"output", "hidden", "hidden_compl"});
    c.model(kCutAfter, {{"input", prev_hidden}, {"like", input}}, "hidden_compl");
    c.not_canonical();
    int kept = c.model(kCutBefore, {{"input", prev_hidden}, {"like", input}});
    int w_hh = c.weight("w_hh", {"d_hid", "d_hid"});
    int w_ih = c.weight("w_ih", {"d_hid", "d_in"});
    int recurrent = c.model("Linear", {{"input", kept}, {"weight", w_hh}}, "", no_bias());
    int fed = c.model("Linear", {{"input", input}, {"weight", w_ih}}, "", no_bias());
    int sum = c.model("Add", {{"left", recurrent}, {"right", fed}});
    int biased = c.model("Add", {{"left", sum}, {"right", c.weight("bias_h", {"d_hid"})}});
    int hidden = c.model("Tanh", {{"input", biased}}, "hidden");
    if (!projection) return c.keys();
    int w_ho = c.weight("w_ho", {"d_out", "d_hid"});
    int projected = c.model("Linear", {{"input", hidden}, {"weight", w_ho}}, "", no_bias());
    c.model("Add", {{"left", projected}, {"right", c.weight("bias_o", {"d_out"})}}, "output");
    return c.keys();
  }

  // LSTMCell, as Python builds it: with N = len(input), LSTMCellBody of input, prev_hidden[:N] and
  // prev_cell[:N] gives [cell; hidden] on axis 0, cut at N into cell and hidden; hidden_compl =
  // prev_hidden[N:]; output = hidden @ w_out.T + bias_out (its canonical output).
  std::map<std::string, int> expand_lstm_cell(const std::string& path, const std::map<std::string, Binding>& bindings,
                                              bool projection = true) {
    const std::vector<std::string> names = {"input", "prev_hidden", "prev_cell", "w_i", "w_f", "w_c", "w_o", "w_out", "bias_f",
                                            "bias_i", "bias_c", "bias_o", "bias_out", "hidden", "cell", "hidden_compl", "output"};
    Composite c(*this, "LSTMCell", path, bindings, names);
    int input = c.key("input");
    c.unread_constant("$2", "0");
    int prev_cell = c.model(kCutBefore, {{"input", c.key("prev_cell")}, {"like", input}});
    int prev_hidden = c.model(kCutBefore, {{"input", c.key("prev_hidden")}, {"like", input}});
    std::map<std::string, int> body = {{"input", input}, {"prev_hidden", prev_hidden}, {"prev_cell", prev_cell}};
    for (const char* g : {"w_f", "bias_f", "w_i", "bias_i", "w_c", "bias_c", "w_o", "bias_o"})
      body[g] = c.key(g);  // LSTMCellBody declares their shapes
    int joined = c.model("LSTMCellBody", body);
    int hidden = c.model(kCutAfter, {{"input", joined}, {"like", input}}, "hidden");
    c.model(kCutBefore, {{"input", joined}, {"like", input}}, "cell");
    c.not_canonical();
    c.model(kCutAfter, {{"input", c.key("prev_hidden")}, {"like", input}}, "hidden_compl");
    c.not_canonical();
    if (!projection) return c.keys();
    int w_out = c.weight("w_out", {"d_out", "d_hid"});
    c.model("Linear", {{"input", hidden}, {"weight", w_out}, {"bias", c.weight("bias_out", {"d_out"})}}, "output");
    return c.keys();
  }

  // The cell an RNN model repeats (args.cell_type: a cell's name, or its dict, as Python's
  // dict_to_model reads it) with the keys its steps share and its state keys (Python's
  // shared_keys and state_keys).
  struct CellType {
    std::string name;
    std::vector<std::string> shared, states;
    std::set<std::string> projection_keys;  // the shared keys only its output projection reads
  };

  CellType cell_type(const JValue* args, const std::string& path) {
    const JValue* c = arg(args, "cell_type");
    std::string where = json::child(json::child(path, "args"), "cell_type");
    if (!c) bad(path, "needs args.cell_type (RNNCell or LSTMCell)");
    std::string name;
    if (c->IsString()) name = c->GetString();
    else if (c->IsObject() && c->HasMember("name") && (*c)["name"].IsString()) name = (*c)["name"].GetString();
    else bad(where, "expected a cell's name or dict, got " + json::describe(*c));
    std::optional<std::string> canonical = canonical_name(name);
    if (canonical == "RNNCell") return {"RNNCell", {"w_ih", "w_hh", "w_ho", "bias_h", "bias_o"}, {"hidden"}, {"w_ho", "bias_o"}};
    if (canonical == "LSTMCell")
      return {"LSTMCell", {"w_i", "w_f", "w_c", "w_o", "w_out", "bias_f", "bias_i", "bias_c", "bias_o", "bias_out"}, {"hidden", "cell"},
              {"w_out", "bias_out"}};
    bad(where, "expected RNNCell or LSTMCell, got '" + name + "'");
  }

  // The steps an RNN model unrolls. Each is some 40 nodes made from a few bytes of the dict, so
  // the count is bounded (about 2 ms a step): a small file cannot ask for millions of nodes.
  int64_t sequence_length(const JValue* args, const char* name, const std::string& path, int64_t least) {
    constexpr int64_t kMostSteps = 1024;
    const JValue* v = arg(args, name);
    if (!v || !v->IsInt64() || v->GetInt64() < least || v->GetInt64() > kMostSteps)
      bad(json::child(json::child(path, "args"), name),
          fmt::format("expected an integer from {} to {}, got {}", least, kMostSteps, v ? json::describe(*v) : "nothing"));
    return v->GetInt64();
  }

  // args.teacher_forcing (default false).
  bool teacher_forcing(const JValue* args, const std::string& path) {
    const JValue* teacher = arg(args, "teacher_forcing");
    if (teacher && !teacher->IsBool()) bad(json::child(json::child(path, "args"), "teacher_forcing"), "expected true or false");
    return teacher && teacher->GetBool();
  }

  // One step of `cell` in composite `c`: its input, the shared keys, its previous states, its output
  // bound to the composite's key `out`. Returns the step's keys.
  // An empty `out`: the step has no output projection (its shared keys only it reads are not made).
  std::map<std::string, int> rnn_step(Composite& c, const CellType& cell, const std::string& path, int input,
                                      const std::map<std::string, int>& states, const std::string& out) {
    bool projection = !out.empty();
    std::map<std::string, int> inputs = {{"input", input}};
    for (const std::string& k : cell.shared)
      if (projection || !cell.projection_keys.count(k)) inputs[k] = c.key(k);
    for (const auto& [s, e] : states) inputs["prev_" + s] = e;
    std::map<std::string, std::string> outs;
    if (projection) outs["output"] = out;
    return c.sub([&](const std::map<std::string, Binding>& b) {
      return cell.name == "RNNCell" ? expand_rnn_cell(path, b, projection) : expand_lstm_cell(path, b, projection);
    }, inputs, outs);
  }

  // Python's OneToMany(cell_type, max_sequence_length, teacher_forcing): step 0 reads `input` and
  // the initial states; step i reads step i-1's output (or with teacher forcing target{i-1}) cut
  // to len(target{i}), and step i-1's states; output{i} is step i's output. Targets are read for
  // their batch sizes only (with teacher forcing target0.. also as inputs).
  std::map<std::string, int> expand_one_to_many(const JValue* args, const std::string& path, const std::map<std::string, Binding>& bindings) {
    CellType cell = cell_type(args, path);
    int64_t length = sequence_length(args, "max_sequence_length", path, 1);
    bool forcing = teacher_forcing(args, path);
    std::vector<std::string> names = {"input"};
    for (const std::string& k : cell.shared) names.push_back(k);
    for (const std::string& s : cell.states) names.push_back("initial_" + s);
    for (int64_t i = 0; i < length; ++i) {
      if (i > 0 || (forcing && length > 1)) names.push_back(fmt::format("target{}", i));
      names.push_back(fmt::format("output{}", i));
    }
    Composite c(*this, "OneToMany", path, bindings, names);
    std::map<std::string, int> states;
    for (const std::string& s : cell.states) states[s] = c.key("initial_" + s);
    std::map<std::string, int> step = rnn_step(c, cell, path, c.key("input"), states, "output0");
    for (int64_t i = 1; i < length; ++i) {
      int like = c.key(fmt::format("target{}", i));
      int source = forcing ? c.key(fmt::format("target{}", i - 1)) : step.at("output");
      int input = c.model(kCutBefore, {{"input", source}, {"like", like}});
      for (const std::string& s : cell.states) states[s] = step.at(s);
      step = rnn_step(c, cell, path, input, states, fmt::format("output{}", i));
    }
    return c.keys();
  }

  // Python's ManyToOne(cell_type, max_sequence_length): step i reads input{i} and step i-1's states
  // (step 0 the initial ones), output{i} its output; hidden_concat (the canonical output) joins on
  // axis 0 the hidden_compl of steps 1..n-2, then the last step's hidden and hidden_compl: every
  // sequence's last hidden state when the batches shrink step by step.
  std::map<std::string, int> expand_many_to_one(const JValue* args, const std::string& path, const std::map<std::string, Binding>& bindings) {
    CellType cell = cell_type(args, path);
    // With one step Python's Concat gets an empty list and fails.
    int64_t length = sequence_length(args, "max_sequence_length", path, 2);
    std::vector<std::string> names = {"hidden_concat"};
    for (const std::string& k : cell.shared) names.push_back(k);
    for (const std::string& s : cell.states) names.push_back("initial_" + s);
    for (int64_t i = 0; i < length; ++i) {
      names.push_back(fmt::format("input{}", i));
      names.push_back(fmt::format("output{}", i));
    }
    Composite c(*this, "ManyToOne", path, bindings, names);
    encode(c, cell, path, length, true, "hidden_concat");
    return c.keys();
  }

  // ManyToOne's steps in composite `c` (with `outputs`, each step's output{i}; without, the steps
  // stop at their states) and its hidden_concat, bound to the composite's key `out`.
  int encode(Composite& c, const CellType& cell, const std::string& path, int64_t length, bool outputs, const std::string& out) {
    std::map<std::string, int> states;
    for (const std::string& s : cell.states) states[s] = c.key("initial_" + s);
    std::vector<int> joined;
    for (int64_t i = 0; i < length; ++i) {
      std::map<std::string, int> step =
          rnn_step(c, cell, path, c.key(fmt::format("input{}", i)), states, outputs ? fmt::format("output{}", i) : "");
      c.not_canonical();  // hidden_concat is
      for (const std::string& s : cell.states) states[s] = step.at(s);
      if (i == length - 1) joined.push_back(step.at("hidden"));
      if (i > 0) joined.push_back(step.at("hidden_compl"));
    }
    return join_rows(c, joined, out);
  }

  // Python's EncoderDecoder(cell_type, max_input_sequence_length, max_target_sequence_length,
  // teacher_forcing): a ManyToOne encoder on input0.., the shared keys and initial states under
  // their names; its hidden_concat permuted by `indices` (PermuteTensor) is the initial hidden
  // state of a OneToMany decoder whose other keys are decoder_<name> (targets and outputs keep
  // theirs). The outputs are the decoder's; the encoder's own outputs are not computed (Python's
  // compile drops them: nothing reads them).
  std::map<std::string, int> expand_encoder_decoder(const JValue* args, const std::string& path,
                                                    const std::map<std::string, Binding>& bindings) {
    CellType cell = cell_type(args, path);
    int64_t in_length = sequence_length(args, "max_input_sequence_length", path, 2);
    int64_t out_length = sequence_length(args, "max_target_sequence_length", path, 1);
    bool forcing = teacher_forcing(args, path);
    std::vector<std::string> names = {"indices", "decoder_input"};
    for (const std::string& k : cell.shared) {
      names.push_back(k);
      names.push_back("decoder_" + k);
    }
    for (const std::string& s : cell.states) {
      names.push_back("initial_" + s);
      if (s != "hidden") names.push_back("decoder_initial_" + s);
    }
    for (int64_t i = 0; i < in_length; ++i) names.push_back(fmt::format("input{}", i));
    for (int64_t i = 0; i < out_length; ++i) {
      if (i > 0 || (forcing && out_length > 1)) names.push_back(fmt::format("target{}", i));
      names.push_back(fmt::format("output{}", i));
    }
    Composite c(*this, "EncoderDecoder", path, bindings, names);
    // The encoder, without its outputs' projection: hidden_concat only.
    int concat = encode(c, cell, path, in_length, false, "");
    c.not_canonical();
    int permuted = c.model("PermuteTensor", {{"input", concat}, {"indices", c.key("indices")}});
    c.not_canonical();
    // The decoder: a OneToMany on the decoder_ keys.
    rapidjson::Document& decoder_args = synthesized_args_.emplace_back();
    decoder_args.SetObject();
    auto& alloc = decoder_args.GetAllocator();
    decoder_args.AddMember("cell_type", JValue(*arg(args, "cell_type"), alloc), alloc);
    decoder_args.AddMember("max_sequence_length", out_length, alloc);
    decoder_args.AddMember("teacher_forcing", forcing, alloc);
    std::map<std::string, int> inputs = {{"input", c.key("decoder_input")}, {"initial_hidden", permuted}};
    for (const std::string& k : cell.shared) inputs[k] = c.key("decoder_" + k);
    for (const std::string& s : cell.states)
      if (s != "hidden") inputs["initial_" + s] = c.key("decoder_initial_" + s);
    std::map<std::string, std::string> outs;
    for (int64_t i = 0; i < out_length; ++i) {
      if (i > 0 || (forcing && out_length > 1)) inputs[fmt::format("target{}", i)] = c.key(fmt::format("target{}", i));
      outs[fmt::format("output{}", i)] = fmt::format("output{}", i);
    }
    c.sub([&](const std::map<std::string, Binding>& b) { return expand_one_to_many(&decoder_args, path, b); }, inputs, outs);
    return c.keys();
  }

  // A concat on axis 0 of `parts` (ManyToOne's hidden_concat), its output the composite's key `out`.
  int join_rows(Composite& c, const std::vector<int>& parts, const std::string& out) {
    rapidjson::Document& join_args = synthesized_args_.emplace_back();
    join_args.SetObject();
    join_args.AddMember("count", static_cast<int64_t>(parts.size()), join_args.GetAllocator());
    std::map<std::string, int> inputs;
    for (std::size_t i = 0; i < parts.size(); ++i) inputs[fmt::format("input{}", i)] = parts[i];
    return c.model(kJoinRows, inputs, out, &join_args);
  }

  // Args of a Linear without bias.
  const JValue* no_bias() {
    rapidjson::Document& args = synthesized_args_.emplace_back();
    args.SetObject();
    args.AddMember("use_bias", false, args.GetAllocator());
    return &args;
  }

  // PolynomialRegression: PolynomialFeatures(degree) of the input, then Linear(dimension).
  std::map<std::string, int> expand_polynomial_regression(const JValue* args, const std::string& path,
                                                          const std::map<std::string, Binding>& bindings) {
    std::map<std::string, Binding> features, linear;
    for (const auto& [key, b] : bindings) {
      if (key == "input") features[key] = b;
      else if (key == "weight" || key == "bias" || key == "output") linear[key] = b;
      else bad(path, "model 'PolynomialRegression' has no key '" + key + "' (keys: input, weight, bias, output)");
    }
    rapidjson::Document& feature_args = synthesized_args_.emplace_back();
    feature_args.SetObject();
    if (const JValue* degree = arg(args, "degree")) feature_args.AddMember("degree", JValue(*degree, feature_args.GetAllocator()), feature_args.GetAllocator());
    std::map<std::string, int> keys = expand_library("PolynomialFeatures", &feature_args, path, features);
    int poly = keys.at("output");
    linear["input"] = [this, poly] { return find(poly); };
    std::map<std::string, int> lk = expand_library("Linear", args, path, linear);  // args.dimension is the Linear's
    return {{"input", keys.at("input")}, {"weight", lk.at("weight")}, {"bias", lk.at("bias")}, {"output", lk.at("output")}};
  }

  std::map<std::string, int> expand_mlp(const JValue* args, const std::string& path, const std::map<std::string, Binding>& bindings) {
    const JValue* activations = arg(args, "activations");
    const JValue* dimensions = arg(args, "dimensions");
    if (!activations || !activations->IsArray()) bad(path, "MLP needs args.activations (a list)");
    // Without a layer the MLP would have no input and no output to connect.
    if (activations->Empty()) bad(path, "MLP needs at least one layer: args.activations is empty");
    if (dimensions && dimensions->IsArray() && dimensions->Size() != activations->Size())
      bad(path, "MLP: args.activations and args.dimensions differ in length");
    std::string w = "weight", b = "bias";
    if (const JValue* t = arg(args, "input_name_templates"); t && t->IsObject()) {
      if (t->HasMember("weight") && (*t)["weight"].IsString()) w = (*t)["weight"].GetString();
      if (t->HasMember("bias") && (*t)["bias"].IsString()) b = (*t)["bias"].GetString();
    }
    std::set<std::string> known = {"input", "output"};
    for (rapidjson::SizeType i = 0; i < activations->Size(); ++i) {
      known.insert(w + std::to_string(i));
      known.insert(b + std::to_string(i));
    }
    for (const auto& [key, binding] : bindings)
      if (!known.count(key)) bad(path, "model 'MLP' has no key '" + key + "'");
    std::map<std::string, int> keys;
    int previous = -1;
    for (rapidjson::SizeType i = 0; i < activations->Size(); ++i) {
      std::string wi = w + std::to_string(i), bi = b + std::to_string(i);
      std::map<std::string, Binding> layer;
      auto bound = [&](const std::string& key) -> Binding {
        if (auto it = bindings.find(key); it != bindings.end()) return it->second;
        return [this, key] { return new_edge("", key); };
      };
      layer["weight"] = bound(wi);
      if (i == 0) layer["input"] = bound("input");
      else layer["input"] = [this, previous] { return find(previous); };
      layer["bias"] = bound(bi);
      if (i + 1 == activations->Size() && bindings.count("output")) layer["output"] = bindings.at("output");
      std::map<std::string, Binding> layer_bindings = layer;
      std::map<std::string, int> lk;
      {
        // A Layer: Linear then the activation.
        rapidjson::Document args_doc;
        args_doc.SetObject();
        JValue act_copy((*activations)[i], args_doc.GetAllocator());
        args_doc.AddMember("activation", act_copy, args_doc.GetAllocator());
        // The layer's width, and its input width (the previous layer's), for the weight shapes.
        if (dimensions && dimensions->IsArray()) {
          if ((*dimensions)[i].IsInt64()) args_doc.AddMember("dimension", (*dimensions)[i].GetInt64(), args_doc.GetAllocator());
          if (i > 0 && (*dimensions)[i - 1].IsInt64())
            args_doc.AddMember("in_dimension", (*dimensions)[i - 1].GetInt64(), args_doc.GetAllocator());
        }
        lk = expand_layer(&args_doc, json::child(json::child(json::child(path, "args"), "activations"), i), layer_bindings);
      }
      keys[wi] = lk.at("weight");
      keys[bi] = lk.at("bias");
      if (i == 0) keys["input"] = lk.at("input");
      previous = lk.at("output");
    }
    if (previous >= 0) keys["output"] = previous;
    return keys;
  }

  std::map<std::string, int> expand_container(const JValue& model, const std::string& path,
                                              const std::map<std::string, Binding>& bindings, bool top) {
    std::map<std::string, int>& ns = namespaces_.emplace_back();
    // The parent's connections name this model's keys: they join the parent's edges.
    for (const auto& [key, binding] : bindings) ns[key] = binding();
    std::set<std::string> unnamed;
    if (auto u = model.FindMember("unnamed_keys"); u != model.MemberEnd() && u->value.IsArray())
      for (const auto& s : u->value.GetArray())
        if (s.IsString()) unnamed.insert(s.GetString());
    auto subs = model.FindMember("submodels");
    auto conns = model.FindMember("connections");
    std::map<std::string, std::map<std::string, int>> siblings;
    if (subs != model.MemberEnd()) {
      if (!subs->value.IsObject()) bad(json::child(path, "submodels"), "expected an object of submodels by id");
      if (conns != model.MemberEnd()) {
        if (!conns->value.IsObject()) bad(json::child(path, "connections"), "expected an object of connections by submodel id");
        for (auto c = conns->value.MemberBegin(); c != conns->value.MemberEnd(); ++c)
          if (!subs->value.HasMember(c->name))
            bad(json::child(json::child(path, "connections"), c->name.GetString()), "no submodel with this id");
      }
      for (auto s = subs->value.MemberBegin(); s != subs->value.MemberEnd(); ++s) {
        std::string id = s->name.GetString();
        std::string spath = json::child(json::child(path, "submodels"), id);
        std::map<std::string, Binding> sub_bindings;
        if (conns != model.MemberEnd() && conns->value.HasMember(s->name)) {
          const JValue& c = conns->value[s->name];
          std::string cpath = json::child(json::child(path, "connections"), id);
          if (!c.IsObject()) bad(cpath, "expected an object of key connections");
          for (auto k = c.MemberBegin(); k != c.MemberEnd(); ++k)
            sub_bindings[k->name.GetString()] =
                connection(k->value, k->name.GetString(), json::child(cpath, k->name.GetString()), ns, siblings, unnamed);
        }
        siblings[id] = expand(s->value, spath, sub_bindings);
        if (last_was_composite_) container_sibling_orders_[&model][id] = last_key_order_;
        if (top) number_auto_keys(siblings[id], conns != model.MemberEnd() ? &conns->value : nullptr, s->name, unnamed);
      }
    }
    std::map<std::string, int> keys;
    for (const auto& [name, e] : ns) keys[name] = find(e);
    container_siblings_[&model] = siblings;
    if (top) {
      if (auto x = model.FindMember("exposed_keys"); x != model.MemberEnd()) {
        if (!x->value.IsArray()) bad(json::child(path, "exposed_keys"), "expected a list of key names");
        for (rapidjson::SizeType i = 0; i < x->value.Size(); ++i) {
          const JValue& k = x->value[i];
          if (!k.IsString()) bad(json::child(json::child(path, "exposed_keys"), i), "expected a key name");
          std::optional<int> e;
          if (auto it = keys.find(k.GetString()); it != keys.end()) e = it->second;
          else if (auto a = auto_keys_.find(k.GetString()); a != auto_keys_.end()) e = a->second;
          if (!e) bad(json::child(json::child(path, "exposed_keys"), i), std::string("no key named '") + k.GetString() + "'");
          // An auto-named key ("$3") is an unnamed constant given in a connection (it stays one)
          // or an unnamed output; anything else means the numbering went wrong.
          if (k.GetString()[0] == '$' && edge(*e).producer < 0 && !edge(*e).value)
            bad(json::child(json::child(path, "exposed_keys"), i),
                std::string("auto-named key '") + k.GetString() + "' resolves to an input without a value");
          exposed_.emplace_back(k.GetString(), *e);
        }
      }
    }
    return keys;
  }

  // Python's auto-namer: the top model gives each submodel key that its connection does not name
  // (or join to an earlier key) a new key "$1", "$2"..., submodels in order. Within a submodel,
  // the keys its connection gives a value come first (Python names them as it connects them),
  // then those the connection does not mention, each group in Python's key order (inputs, then
  // output). exposed_keys refers to unnamed constants by these names.
  void number_auto_keys(const std::map<std::string, int>& child, const JValue* connections, const JValue& id,
                        const std::set<std::string>& unnamed) {
    const JValue* conns = connections && connections->HasMember(id) ? &(*connections)[id] : nullptr;
    for (bool given_pass : {true, false})
      for (const std::string& key : last_key_order_) {
        auto e = child.find(key);
        if (e == child.end()) continue;
        const JValue* c = conns && conns->IsObject() && conns->HasMember(key.c_str()) ? &(*conns)[key.c_str()] : nullptr;
        if ((c != nullptr) != given_pass) continue;
        bool joined = false;
        if (c && c->IsString())
          joined = !python_constant(c->GetString()) && !is_dtype_value(c->GetString()) && !unnamed.count(c->GetString());
        if (c && c->IsObject() && c->HasMember("key") && (*c)["key"].IsObject()) {
          const JValue& k = (*c)["key"];
          joined = k.HasMember("connect") || (k.HasMember("name") && k["name"].IsString() && !unnamed.count(k["name"].GetString()));
        }
        if (!joined) auto_keys_["$" + std::to_string(auto_keys_.size() + 1)] = e->second;
      }
  }

  // A keyref of assigned_*: a key name, or [owner, index into owner's external keys].
  int keyref(const JValue& ref, const std::string& path, const std::map<std::string, int>& keys, const JValue& model) {
    if (ref.IsString()) {
      auto it = keys.find(ref.GetString());
      if (it == keys.end()) bad(path, std::string("no key named '") + ref.GetString() + "'");
      return it->second;
    }
    if (ref.IsArray() && ref.Size() == 2 && ref[0].IsString() && ref[1].IsInt64()) {
      std::string owner = ref[0].GetString();
      int64_t index = ref[1].GetInt64();
      if (owner != "self") {
        auto sib = container_siblings_.find(&model);
        if (sib != container_siblings_.end()) {
          auto s = sib->second.find(owner);
          if (s != sib->second.end()) {
            // A Composite's keys in Python's order; any other model's inputs then outputs.
            std::vector<int> external;
            if (auto o = container_sibling_orders_[&model].find(owner); o != container_sibling_orders_[&model].end())
              for (const std::string& k : o->second) external.push_back(find(s->second.at(k)));
            else
              external = external_keys(s->second);
            if (index >= 0 && index < static_cast<int64_t>(external.size())) return external[static_cast<std::size_t>(index)];
          }
        }
      } else {
        std::vector<int> external = external_keys(keys);
        if (index >= 0 && index < static_cast<int64_t>(external.size())) return external[static_cast<std::size_t>(index)];
      }
      bad(path, "cannot resolve key reference " + compact(ref));
    }
    bad(path, "expected a key name or [owner, index], got " + compact(ref));
  }

  // Inputs (in first-use order) then outputs of a model's key map.
  std::vector<int> external_keys(const std::map<std::string, int>& keys) {
    std::vector<std::pair<int, int>> ins, outs;
    for (const auto& [k, e] : keys) {
      int root = find(e);
      (edge(root).producer >= 0 ? outs : ins).emplace_back(root, root);
    }
    std::sort(ins.begin(), ins.end());
    std::sort(outs.begin(), outs.end());
    std::vector<int> out;
    for (auto& p : ins) out.push_back(p.second);
    for (auto& p : outs) out.push_back(p.second);
    return out;
  }

  void apply_assignments(const JValue& model, const std::string& path, const std::map<std::string, int>& keys, bool top) {
    auto section = [&](const char* name) -> const JValue* {
      auto it = model.FindMember(name);
      if (it == model.MemberEnd()) return nullptr;
      if (!it->value.IsArray()) bad(json::child(path, name), "expected a list");
      if (!it->value.Empty()) metadata_lists_[name].push_back(compact(it->value));
      return &it->value;
    };
    if (const JValue* d = section("assigned_differentiabilities"))
      for (rapidjson::SizeType i = 0; i < d->Size(); ++i) {
        const JValue& item = (*d)[i];
        std::string ipath = json::child(json::child(path, "assigned_differentiabilities"), i);
        if (!item.IsArray() || item.Size() != 2 || !item[1].IsBool()) bad(ipath, "expected [key, true|false]");
        edge(keyref(item[0], ipath, keys, model)).differentiable = item[1].GetBool();
      }
    if (const JValue* t = section("assigned_types"))
      for (rapidjson::SizeType i = 0; i < t->Size(); ++i) {
        const JValue& item = (*t)[i];
        std::string ipath = json::child(json::child(path, "assigned_types"), i);
        if (!item.IsArray() || item.Size() != 2) bad(ipath, "expected [key, type]");
        edge(keyref(item[0], ipath, keys, model)).type_json = compact(item[1]);
      }
    if (const JValue* s = section("assigned_shapes"))
      for (rapidjson::SizeType g = 0; g < s->Size(); ++g) {
        const JValue& group = (*s)[g];
        std::string gpath = json::child(json::child(path, "assigned_shapes"), g);
        if (!group.IsArray()) bad(gpath, "expected a list of [key, shape] pairs");
        for (rapidjson::SizeType i = 0; i < group.Size(); ++i) {
          const JValue& item = group[i];
          std::string ipath = json::child(gpath, i);
          if (!item.IsArray() || item.Size() != 2 || !item[1].IsArray()) bad(ipath, "expected [key, shape]");
          int e = keyref(item[0], ipath, keys, model);
          ValueInfo info;
          bool variadic = false;
          for (const auto& d : item[1].GetArray()) {
            if (d.IsInt64() && d.GetInt64() >= 0) info.shape.push_back(Dim::known(d.GetInt64()));
            else if (d.IsNull()) info.shape.push_back(Dim::any());
            else if (d.IsString()) {
              std::string sym = d.GetString();
              if (sym.find("...") != std::string::npos) variadic = true;
              else {
                // Symbols are shared within one set_shapes group only: a name reused by a later
                // group is another symbol, so it gets the group's number.
                std::string id = identifier(sym);
                auto [it, fresh] = symbol_group_.emplace(id, shape_group_);
                info.shape.push_back(Dim::named(fresh || it->second == shape_group_ ? id : id + "_" + std::to_string(shape_group_)));
              }
            } else bad(ipath, "unsupported shape entry " + compact(d));
          }
          if (!variadic) edge(e).shape = info;  // a variadic ("V,...") shape is kept as metadata only
        }
        ++shape_group_;
      }
    for (const char* name : {"assigned_constraints", "assigned_cins", "assigned_couts"}) section(name);
    (void)top;
    if (auto x = model.FindMember("exposed_keys"); x != model.MemberEnd() && x->value.IsArray() && !x->value.Empty())
      metadata_lists_["exposed_keys"].push_back(compact(x->value));
  }

  static std::string identifier(const std::string& raw) {
    std::string s;
    for (char c : raw) s += std::isalnum(static_cast<unsigned char>(c)) || c == '_' ? c : '_';
    if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) s = "_" + s;
    return s;
  }

  std::string build(const JValue& root) {
    std::map<std::string, Binding> none;
    std::map<std::string, int> keys = expand(root, "", none, true);
    std::string top_name = root.IsString() ? root.GetString() : root["name"].GetString();
    bool container = *canonical_name(top_name) == "Model";
    // A library model at the top: its keys are named by their key names (it is frozen in Python).
    if (!container)
      for (const auto& [k, e] : keys)
        if (edge(e).name.empty()) edge(e).name = k;

    // Resolve each edge's role.
    std::vector<int> roots;
    for (std::size_t i = 0; i < edges_.size(); ++i)
      if (edges_[i].parent < 0) roots.push_back(static_cast<int>(i));
    std::map<int, KeyKind> kind;        // tensor element kind per edge
    std::map<int, bool> used_as_attr, used_as_tensor, used_as_list;
    std::map<int, std::string> first_key;
    std::vector<int> order;  // edges in first-use order (instances in order, keys in Python order)
    // A list comes from these models (or is a list input).
    auto made_by_list_model = [this](const Edge& x) {
      const std::string producer = x.producer >= 0 ? instances_[static_cast<std::size_t>(x.producer)].model : "";
      return producer.rfind("ToList", 0) == 0 || producer.rfind("ToTuple", 0) == 0 || producer == "Split";
    };
    for (const Instance& inst : instances_) {
      for (const KeyDef& k : inst.keys) {
        int e = find(inst.edges.at(k.name));
        if (std::find(order.begin(), order.end(), e) == order.end()) order.push_back(e);
        if (k.kind == KeyKind::tensor_list || (k.kind == KeyKind::tensor_or_list && made_by_list_model(edge(e)))) {
          used_as_list[e] = true;
          first_key.try_emplace(e, k.name);
          continue;
        }
        if (k.kind == KeyKind::attribute) {
          used_as_attr[e] = true;
          continue;
        }
        used_as_tensor[e] = true;
        KeyKind& kk = kind.try_emplace(e, KeyKind::any).first->second;
        if (k.kind == KeyKind::integer || (k.kind == KeyKind::boolean && kk != KeyKind::integer)) kk = k.kind;
        else if (k.kind == KeyKind::floating && kk == KeyKind::any) kk = KeyKind::floating;
        first_key.try_emplace(e, k.name);
      }
      int out = find(inst.edges.at("output"));
      if (std::find(order.begin(), order.end(), out) == order.end()) order.push_back(out);
    }

    // Final names: Python names (sanitized), then the names Python's compile gives unnamed keys.
    std::set<std::string> taken;
    std::map<int, std::string> final_name;
    for (int e : order)
      if (!edge(e).name.empty()) {
        std::string n = unique(identifier(edge(e).name), taken);
        final_name[e] = n;
      }
    name_like_python_compile(order, final_name, taken);
    auto dtype_of = [&](int e) {
      const Edge& x = edge(e);
      if (!x.type_json.empty()) {
        bool has_float = x.type_json.find("\"float\"") != std::string::npos;
        bool has_int = x.type_json.find("\"int\"") != std::string::npos;
        bool has_bool = x.type_json.find("\"bool\"") != std::string::npos;
        if (!has_float && has_int) return DType::int64;
        if (!has_float && !has_int && has_bool) return DType::bool_;
      }
      auto k = kind.find(e);
      KeyKind kk = k == kind.end() ? KeyKind::any : k->second;
      if (kk == KeyKind::integer) return DType::int64;
      if (kk == KeyKind::boolean) return DType::bool_;
      return DType::float64;
    };

    // Outputs.
    std::vector<std::pair<std::string, int>> outputs;
    if (!container) {
      // Its outputs: "output", and any other key it computes (LogisticRegression's probs_output;
      // GaussProcessRegressionCore has loss, prediction and confidence, and no "output").
      if (keys.count("output")) outputs.emplace_back("output", keys.at("output"));
      for (const auto& [k, e] : keys)
        if (k != "output" && edge(e).producer >= 0) outputs.emplace_back(k, e);
      // When its exposed_keys name some of them, those are what Python's compile gives
      // (GaussProcessRegressionCore exposes only its prediction).
      std::set<std::string> exposed;
      if (root.IsObject())
        if (auto x = root.FindMember("exposed_keys"); x != root.MemberEnd() && x->value.IsArray())
          for (const auto& k : x->value.GetArray())
            if (k.IsString()) exposed.insert(k.GetString());
      auto listed = [&](const std::pair<std::string, int>& o) { return exposed.count(o.first) > 0; };
      if (std::any_of(outputs.begin(), outputs.end(), listed))
        outputs.erase(std::remove_if(outputs.begin(), outputs.end(), [&](const auto& o) { return !listed(o); }), outputs.end());
    } else {
      for (const auto& [name, e] : exposed_)
        if (edge(e).producer >= 0) outputs.emplace_back(name, find(e));
    }
    // Python's compile uses the canonical outputs (those nothing consumes) when no output is
    // exposed: exposed_keys may list only inputs holding a value.
    // A model's second output (LogisticRegression's sigmoid, LinearSVM's sign) reads its canonical
    // one without consuming it: Python's cout stays the canonical one.
    if (container && outputs.empty()) {
      std::set<int> consumed;
      for (const Instance& inst : instances_)
        if (inst.canonical_output)
          for (const KeyDef& k : inst.keys) consumed.insert(find(inst.edges.at(k.name)));
      for (const Instance& inst : instances_) {
        int out = find(inst.edges.at("output"));
        if (!consumed.count(out) && inst.canonical_output) outputs.emplace_back(edge(out).name, out);
      }
    }
    if (outputs.empty()) fail("", "the model has no outputs");

    auto model = std::make_shared<Model>(identifier(top_name));
    std::map<int, Value> values;
    std::map<int, std::string> attr_values;
    // Declarations: inputs and parameters, then constants, in first-use order.
    // A list (Concat's input) comes from a ToList or is a list input; a ToList's list goes to
    // list keys only.
    for (int e : order) {
      const Edge& x = edge(e);
      bool from_list_model = made_by_list_model(x);
      if (used_as_list[e] && used_as_tensor[e])
        fail(x.value_path, "key '" + (x.name.empty() ? first_key[e] : x.name) + "' is used both as a tensor and as a list of tensors");
      if (used_as_list[e] && x.producer >= 0 && !from_list_model)
        fail(instances_[static_cast<std::size_t>(x.producer)].path, "its output, a tensor, is connected to a key that takes a list of tensors");
      if (used_as_list[e] && x.value)
        fail(x.value_path, "a list of tensors given as a value: format 1.2.0 takes a list input or a ToList of connections");
      if (from_list_model && (used_as_tensor[e] || used_as_attr[e]))
        fail(instances_[static_cast<std::size_t>(x.producer)].path, "its output, a list, is connected to a key that takes a tensor");
    }
    for (int e : order) {
      Edge& x = edge(e);
      if (x.producer >= 0 || x.value || (!used_as_tensor[e] && !used_as_list[e])) continue;
      if (x.default_value) continue;  // a valued key: a constant below
      std::string name = final_name.count(e) ? final_name[e] : final_name[e] = unique(identifier(first_key[e]), taken);
      bool trainable = x.differentiable ? *x.differentiable : x.library_differentiable;
      ValueInfo info = x.shape ? *x.shape : trainable ? templated_shape(x, final_name) : ValueInfo{DType::float64, {}, false};
      info.dtype = dtype_of(e);
      if (used_as_list[e]) values[e] = model->list_input(name, info);  // format 1.2.0
      else if (trainable) values[e] = model->parameter(name, info, Initializer::zeros());
      else values[e] = model->input(name, info);
    }
    for (int e : order) {
      Edge& x = edge(e);
      if (x.producer >= 0) continue;
      std::optional<std::string> v = x.value ? x.value : x.default_value;
      if (!v) {
        if (used_as_attr[e])
          fail(x.value_path, "key '" + (x.name.empty() ? first_key[e] : x.name) +
                                 "' is an input without a value, but format 1.0.0 needs a constant for it (an operator attribute)");
        continue;
      }
      attr_values[e] = *v;
      if (!used_as_tensor[e]) continue;
      std::string name = final_name.count(e) ? final_name[e] : final_name[e] = unique(identifier(first_key[e]), taken);
      Tensor t;
      try {
        t = read_json_tensor(*v, source_);
      } catch (const Error& err) {
        bad(x.value_path, std::string("value ") + *v + " is not a tensor: " + err.what());
      }
      DType dt = dtype_of(e);
      // A value only keys of any element kind read (a Buffer's) keeps the dtype Python's
      // backend.array gives it: integers stay int64.
      if (x.type_json.empty() && (!kind.count(e) || kind.at(e) == KeyKind::any)) dt = t.dtype();
      if (dt == DType::int64 && t.dtype() == DType::float64) bad(x.value_path, "expected integers, got " + *v);
      values[e] = model->constant(name, t.cast(dt).copy());
    }
    for (const auto& [name, e] : outputs)
      if (!final_name.count(e) && !name.empty()) final_name[e] = unique(identifier(name), taken);

    // Nodes in dependency order (ties: the order Python added them).
    std::vector<int> state(instances_.size(), 0);
    std::map<int, std::vector<Value>> lists;  // ToList outputs: their items
    std::map<int, DimRef> dims;               // Size, Length, Shape, Slice outputs: Python values from shapes
    std::map<std::string, int> counters;
    auto auto_name = [&](const std::string& op) {
      for (int& n = counters[op];; ++n) {
        std::string candidate = op + "_" + std::to_string(n);
        if (!taken.count(candidate)) {
          taken.insert(candidate);
          return candidate;
        }
      }
    };
    std::function<void(int, const std::string&)> emit = [&](int i, const std::string& via) {
      if (state[static_cast<std::size_t>(i)] == 2) return;
      const Instance& inst = instances_[static_cast<std::size_t>(i)];
      if (state[static_cast<std::size_t>(i)] == 1) fail(inst.path, "the connections form a cycle (through " + via + ")");
      state[static_cast<std::size_t>(i)] = 1;
      std::map<std::string, Value> in;
      std::map<std::string, std::vector<Value>> list_in;
      std::map<std::string, std::string> attrs;
      std::map<std::string, DimRef> dim_in;
      for (const KeyDef& k : inst.keys) {
        int e = find(inst.edges.at(k.name));
        if (edge(e).producer >= 0) emit(edge(e).producer, inst.path);
        if (auto d = dims.find(e); d != dims.end()) {
          // A Python value from a shape (see DimRef): the model using it decides what it becomes.
          dim_in.emplace(k.name, d->second);
          continue;
        }
        if (k.kind == KeyKind::tensor_or_list && lists.count(e)) {
          list_in[k.name] = lists.at(e);
        } else if (k.kind == KeyKind::tensor_list) {
          if (auto l = lists.find(e); l != lists.end()) list_in[k.name] = l->second;
          else list_in[k.name] = {values.at(e)};
        } else if (k.kind == KeyKind::attribute) {
          auto a = attr_values.find(e);
          if (a == attr_values.end())
            fail(inst.path, "key '" + k.name + "' is connected to a computed value, but format 1.0.0 needs a constant for it");
          attrs[k.name] = a->second;
        } else {
          in[k.name] = values.at(e);
        }
      }
      int out = find(inst.edges.at("output"));
      Emit e(*model, inst.model, inst.path, in, attrs, final_name.count(out) ? final_name[out] : "", auto_name, list_in, dim_in);
      try {
        inst.emit(e);
      } catch (const Error& err) {
        // Keep the kind: a value of the wrong type is a schema error, a construct we cannot
        // express unsupported, a shape that does not fit a shape error.
        std::string what = err.what();
        if (what.rfind(inst.path, 0) == 0 && !inst.path.empty())
          throw Error(err.kind(), fmt::format("{}: {}", source_, what));  // Emit named the place already
        throw Error(err.kind(), fmt::format("{}: {}: {}: {}", source_, inst.path.empty() ? "(top level)" : inst.path,
                                            inst.model, what));
      }
      if (e.output_list()) lists[out] = *e.output_list();
      else if (e.output_dim()) dims[out] = *e.output_dim();
      else values[out] = *e.output();
      state[static_cast<std::size_t>(i)] = 2;
    };
    for (std::size_t i = 0; i < instances_.size(); ++i) emit(static_cast<int>(i), "");

    std::set<std::string> output_names;
    for (const auto& [name, e] : outputs) {
      std::string n = name.empty() ? final_name.count(e) ? final_name[e] : "output" : identifier(name);
      while (output_names.count(n)) n += "_";
      output_names.insert(n);
      if (auto d = dims.find(e); d != dims.end())
        fail("", "output '" + n + "' is the output of " + d->second.model + ", " + d->second.what() + ": format 1.x has no value for it");
      // A list (Split's, a ToList's) comes out as its elements, n_0, n_1, ... (as a list input is
      // fed as its elements).
      if (auto l = lists.find(e); l != lists.end()) {
        for (std::size_t i = 0; i < l->second.size(); ++i) model->output(n + "_" + std::to_string(i), l->second[i]);
        continue;
      }
      model->output(n, values.at(e));
    }

    model->set_metadata("migrated_from", "python-mithril");
    for (const auto& [name, lists] : metadata_lists_) {
      std::string text = lists.size() == 1 ? lists[0] : "[" + join(lists) + "]";
      model->set_metadata("python_mithril." + name, text);
    }
    if (!key_types_.empty()) {
      std::string text = "{";
      for (const auto& [k, t] : key_types_) {
        rapidjson::Value key(k.c_str(), static_cast<rapidjson::SizeType>(k.size()));
        text += (text.size() > 1 ? "," : "") + compact(key) + ":" + t;
      }
      model->set_metadata("python_mithril.key_types", text + "}");
    }
    // The step's own version, 1.0.0, unless the model needs a later one: a list input or a
    // concat over flattened inputs (Concat axis None) needs 1.2.0. The driver goes on from there.
    if (model->has_list_inputs()) return mithril::to_dict(*model);
    for (const Step& step : model->steps())
      if (step.op && step.op->name == "concat" && attr_is_null(step.attributes, "axis")) return mithril::to_dict(*model);
    return mithril::to_dict(*model, "1.0.0");
  }

  // The shape Python's library model declares for a trainable key (Linear's weight [8, d_in]):
  // sizes as they are, symbols made unique per instance by the name of its first templated key
  // ("weight_0_in"), so that shape inference learns them from the inputs at compile time.
  ValueInfo templated_shape(const Edge& x, std::map<int, std::string>& final_name) {
    if (!x.shape_template) return ValueInfo{DType::float64, {}, false};
    std::string prefix;
    if (x.template_anchor >= 0) {
      if (auto it = final_name.find(find(x.template_anchor)); it != final_name.end()) prefix = it->second;
    } else {
      for (const KeyDef& k : instances_[static_cast<std::size_t>(x.template_instance)].keys) {
        if (!k.shape) continue;
        int e = find(instances_[static_cast<std::size_t>(x.template_instance)].edges.at(k.name));
        if (final_name.count(e)) prefix = final_name[e];
        break;
      }
    }
    ValueInfo info{DType::float64, {}, true};
    for (const std::string& d : *x.shape_template) {
      if (!d.empty() && std::isdigit(static_cast<unsigned char>(d[0]))) info.shape.push_back(Dim::known(std::stoll(d)));
      else info.shape.push_back(Dim::named(identifier(prefix + "_" + d)));
    }
    return info;
  }

  // Python's compile (FlatModel._name_externals) names each unnamed external key (an input
  // without a value, or with one given in a connection) after its origin, the library key that
  // created it: plainly when that origin names one external key, numbered from 0 when several
  // (weight_0, weight_1), skipping names already taken. Keys inside MLP have MLP's names
  // (weight0, bias0...) as origins. Other unnamed keys get free names afterwards.
  void name_like_python_compile(const std::vector<int>& order, std::map<int, std::string>& final_name,
                                std::set<std::string>& taken) {
    auto origin = [&](int e) { return edge(e).first_key; };
    std::vector<int> unnamed;
    std::map<std::string, int> count;
    for (int e : order) {
      const Edge& x = edge(e);
      if (x.producer >= 0) continue;
      if (!x.name.empty()) {
        ++count[identifier(x.name)];
      } else if (!x.default_value || x.value) {
        unnamed.push_back(e);
        ++count[origin(e)];
      }
    }
    std::map<std::string, int> next;
    for (int e : unnamed) {
      std::string base = identifier(origin(e));
      std::string name = base;
      if (count[base] > 1)
        do name = base + "_" + std::to_string(next[base]++);
        while (taken.count(name));
      else if (taken.count(name))
        name = unique(base, taken);
      taken.insert(name);
      final_name[e] = name;
    }
  }

 private:
  static std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& s : items) out += (out.empty() ? "" : ",") + s;
    return out;
  }
  static std::string unique(const std::string& base, std::set<std::string>& taken) {
    std::string name = base;
    for (int i = 0; taken.count(name); ++i) name = base + "_" + std::to_string(i);
    taken.insert(name);
    return name;
  }

  std::string source_;
  std::vector<Edge> edges_;
  std::vector<Instance> instances_;
  std::deque<std::map<std::string, int>> namespaces_;
  std::map<const JValue*, std::map<std::string, std::map<std::string, int>>> container_siblings_;
  // The submodels built by a Composite: their keys in Python's order, for [owner, index].
  std::map<const JValue*, std::map<std::string, std::vector<std::string>>> container_sibling_orders_;
  std::vector<std::pair<std::string, int>> exposed_;
  std::deque<rapidjson::Document> synthesized_args_;  // args made up by robust_if_exposed, kept alive
  std::map<std::string, int> auto_keys_;        // "$n" -> edge, for the top model
  std::vector<std::string> last_key_order_;     // keys of the model expand() did last, in Python's order
  std::vector<std::string> composite_order_;    // the same, left by a Composite for the expand() that called it
  bool last_was_composite_ = false;             // the model expand() did last was built by a Composite
  std::map<std::string, std::vector<std::string>> metadata_lists_;
  std::map<std::string, std::string> key_types_;
  int shape_group_ = 0;
  std::map<std::string, int> symbol_group_;
};

}  // namespace

std::string flatten(const rapidjson::Value& root, const std::string& source) {
  Flattener flattener(source);
  return flattener.build(root);
}

}  // namespace mithril::versioning::python_mithril
