// infer_parameter_shapes (walk.h): symbols of parameter shapes learned from the operators that use
// them, as Python Mithril's shape constraints do at compile time.
#include "graph/walk.h"

namespace mithril {
namespace {

std::string scope_of(const std::string& path) {
  std::size_t dot = path.rfind('.');
  return dot == std::string::npos ? "" : path.substr(0, dot + 1);
}

// Records that `a` and `b` must be equal: a named dimension equal to a known one.
void equate(const std::string& scope, const Dim& a, const Dim& b, std::map<std::string, int64_t>& sizes) {
  if (a.is_named() && b.is_known()) sizes.emplace(scope + a.symbol, b.size);
  else if (b.is_named() && a.is_known()) sizes.emplace(scope + b.symbol, a.size);
}

// The equalities an operator imposes on its inputs' dimensions.
void learn(const std::string& scope, const Step& step, const std::vector<ValueInfo>& in, std::map<std::string, int64_t>& sizes) {
  for (const ValueInfo& info : in)
    if (!info.rank_known) return;
  const std::string& op = step.op->domain.empty() ? step.op->name : "";
  if (op == "matmul" && in.size() == 2 && !in[0].shape.empty() && !in[1].shape.empty()) {
    const SymShape& a = in[0].shape;
    const SymShape& b = in[1].shape;
    equate(scope, a.back(), b.size() >= 2 ? b[b.size() - 2] : b[0], sizes);
  } else if ((op == "conv1d" || op == "conv2d") && in.size() == 2 && in[0].shape.size() >= 2 && in[1].shape.size() >= 2) {
    auto groups = step.attributes.find("groups");
    if (groups == step.attributes.end() || std::get<int64_t>(groups->second) == 1) equate(scope, in[0].shape[1], in[1].shape[1], sizes);
  } else if (op == "add" || op == "subtract" || op == "multiply" || op == "divide" || op == "power" || op == "maximum" ||
             op == "minimum") {
    const SymShape& a = in[0].shape;
    const SymShape& b = in[1].shape;
    for (std::size_t i = 1; i <= std::min(a.size(), b.size()); ++i) {
      const Dim& x = a[a.size() - i];
      const Dim& y = b[b.size() - i];
      if ((x.is_known() && x.size == 1) || (y.is_known() && y.size == 1)) continue;  // broadcast: says nothing
      equate(scope, x, y, sizes);
    }
  }
}

}  // namespace

std::map<std::string, Shape> infer_parameter_shapes(const Model& model, const std::map<std::string, FlatValue>& inputs,
                                                    const WalkOptions& options) {
  std::map<std::string, Shape> given = options.parameter_shapes ? *options.parameter_shapes : std::map<std::string, Shape>{};
  std::map<std::string, Shape> learned;
  // Each round may make more shapes concrete (a learned width feeds the next layer): repeat
  // until nothing new is learned.
  for (bool progress = true; progress;) {
    progress = false;
    std::map<std::string, Shape> known = given;
    known.insert(learned.begin(), learned.end());
    WalkOptions o = options;
    o.parameter_shapes = &known;
    std::map<std::string, ValueInfo> values, parameters;
    std::map<std::string, int64_t> sizes;  // scope + symbol -> size
    for (const auto& [name, value] : inputs) values[value.path] = value.info;
    WalkCallbacks cb;
    cb.on_parameter = [&](const std::string& path, const ParameterDecl&, const ValueInfo& info) { parameters[path] = info; };
    cb.on_value = [&](const std::string&, const std::string&, const FlatValue& value) { values[value.path] = value.info; };
    cb.on_node = [&](const std::string& path, const Step& step, const std::vector<std::string>& input_paths, const ValueInfo&) {
      std::vector<ValueInfo> in;
      for (const std::string& p : input_paths) in.push_back(values.at(p));
      learn(scope_of(path), step, in, sizes);
    };
    walk_model(model, "", inputs, cb, o);
    for (const auto& [path, info] : parameters) {
      if (known.count(path) || !info.rank_known) continue;
      Shape shape;
      for (const Dim& d : info.shape) {
        if (d.is_known()) shape.push_back(d.size);
        else if (auto it = d.is_named() ? sizes.find(scope_of(path) + d.symbol) : sizes.end(); it != sizes.end())
          shape.push_back(it->second);
        else break;
      }
      if (shape.size() != info.shape.size()) continue;
      learned[path] = shape;
      progress = true;
    }
  }
  return learned;
}

}  // namespace mithril
