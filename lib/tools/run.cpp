#include "tools/run.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>

#include <fmt/format.h>

#include "backends/backend.h"
#include "core/error.h"
#include "io/atomic_file.h"
#include "io/json_tensors.h"
#include "io/json_util.h"
#include "io/mbin.h"
#include "io/npy.h"
#include "physical/input_check.h"
#include "physical/persistence.h"
#include "tools/report_json.h"
#include "tools/tensor_print.h"

namespace mithril::tools {
namespace {

std::string file_stem(const std::string& path) {
  std::string name = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
  std::size_t dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(0, dot);
}

struct Compiled {
  PhysicalModel model;
  std::string parameter_source;
  std::vector<CastNote> casts;
};

// The parameters --dtype converts (bfloat16 compute converts none: values stay float32).
void note_casts(Compiled& c, const std::map<DType, int64_t>& param_dtypes, std::optional<DType> dtype) {
  if (!dtype || *dtype == DType::bfloat16) return;
  for (const auto& [from, count] : param_dtypes)
    if (from != *dtype && is_floating(from)) c.casts.push_back({"parameters", from, *dtype, count});
}

// Compiles an artifact for the given inputs: shapes from the inputs, parameter values from the
// artifact (or its declared initializers when `init`, with `parameter_shapes` completing the
// shapes the inputs leave open), everything cast to `dtype` if given.
Compiled compile_artifact(const Artifact& a, const std::string& params_path, const NamedTensors& inputs,
                          std::optional<DType> dtype, const Backend& backend, const RunOptions& o,
                          const std::map<std::string, Shape>& parameter_shapes) {
  CompileOptions compile;
  compile.seed = o.seed;
  compile.dtype = dtype;
  for (const auto& [name, t] : inputs) compile.shapes[name] = t.shape();
  if (o.init) compile.parameter_shapes = parameter_shapes;
  std::string source = params_path.empty() ? a.path : params_path;
  std::map<DType, int64_t> param_dtypes;
  if (a.has_parameters) {
    BindOptions bind;
    bind.allow_extra = o.allow_extra;
    Compiled c{compile_with_parameters(a.model, backend, a.tensors, source, compile, bind), source, {}};
    const std::vector<std::string> names = c.model.get_parameter_names();
    for (const auto& [name, t] : a.tensors)
      if (std::find(names.begin(), names.end(), name) != names.end()) param_dtypes[t.dtype()] += 1;
    note_casts(c, param_dtypes, dtype);
    return c;
  }
  auto params = a.model->parameter_paths();
  if (!params.empty() && !o.init)
    throw Error(ErrorKind::invalid_argument,
                fmt::format("{}: structure only, no parameter values for its {} parameters (give --params FILE, or --init to "
                            "fill them from the declared initializers with --seed)", a.path, params.size()));
  PhysicalModel pm = [&] {
    try {
      return PhysicalModel::compile(a.model, backend, compile);
    } catch (const Error& e) {
      throw e.with_context(a.path);
    }
  }();
  Compiled c{std::move(pm), params.empty() ? "none (no parameters)" : fmt::format("declared initializers, seed {} (--init)", o.seed), {}};
  for (const ParameterPath& p : params) param_dtypes[p.info.dtype] += 1;
  note_casts(c, param_dtypes, dtype);
  return c;
}

NamedTensors evaluate_ordered(const PhysicalModel& pm, const NamedTensors& inputs, const std::string& context) {
  TensorMap given;
  for (const auto& [name, t] : inputs) given[name] = t;
  TensorMap out = [&] {
    try {
      return pm.evaluate(given);
    } catch (const Error& e) {
      throw e.with_context(context);
    }
  }();
  NamedTensors ordered;
  for (const std::string& name : pm.output_names()) ordered.emplace_back(name, out.at(name));
  return ordered;
}

}  // namespace

NamedTensors read_inputs(const std::string& path, const Model& model) {
  std::string bytes = read_file(path);
  std::string source = path == "-" ? "<stdin>" : path;
  if (bytes.empty()) throw Error(ErrorKind::format, source + ": empty file");
  NamedTensors tensors;
  std::map<std::string, std::string> metadata;
  if (looks_like_mbin(bytes.data(), bytes.size())) {
    if (path == "-") throw Error(ErrorKind::invalid_argument, source + ": an .mbin file is memory-mapped: give its path, not standard input");
    Artifact a = load_artifact(path);
    if (a.model) throw Error(ErrorKind::invalid_argument, source + ": inputs must be a tensor file; this .mbin holds a model");
    tensors = std::move(a.tensors);
  } else if (parse_tensor_bytes(bytes, source, tensors, metadata)) {
    // .npz, .pt or .safetensors: tensors named like the inputs
  } else if (looks_like_npy(bytes.data(), bytes.size())) {
    Tensor t = parse_npy(bytes.data(), bytes.size(), source);
    // A single .npy feeds the only input, or the input named like the file.
    std::string name = model.inputs().size() == 1 ? model.inputs()[0].name : file_stem(path);
    tensors.emplace_back(name, t);
  } else {
    if (!json::starts_like_object(bytes))
      throw Error(ErrorKind::format, source + ": inputs must be an .npz, .npy, .pt, .safetensors or tensor-only .mbin file, or a JSON object {\"name\": [...]}");
    for (auto& [name, t] : read_json_tensors(bytes, source)) tensors.emplace_back(name, t);
  }
  // Checked here too (evaluate would) so that the message names the inputs file.
  try {
    std::vector<std::string> given;
    for (const auto& [name, t] : tensors) {
      check_input_value(model.name(), find_input(model.name(), model.inputs(), name), t.shape(), t.dtype());
      given.push_back(name);
    }
    check_inputs_present(model.name(), model.inputs(), given);
  } catch (const Error& e) {
    throw e.with_context(source);
  }
  return tensors;
}

NamedTensors random_inputs(const Model& model, const std::map<std::string, Shape>& shapes, uint64_t seed) {
  for (const auto& [name, shape] : shapes) {
    try {
      find_input(model.name(), model.inputs(), name);
    } catch (const Error& e) {
      throw e.with_context("--shape " + name);
    }
  }
  std::vector<std::string> missing;
  NamedTensors out;
  for (const InputDecl& in : model.inputs()) {
    Shape shape;
    if (auto it = shapes.find(in.name); it != shapes.end()) {
      shape = it->second;
      try {
        check_input_value(model.name(), in, shape, in.info.dtype);
      } catch (const Error& e) {
        throw e.with_context(fmt::format("--shape {}={}", in.name, fmt::join(shape, ",")));
      }
    } else if (in.info.rank_known && is_concrete(in.info.shape)) {
      shape = to_shape(in.info.shape);
    } else {
      std::string hint;
      if (in.info.rank_known) {
        std::vector<std::string> dims;
        for (const Dim& d : in.info.shape) dims.push_back(d.is_known() ? std::to_string(d.size) : "N");
        hint = fmt::format("{}={}", in.name, fmt::join(dims, ","));
      } else {
        hint = in.name + "=N,...";
      }
      missing.push_back(fmt::format("{} {} (e.g. --shape {})", in.name, info_str(in.info), hint));
      continue;
    }
    std::string stream = "input:" + in.name;
    DType dtype = in.info.dtype;
    Tensor t;
    try {
      check_fits_in_memory(dtype, shape);
      if (is_floating(dtype) || is_complex(dtype))
        t = initialize(Initializer::normal(1.0), dtype, shape, seed, stream);
      else if (dtype == DType::bool_)
        t = initialize(Initializer::uniform(0, 2), DType::int64, shape, seed, stream).cast(DType::bool_);
      else
        t = initialize(Initializer::uniform(0, 10), dtype, shape, seed, stream);
    } catch (const Error& e) {
      throw e.with_context(fmt::format("--random input '{}'", in.name));
    }
    out.emplace_back(in.name, t);
  }
  if (!missing.empty())
    throw Error(ErrorKind::invalid_argument, fmt::format("model '{}': --random needs the shape of every input with unknown dims: {}",
                                                         model.name(), fmt::join(missing, "; ")));
  return out;
}

CompareResult compare_outputs(const NamedTensors& a, const NamedTensors& b, double atol, double rtol, bool equal_nan) {
  CompareResult result;
  result.atol = atol;
  result.rtol = rtol;
  result.equal_nan = equal_nan;
  std::map<std::string, const Tensor*> others;
  for (const auto& [name, t] : b) others[name] = &t;
  for (const auto& [name, x] : a) {
    OutputDiff d;
    d.name = name;
    d.shape = x.shape();
    auto it = others.find(name);
    if (it == others.end()) {
      d.problem = "missing in the other model";
    } else if (x.shape() != it->second->shape()) {
      d.problem = fmt::format("shape {} vs {}", shape_str(x.shape()), shape_str(it->second->shape()));
    } else {
      const Tensor& y = *it->second;
      for (int64_t i = 0; i < x.numel(); ++i) {
        double u = x.value_at(i), v = y.value_at(i);
        bool nu = std::isnan(u), nv = std::isnan(v);
        d.nan_a += nu;
        d.nan_b += nv;
        if (nu || nv) {  // counted, not folded into the differences (an "inf" there would hide them)
          if (!(nu && nv && equal_nan)) {
            d.nan_mismatches += 1;
            d.mismatches += 1;
          }
          continue;
        }
        double diff = u == v ? 0.0 : std::abs(u - v);  // u == v also covers equal infinities
        if (std::isnan(diff)) diff = std::numeric_limits<double>::infinity();  // inf against -inf
        if (diff == 0) continue;
        double rel = v == 0 ? std::numeric_limits<double>::infinity() : diff / std::abs(v);
        d.max_abs = std::max(d.max_abs, diff);
        d.max_rel = std::max(d.max_rel, rel);
        if (!(diff <= atol + rtol * std::abs(v))) d.mismatches += 1;
      }
    }
    if (it != others.end()) others.erase(it);
    d.pass = d.problem.empty() && d.mismatches == 0;
    result.pass = result.pass && d.pass;
    result.outputs.push_back(std::move(d));
  }
  for (const auto& [name, t] : others) {
    OutputDiff d;
    d.name = name;
    d.problem = "only in the other model";
    d.pass = false;
    result.pass = false;
    result.outputs.push_back(std::move(d));
  }
  return result;
}

RunReport run_model(const RunOptions& o) {
  load_tool_plugins(o.plugins);
  if (o.random && !o.inputs_path.empty())
    throw Error(ErrorKind::invalid_argument, "give either --inputs FILE or --random, not both");
  std::optional<DType> dtype;
  if (!o.dtype.empty()) {
    if (o.dtype != "float32" && o.dtype != "float64" && o.dtype != "bfloat16")
      throw Error(ErrorKind::invalid_argument, fmt::format("--dtype '{}': expected float32, float64 or bfloat16", o.dtype));
    dtype = dtype_from_name(o.dtype);
  }
  if (o.repeat < 0) throw Error(ErrorKind::invalid_argument, fmt::format("--repeat {}: expected 0 or more", o.repeat));
  const Backend& backend = backend_by_name(o.backend);
  const Backend* compare_backend = o.compare_backend.empty() ? nullptr : &backend_by_name(o.compare_backend);
  set_compute_threads(o.threads);
  if (!o.output.empty() && o.output != "-") {
    ArtifactKind kind = artifact_kind_for_output(o.output, o.format);
    if (!is_tensor_output(kind))
      throw Error(ErrorKind::invalid_argument, fmt::format("{}: outputs are written to a tensor file ({}; .npy for one output)", o.output,
                                                           tensor_output_extensions()));
  }
  std::map<std::string, Shape> shapes = parse_shapes(o.shapes);

  RunReport report;
  report.model = o.model;
  report.compute_dtype = dtype;
  ArtifactLoadOptions load = tool_load_options();
  load.params_path = o.params_path;
  load.check_tensors = o.verify;
  add_frozen_inputs(load, o.freeze);
  Artifact a = load_artifact(o.model, load);
  // The mapping applies to the tensor files given as parameters (--params, --compare-params).
  if (o.map.given() && o.params_path.empty() && o.compare_params.empty())
    map_parameters_in(a, o.map, o.params_path, o.allow_extra);  // says what is missing
  if (!o.params_path.empty()) map_parameters_in(a, o.map, o.params_path, o.allow_extra);
  if (!a.model)
    throw Error(ErrorKind::invalid_argument, fmt::format("{}: a {} file holds tensors, not a model (give a structure .json, .mithril or .mbin)",
                                                         o.model, artifact_kind_name(a.kind)));
  report.model_name = a.model->name();
  // --shape names random inputs, or parameters whose shapes --init completes (Python Mithril's
  // LSTMCell output width, as its compile takes it in shapes={"w_out": ...}).
  std::map<std::string, Shape> parameter_shapes;
  for (const ParameterPath& p : a.model->parameter_paths()) {
    auto it = shapes.find(p.path);
    if (it == shapes.end()) continue;
    if (!o.init)
      throw Error(ErrorKind::invalid_argument, fmt::format("--shape {}: a parameter's shape is for --init (its values come from the parameters file)", p.path));
    parameter_shapes.insert(shapes.extract(it));
  }
  if (!shapes.empty() && !o.random)
    throw Error(ErrorKind::invalid_argument, "--shape sets the shapes of --random inputs; with --inputs the file gives them");
  // A model whose every fed tensor is a parameter has no inputs and runs without any.
  if (!o.random && o.inputs_path.empty() && !a.model->inputs().empty())
    throw Error(ErrorKind::invalid_argument, "no inputs: give --inputs FILE (.npz, .npy, .json) or --random [--seed N]");
  if (!o.random && o.inputs_path.empty()) {
    report.inputs_source = "none (the model has no inputs)";
  } else if (o.random) {
    // A list input has as many elements as --shape gives (xs_0, xs_1, ...).
    if (a.model->has_list_inputs()) {
      std::vector<std::string> names;
      for (const auto& [name, shape] : shapes) names.push_back(name);
      a.model = expand_list_inputs(*a.model, names);
    }
    report.inputs = random_inputs(*a.model, shapes, o.seed);
    report.inputs_source = fmt::format("random, seed {}", o.seed);
  } else {
    report.inputs = read_inputs(o.inputs_path, *a.model);
    // A list input has as many elements as the inputs file holds (xs_0, xs_1, ...).
    if (a.model->has_list_inputs()) {
      std::vector<std::string> names;
      for (const auto& [name, t] : report.inputs) names.push_back(name);
      a.model = expand_list_inputs(*a.model, names);
    }
    report.inputs_source = o.inputs_path == "-" ? "<stdin>" : o.inputs_path;
  }

  Compiled c = compile_artifact(a, o.params_path, report.inputs, dtype, backend, o, parameter_shapes);
  report.backend = std::string(backend.name());
  report.parameter_source = c.parameter_source;
  report.casts = c.casts;
  std::map<DType, std::map<DType, int64_t>> input_casts;
  for (const InputDecl& in : c.model.inputs())
    for (const auto& [name, t] : report.inputs)
      if (name == in.name && t.dtype() != in.info.dtype) input_casts[t.dtype()][in.info.dtype] += 1;
  for (const auto& [from, tos] : input_casts)
    for (const auto& [to, count] : tos) report.casts.push_back({"inputs", from, to, count});

  auto start = std::chrono::steady_clock::now();
  report.outputs = evaluate_ordered(c.model, report.inputs, o.model);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (int i = 0; i < o.repeat; ++i) {
    auto again = std::chrono::steady_clock::now();
    evaluate_ordered(c.model, report.inputs, o.model);
    report.repeat_seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - again).count());
  }
  {
    TensorMap given;
    for (const auto& [name, t] : report.inputs) given[name] = t;
    report.plan = c.model.plan_info(given);
  }

  if (o.compare.empty() && compare_backend) {
    // The same model on another backend: the check that cpu computes what reference does.
    Compiled cb = compile_artifact(a, o.params_path, report.inputs, dtype, *compare_backend, o, parameter_shapes);
    NamedTensors outputs_b = evaluate_ordered(cb.model, report.inputs, o.model);
    report.compare = compare_outputs(report.outputs, outputs_b, o.atol, o.rtol);
    report.compare->other = fmt::format("{} on the {} backend", o.model, compare_backend->name());
  }
  if (!o.compare.empty()) {
    ArtifactLoadOptions load_b = tool_load_options();
    load_b.params_path = o.compare_params;
    load_b.check_tensors = o.verify;
    Artifact b = load_artifact(o.compare, load_b);
    if (!o.compare_params.empty()) map_parameters_in(b, o.map, o.compare_params, o.allow_extra);
    if (!b.model)
      throw Error(ErrorKind::invalid_argument, fmt::format("{}: a {} file holds tensors, not a model to compare with", o.compare,
                                                           artifact_kind_name(b.kind)));
    const Backend& other_backend = compare_backend ? *compare_backend : backend;
    Compiled cb = compile_artifact(b, o.compare_params, report.inputs, dtype, other_backend, o, parameter_shapes);
    NamedTensors outputs_b = evaluate_ordered(cb.model, report.inputs, o.compare);
    report.compare = compare_outputs(report.outputs, outputs_b, o.atol, o.rtol, o.equal_nan);
    report.compare->other = compare_backend ? fmt::format("{} on the {} backend", o.compare, other_backend.name()) : o.compare;
  }
  if (!o.output.empty()) {
    AtomicWriteGroup group({o.force});
    save_tensors(o.output, report.outputs, o.compress, {}, o.format);
    group.commit();
    ArtifactKind kind = o.output == "-" && o.format.empty() ? ArtifactKind::npz : artifact_kind_for_output(o.output, o.format);
    report.written.push_back(written_file(o.output, kind, fmt::format("{} outputs", report.outputs.size())));
  }
  return report;
}

std::string format_compare(const CompareResult& c) {
  std::vector<std::array<std::string, 5>> rows{{"output", "shape", "max abs diff", "max rel diff", "status"}};
  for (const OutputDiff& d : c.outputs) {
    if (!d.problem.empty())
      rows.push_back({d.name, "", "", "", "FAIL: " + d.problem});
    else {
      std::string nans = d.nan_a || d.nan_b ? fmt::format(" (NaN: {} here, {} there{})", d.nan_a, d.nan_b,
                                                          c.equal_nan ? ", equal where both" : "")
                                            : "";
      std::string status = d.pass ? "ok" : fmt::format("FAIL: {} values beyond tolerance", d.mismatches);
      if (d.nan_mismatches)
        status += fmt::format(", {} of them NaN against {}", d.nan_mismatches, c.equal_nan ? "a number" : "a number or NaN (--equal-nan)");
      rows.push_back({d.name, shape_str(d.shape), fmt::format("{:g}", d.max_abs), fmt::format("{:g}", d.max_rel), status + nans});
    }
  }
  std::array<std::size_t, 5> w{};
  for (const auto& r : rows)
    for (std::size_t i = 0; i < 5; ++i) w[i] = std::max(w[i], r[i].size());
  std::string out = fmt::format("compare with {} (atol {:g}, rtol {:g}):\n", c.other, c.atol, c.rtol);
  for (const auto& r : rows)
    out += fmt::format("  {:<{}}  {:<{}}  {:>{}}  {:>{}}  {}\n", r[0], w[0], r[1], w[1], r[2], w[2], r[3], w[3], r[4]);
  out += c.pass ? "result: same outputs within tolerance\n" : "result: outputs differ beyond tolerance\n";
  return out;
}

std::string format_timing(const RunReport& r) {
  std::string out = fmt::format("evaluate took {:.3f} ms (first run, with planning) on the {} backend, {} thread{}", r.seconds * 1e3,
                                r.backend, r.plan.threads, r.plan.threads == 1 ? "" : "s");
  if (!r.repeat_seconds.empty()) {
    std::vector<double> sorted = r.repeat_seconds;
    std::sort(sorted.begin(), sorted.end());
    double median = sorted.size() % 2 ? sorted[sorted.size() / 2] : (sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]) / 2;
    out += fmt::format("; {} more run{}: median {:.3f} ms, min {:.3f} ms", sorted.size(), sorted.size() == 1 ? "" : "s", median * 1e3,
                       sorted.front() * 1e3);
  }
  return out;
}

std::string format_run_report(const RunReport& r, bool print_outputs) {
  std::string out;
  if (print_outputs)
    for (const auto& [name, t] : r.outputs) out += fmt::format("{}: {}\n{}\n", name, describe(t), format_tensor(t));
  if (r.compare) out += format_compare(*r.compare);
  return out;
}

std::string format_casts(const RunReport& r, const std::string& tool) {
  std::string out;
  for (const CastNote& c : r.casts)
    out += fmt::format("{}: note: cast {} {} from {} to {}\n", tool, c.count,
                       c.count == 1 ? c.what.substr(0, c.what.size() - 1) : c.what, dtype_name(c.from), dtype_name(c.to));
  return out;
}

std::string run_report_json(const RunReport& r, bool include_values) {
  JsonOut j;
  j.begin_object().key("model").str(r.model).key("model_name").str(r.model_name);
  j.key("inputs_source").str(r.inputs_source).key("parameter_source").str(r.parameter_source);
  j.key("compute_dtype");
  if (r.compute_dtype) j.str(dtype_name(*r.compute_dtype)); else j.null();
  j.key("casts").begin_array();
  for (const CastNote& c : r.casts)
    j.begin_object().key("what").str(c.what).key("from").str(dtype_name(c.from)).key("to").str(dtype_name(c.to)).key("count").num(c.count).end_object();
  j.end_array();
  j.key("inputs").begin_array();
  for (const auto& [name, t] : r.inputs) j.tensor_info(name, t);
  j.end_array();
  j.key("outputs").begin_array();
  for (const auto& [name, t] : r.outputs) {
    j.begin_object().key("name").str(name).key("dtype").str(dtype_name(t.dtype())).key("shape").shape(t.shape());
    if (include_values && !is_complex(t.dtype())) j.key("values").raw(write_json_tensor(t));
    j.end_object();
  }
  j.end_array();
  j.key("backend").str(r.backend);
  j.key("seconds").real(r.seconds);
  j.key("repeat_seconds").begin_array();
  for (double t : r.repeat_seconds) j.real(t);
  j.end_array();
  const PlanInfo& p = r.plan;
  j.key("plan").begin_object().key("threads").num(p.threads).key("arena_bytes").unum(p.arena_bytes);
  j.key("intermediate_bytes").unum(p.intermediate_bytes);
  j.key("kernel_bytes").unum(p.kernel_bytes).key("output_bytes").unum(p.output_bytes);
  j.key("parameter_bytes").unum(p.parameter_bytes);
  j.key("nodes_on").begin_object();
  for (const auto& [name, count] : p.nodes_on) j.key(name).num(count);
  j.end_object().key("nodes").begin_array();
  for (const PlanNodeInfo& n : p.nodes) {
    j.begin_object().key("node").str(n.node).key("op").str(n.op).key("backend").str(n.view ? "view" : n.backend);
    j.key("fused").begin_array();
    for (const std::string& f : n.fused) j.str(f);
    j.end_array().key("in_place").boolean(n.in_place);
    // Which inputs and the output pass channels-last between kernels (see Layout).
    if (n.channels_last_output || std::find(n.channels_last_inputs.begin(), n.channels_last_inputs.end(), true) != n.channels_last_inputs.end()) {
      j.key("channels_last_inputs").begin_array();
      for (bool b : n.channels_last_inputs) j.boolean(b);
      j.end_array().key("channels_last_output").boolean(n.channels_last_output);
    }
    if (n.folded) j.key("folded").boolean(true);
    j.end_object();
  }
  j.end_array().end_object();
  if (r.compare) {
    const CompareResult& c = *r.compare;
    j.key("compare").begin_object().key("other").str(c.other).key("atol").real(c.atol).key("rtol").real(c.rtol);
    j.key("equal_nan").boolean(c.equal_nan).key("pass").boolean(c.pass);
    j.key("outputs").begin_array();
    for (const OutputDiff& d : c.outputs) {
      j.begin_object().key("name").str(d.name).key("pass").boolean(d.pass).key("problem").str(d.problem);
      j.key("max_abs_diff").real(d.max_abs).key("max_rel_diff").real(d.max_rel).key("mismatches").num(d.mismatches);
      j.key("nan").num(d.nan_a).key("nan_other").num(d.nan_b).key("nan_mismatches").num(d.nan_mismatches).end_object();
    }
    j.end_array().end_object();
  }
  j.key("written").written(r.written).end_object();
  return j.text();
}

}  // namespace mithril::tools
