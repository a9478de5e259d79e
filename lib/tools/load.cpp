#include "tools/load.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <complex>
#include <set>
#include <type_traits>

#include <fmt/format.h>
#include <rapidjson/document.h>

#include "backends/backend.h"
#include "core/error.h"
#include "ops/registry.h"
#include "physical/persistence.h"
#include "tools/report_json.h"
#include "versioning/format_history.h"

namespace mithril::tools {
namespace {

// The version as the format history reads it ("" when it cannot tell).
std::string stored_version(const std::string& json) {
  try {
    return versioning::detect_format_version(json);
  } catch (const Error&) {
    return "";
  }
}

std::string tensor_table(const NamedTensors& tensors) {
  std::vector<std::array<std::string, 4>> rows{{"name", "dtype", "shape", "bytes"}};
  for (const auto& [name, t] : tensors)
    rows.push_back({name, std::string(dtype_name(t.dtype())), shape_str(t.shape()), fmt::format("{}", t.nbytes())});
  std::array<std::size_t, 4> w{};
  for (const auto& r : rows)
    for (std::size_t i = 0; i < 4; ++i) w[i] = std::max(w[i], r[i].size());
  std::string out;
  for (const auto& r : rows) out += fmt::format("  {:<{}}  {:<{}}  {:<{}}  {:>{}}\n", r[0], w[0], r[1], w[1], r[2], w[2], r[3], w[3]);
  return out;
}

// NaN and infinite values per floating-point tensor (real and imaginary parts of complex ones).
std::vector<LoadReport::NonFinite> count_non_finite(const NamedTensors& tensors) {
  std::vector<LoadReport::NonFinite> out;
  for (const auto& [name, t] : tensors) {
    if (!is_floating(t.dtype()) && !is_complex(t.dtype())) continue;
    LoadReport::NonFinite c{name, 0, 0};
    auto count = [&](double v) {
      c.nan += std::isnan(v);
      c.inf += std::isinf(v);
    };
    visit_dtype(t.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* p = t.data_as<T>();
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
        for (int64_t i = 0; i < t.numel(); ++i) count(static_cast<double>(p[i]));
      } else if constexpr (std::is_same_v<T, std::complex<float>> || std::is_same_v<T, std::complex<double>>) {
        for (int64_t i = 0; i < t.numel(); ++i) {
          count(static_cast<double>(p[i].real()));
          count(static_cast<double>(p[i].imag()));
        }
      } else {
        for (int64_t i = 0; i < t.numel(); ++i) count(t.value_at(i));  // float16, bfloat16
      }
    });
    if (c.nan || c.inf) out.push_back(c);
  }
  return out;
}

std::string non_finite_line(const std::vector<LoadReport::NonFinite>& non_finite) {
  std::vector<std::string> items;
  for (const auto& c : non_finite) items.push_back(fmt::format("'{}' {} NaN, {} inf", c.name, c.nan, c.inf));
  return fmt::format("warning: non-finite values in {} tensor{}: {}\n", non_finite.size(), non_finite.size() == 1 ? "" : "s",
                     fmt::join(items, "; "));
}

}  // namespace

LoadReport inspect_artifact(const LoadOptions& options) {
  load_tool_plugins(options.plugins);
  LoadReport report;
  report.path = options.path;
  report.params_path = options.params_path;
  ArtifactLoadOptions load = tool_load_options();
  load.params_path = options.params_path;
  load.verify = options.verify;
  load.check_tensors = options.check_tensors;
  load.allow_unknown_ops = options.allow_unknown_ops;
  add_frozen_inputs(load, options.freeze);
  Artifact a = load_artifact(options.path, load);
  map_parameters_in(a, options.map, options.params_path, options.allow_extra);
  report.kind = a.kind;
  report.metadata = a.metadata;
  // Only .mbin files carry checksums of their own (zip members are CRC-checked on every read).
  report.verified = (options.verify || options.check_tensors) && (a.kind == ArtifactKind::mbin ||
                                       (!options.params_path.empty() && options.params_path != "-" &&
                                        detect_artifact_kind(options.params_path) == ArtifactKind::mbin));
  if (!a.model) {
    report.tensors = std::move(a.tensors);
    report.non_finite = count_non_finite(report.tensors);
    return report;
  }
  report.is_model = true;
  report.model = a.model;
  report.format_version = stored_version(a.structure_json);
  report.unknown_ops = a.model->opaque_nodes();
  if (a.has_parameters && !report.unknown_ops.empty()) {
    // Opaque nodes cannot be compiled: check the values against what the model declares.
    std::string source = options.params_path.empty() ? options.path : options.params_path;
    BindOptions bind;
    bind.allow_extra = options.allow_extra;
    std::vector<ExpectedParameter> expected = declared_parameters(*a.model);
    check_parameter_values(expected, a.tensors, source, bind);
    std::set<std::string> known;
    for (const ExpectedParameter& p : expected) known.insert(p.name);
    for (const auto& [name, t] : a.tensors) {
      if (known.count(name)) report.tensors.emplace_back(name, t);
      else report.ignored.push_back(name);
    }
    report.has_parameters = true;
  } else if (a.has_parameters) {
    std::string source = options.params_path.empty() ? options.path : options.params_path;
    BindOptions bind;
    bind.allow_extra = options.allow_extra;
    const Backend& backend = backend_by_name(options.backend);
    PhysicalModel pm = compile_with_parameters(a.model, backend, a.tensors, source, {}, bind);
    report.backend = std::string(backend.name());
    for (const OpSchema* op : pm.operators())
      if (!backend.implements(*op)) report.fallback_ops.push_back(op->qualified_name());
    std::vector<std::string> names = pm.get_parameter_names();
    std::set<std::string> known(names.begin(), names.end());
    for (const auto& [name, t] : a.tensors)
      if (!known.count(name)) report.ignored.push_back(name);
    report.tensors = parameter_tensors(pm);
    report.has_parameters = true;
  }
  report.summary = summarize_model(*a.model, report.tensors, options.depth);
  report.non_finite = count_non_finite(report.tensors);
  return report;
}

std::string format_load_report(const LoadReport& r) {
  std::string out;
  std::string where = r.params_path.empty() ? r.path : r.path + " + " + r.params_path;
  if (!r.is_model) {
    out += fmt::format("{} ({}): {} tensors, {} values, {}\n", r.path, artifact_kind_name(r.kind), r.tensors.size(),
                       total_numel(r.tensors), human_bytes(total_bytes(r.tensors)));
    out += tensor_table(r.tensors);
    // A checkpoint's non-tensor entries (epoch, lr, ...) or a safetensors "__metadata__".
    if (!r.metadata.empty() && r.kind != ArtifactKind::mbin) {
      std::vector<std::string> items;
      for (const auto& [k, v] : r.metadata) items.push_back(k + "=" + v);
      out += fmt::format("metadata: {}\n", fmt::join(items, ", "));
    }
    if (!r.non_finite.empty()) out += non_finite_line(r.non_finite);
    return out;
  }
  std::string format = r.format_version.empty() ? "?" : r.format_version;
  if (!r.format_version.empty() && r.format_version != kModelFormatVersion)
    format += fmt::format(", read as {}; mithril-migrate upgrades the file", kModelFormatVersion);
  out += fmt::format("{} ({}, format {})\n", where, artifact_kind_name(r.kind), format);
  out += format_summary(r.summary);
  if (!r.unknown_ops.empty())
    out += fmt::format("unknown operators (kept opaque, not checked; the model cannot run without them): {}\n",
                       fmt::join(r.unknown_ops, ", "));
  if (r.has_parameters)
    out += fmt::format("parameters: {} of {} present, shapes and dtypes match{}{}\n", r.tensors.size(), r.summary.parameter_tensors,
                       r.verified ? ", checksums verified" : "",
                       r.ignored.empty() ? "" : fmt::format(" ({} extra tensors ignored: {})", r.ignored.size(), fmt::join(r.ignored, ", ")));
  else if (r.summary.parameter_tensors == 0)
    out += "parameters: none (the model has none)\n";
  if (!r.backend.empty())
    out += r.fallback_ops.empty() ? fmt::format("backend: {} runs every operator\n", r.backend)
                                  : fmt::format("backend: {}; on reference (no {} kernel): {}\n", r.backend, r.backend,
                                                fmt::join(r.fallback_ops, ", "));
  else
    out += "parameters: none (structure only; give --params FILE to check values)\n";
  if (!r.non_finite.empty()) out += non_finite_line(r.non_finite);
  return out;
}

std::vector<OperatorInfo> list_operators(const std::vector<std::string>& plugins) {
  load_tool_plugins(plugins);
  reference_backend();  // backends attach their kernels when first used
  std::vector<OperatorInfo> out;
  const OpRegistry& registry = OpRegistry::global();
  for (const std::string& name : registry.names()) {
    const OpSchema* op = registry.find(name);
    if (!op) continue;
    OperatorInfo info;
    info.name = name;
    info.version = op->version;
    info.doc = op->doc;
    for (const InputSpec& in : op->inputs) info.inputs.push_back(in.variadic ? in.name + "..." : in.name);
    for (const AttrSpec& a : op->attributes)
      info.attributes.push_back(fmt::format("{}: {}{}", a.name, attr_type_name(a.type),
                                            a.default_value ? " = " + attr_str(*a.default_value) : std::string()));
    for (const auto& [backend, kernel] : op->kernels) info.backends.push_back(backend);
    out.push_back(std::move(info));
  }
  return out;
}

std::string format_operators(const std::vector<OperatorInfo>& ops) {
  std::string out = fmt::format("{} operators (a node names one in \"op\"; attributes without a default are required):\n", ops.size());
  for (const OperatorInfo& op : ops) {
    out += fmt::format("{} (version {}): inputs {}; attributes {}; {}\n", op.name, op.version,
                       op.inputs.empty() ? "none" : fmt::format("{}", fmt::join(op.inputs, ", ")),
                       op.attributes.empty() ? "none" : fmt::format("{}", fmt::join(op.attributes, ", ")),
                       fmt::format("backends: {}", op.backends.empty() ? "none" : fmt::format("{}", fmt::join(op.backends, ", "))));
    if (!op.doc.empty()) out += "    " + op.doc + "\n";
  }
  return out;
}

std::string operators_json(const std::vector<OperatorInfo>& ops) {
  JsonOut j;
  j.begin_object().key("operators").begin_array();
  for (const OperatorInfo& op : ops) {
    j.begin_object().key("name").str(op.name).key("version").num(op.version);
    j.key("inputs").begin_array();
    for (const std::string& s : op.inputs) j.str(s);
    j.end_array().key("attributes").begin_array();
    for (const std::string& s : op.attributes) j.str(s);
    j.end_array().key("backends").begin_array();
    for (const std::string& s : op.backends) j.str(s);
    j.end_array().key("doc").str(op.doc).end_object();
  }
  j.end_array().end_object();
  return j.text();
}

std::string load_error_json(const std::string& path, const Error& error) {
  JsonOut j;
  j.begin_object().key("path").str(path).key("valid").boolean(false);
  j.key("error_kind").str(error_kind_name(error.kind())).key("error").str(error.what()).end_object();
  return j.text();
}

std::string load_report_json(const LoadReport& r) {
  JsonOut j;
  j.begin_object();
  j.key("path").str(r.path);
  if (!r.params_path.empty()) j.key("params").str(r.params_path);
  j.key("kind").str(artifact_kind_name(r.kind)).key("valid").boolean(true);
  j.key("verified").boolean(r.verified);
  j.key("non_finite").begin_array();
  for (const auto& c : r.non_finite) j.begin_object().key("name").str(c.name).key("nan").num(c.nan).key("inf").num(c.inf).end_object();
  j.end_array();
  if (!r.backend.empty()) {
    j.key("backend").str(r.backend).key("fallback_ops").begin_array();
    for (const std::string& op : r.fallback_ops) j.str(op);
    j.end_array();
  }
  if (!r.is_model) {
    j.key("tensors").begin_array();
    for (const auto& [name, t] : r.tensors) j.tensor_info(name, t);
    j.end_array();
    j.key("totals").begin_object().key("tensors").unum(r.tensors.size()).key("values").num(total_numel(r.tensors));
    j.key("bytes").unum(total_bytes(r.tensors)).end_object();
    j.end_object();
    return j.text();
  }
  const ModelSummary& s = r.summary;
  j.key("model").str(s.model).key("format_version").str(r.format_version);
  j.key("metadata").begin_object();
  for (const auto& [k, v] : r.metadata) j.key(k).str(v);
  j.end_object();
  j.key("has_parameters").boolean(r.has_parameters);
  j.key("rows").begin_array();
  for (const SummaryRow& row : s.rows) {
    j.begin_object().key("name").str(row.name).key("kind").str(row.kind).key("what").str(row.what);
    j.key("shape").str(row.shape).key("parameters").num(row.parameters).end_object();
  }
  j.end_array();
  j.key("parameters").begin_array();
  for (const auto& [name, t] : r.tensors) j.tensor_info(name, t);
  j.end_array();
  j.key("ignored").begin_array();
  for (const std::string& name : r.ignored) j.str(name);
  j.end_array();
  j.key("unknown_ops").begin_array();
  for (const std::string& op : r.unknown_ops) j.str(op);
  j.end_array();
  j.key("totals").begin_object().key("parameter_tensors").num(s.parameter_tensors).key("parameters").num(s.parameter_count);
  j.key("bytes").unum(s.parameter_bytes).key("nodes").num(s.node_count).key("counts_known").boolean(s.counts_known).end_object();
  j.end_object();
  return j.text();
}

}  // namespace mithril::tools
