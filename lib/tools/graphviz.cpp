#include "tools/graphviz.h"

#include <map>

#include <fmt/format.h>

namespace mithril::tools {
namespace {

// A DOT string literal: quotes and backslashes escaped, line breaks as DOT's \n.
std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

class DotWriter {
 public:
  std::string text;

  // Emits `model`'s values and nodes under `prefix` ("" at the top, "hidden." in a submodel);
  // `bound` gives the DOT node feeding each of its inputs (empty at the top). Returns the DOT
  // node of each output.
  std::map<std::string, std::string> emit(const Model& model, const std::string& prefix, const std::map<std::string, std::string>& bound,
                                          const std::string& indent) {
    std::map<std::string, std::string> id;  // value reference -> DOT node
    for (const InputDecl& in : model.inputs()) {
      if (auto it = bound.find(in.name); it != bound.end()) {
        id[in.name] = it->second;
        continue;
      }
      id[in.name] = "input:" + prefix + in.name;
      line(indent, fmt::format("{} [shape=ellipse, label={}];", quoted(id[in.name]), quoted(in.name + "\n" + info_str(in.info))));
    }
    for (const ParameterDecl& p : model.parameters()) {
      id[p.name] = "value:" + prefix + p.name;
      line(indent, fmt::format("{} [shape=note, label={}];", quoted(id[p.name]), quoted(p.name + "\n" + info_str(p.info))));
    }
    for (const ConstantDecl& c : model.constants()) {
      id[c.name] = "value:" + prefix + c.name;
      line(indent, fmt::format("{} [shape=note, style=dashed, label={}];", quoted(id[c.name]),
                               quoted(c.name + "\nconstant " + describe(c.value))));
    }
    for (const Step& step : model.steps()) {
      if (step.is_submodel()) {
        std::map<std::string, std::string> inner;
        for (const auto& [input, ref] : step.bindings) inner[input] = id.at(ref);
        line(indent, fmt::format("subgraph {} {{", quoted("cluster_" + prefix + step.name)));
        line(indent + "  ", fmt::format("label={}; style=rounded;", quoted(step.name + " (" + step.submodel->name() + ")")));
        std::map<std::string, std::string> outs = emit(*step.submodel, prefix + step.name + ".", inner, indent + "  ");
        line(indent, "}");
        for (const auto& [name, node] : outs) id[step.name + "." + name] = node;
        continue;
      }
      std::string node = "node:" + prefix + step.name;
      line(indent, fmt::format("{} [shape=box, label={}];", quoted(node), quoted(step.name + "\n" + step.op->qualified_name())));
      for (const std::string& ref : step.inputs) edge(indent, id.at(ref), node, model.info(ref));
      id[step.name] = node;
    }
    std::map<std::string, std::string> outputs;
    for (const OutputDecl& out : model.outputs()) outputs[out.name] = id.at(out.value);
    if (bound.empty() && prefix.empty()) {
      for (const OutputDecl& out : model.outputs()) {
        std::string node = "output:" + out.name;
        line(indent, fmt::format("{} [shape=ellipse, style=bold, label={}];", quoted(node), quoted(out.name)));
        edge(indent, id.at(out.value), node, out.info);
      }
    }
    return outputs;
  }

 private:
  void line(const std::string& indent, const std::string& s) { text += indent + s + "\n"; }
  void edge(const std::string& indent, const std::string& from, const std::string& to, const ValueInfo& info) {
    line(indent, fmt::format("{} -> {} [label={}];", quoted(from), quoted(to), quoted(info_str(info))));
  }
};

}  // namespace

std::string model_dot(const Model& model) {
  DotWriter w;
  w.text = fmt::format("digraph {} {{\n  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=8];\n",
                       quoted(model.name()));
  w.emit(model, "", {}, "  ");
  w.text += "}\n";
  return w.text;
}

}  // namespace mithril::tools
