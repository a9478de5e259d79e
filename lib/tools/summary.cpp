#include "tools/summary.h"

#include <algorithm>
#include <array>
#include <functional>
#include <map>

#include <fmt/format.h>

#include "tools/common.h"

namespace mithril::tools {
namespace {

std::string join_outputs(const std::vector<std::pair<std::string, ValueInfo>>& outputs) {
  std::vector<std::string> parts;
  for (const auto& [name, info] : outputs)
    parts.push_back(outputs.size() == 1 ? info_str(info) : name + ": " + info_str(info));
  return fmt::format("{}", fmt::join(parts, ", "));
}

}  // namespace

ModelSummary summarize_model(const Model& model, const NamedTensors& values, int depth) {
  ModelSummary s;
  s.model = model.name();
  s.node_count = model.node_count();
  std::map<std::string, const Tensor*> given;
  for (const auto& [name, t] : values) given[name] = &t;

  std::map<std::string, int64_t> counts;  // dotted path -> elements
  for (const ParameterPath& p : model.parameter_paths()) {
    int64_t n = 0;
    DType dtype = p.info.dtype;
    if (auto it = given.find(p.path); it != given.end()) {
      n = it->second->numel();
      dtype = it->second->dtype();
    } else if (p.info.rank_known && is_concrete(p.info.shape)) {
      n = shape_numel(to_shape(p.info.shape));
    } else {
      s.counts_known = false;
    }
    counts[p.path] = n;
    s.parameter_tensors += 1;
    s.parameter_count += n;
    s.parameter_bytes += static_cast<uint64_t>(n) * dtype_size(dtype);
  }
  auto owned_by = [&](const std::string& prefix) {
    int64_t n = 0;
    for (const auto& [path, c] : counts)
      if (path.compare(0, prefix.size(), prefix) == 0) n += c;
    return n;
  };

  for (const InputDecl& in : model.inputs()) s.rows.push_back({in.name, in.list ? "list input" : "input", "", info_str(in.info), 0});
  // A model's parameters and steps, names under `prefix`, submodels expanded `levels` deep.
  std::function<void(const Model&, const std::string&, int)> add_body = [&](const Model& m, const std::string& prefix, int levels) {
    for (const ParameterDecl& p : m.parameters())
      s.rows.push_back({prefix + p.name, "parameter", p.init.str(), info_str(p.info), counts[prefix + p.name]});
    for (const Step& step : m.steps()) {
      std::string name = prefix + step.name;
      if (!step.is_submodel()) {
        s.rows.push_back({name, "op", step.op->qualified_name(), info_str(step.output), 0});
        continue;
      }
      s.rows.push_back({name, "model", step.submodel->name(), join_outputs(step.outputs), owned_by(name + ".")});
      if (levels > 0) add_body(*step.submodel, name + ".", levels - 1);
    }
  };
  add_body(model, "", depth);
  for (const OutputDecl& out : model.outputs()) s.rows.push_back({out.name, "output", out.value, info_str(out.info), 0});
  return s;
}

std::string format_summary(const ModelSummary& s) {
  std::vector<std::array<std::string, 4>> cells;
  cells.push_back({"name", "kind", "shape", "parameters"});
  for (const SummaryRow& r : s.rows) {
    std::string kind = r.what.empty() ? r.kind : r.kind + " " + r.what;
    std::string params = r.kind == "parameter" || r.kind == "model" ? fmt::format("{}", r.parameters) : "";
    cells.push_back({r.name, kind, r.shape, params});
  }
  std::array<std::size_t, 4> width{};
  for (const auto& row : cells)
    for (std::size_t i = 0; i < 4; ++i) width[i] = std::max(width[i], row[i].size());
  std::string out = fmt::format("model '{}'\n", s.model);
  for (std::size_t r = 0; r < cells.size(); ++r) {
    const auto& row = cells[r];
    std::string line = fmt::format("  {:<{}}  {:<{}}  {:<{}}  {:>{}}", row[0], width[0], row[1], width[1], row[2], width[2],
                                   row[3], width[3]);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  out += fmt::format("total: {} parameters in {} tensors ({}){}, {} operator nodes\n", s.parameter_count, s.parameter_tensors,
                     human_bytes(s.parameter_bytes), s.counts_known ? "" : " (some shapes symbolic, not counted)",
                     s.node_count);
  return out;
}

}  // namespace mithril::tools
