#pragma once
// mithril-run: evaluate a model artifact on inputs (a file, or seeded random values), write or
// print the outputs, and optionally compare with a second artifact on the same inputs.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/artifact.h"
#include "physical/plan.h"
#include "tools/common.h"

namespace mithril::tools {

struct RunOptions {
  std::string model;        ///< a model artifact (.json, .mithril, .mbin); "-": structure JSON on stdin
  std::string params_path;  ///< parameters for a structure JSON model
  /// Inputs: .npz (tensors named like the model's inputs), .npy (the only input, or the input
  /// named like the file), or a JSON object {name: nested list} (io/json_tensors.h); "-" reads
  /// any of them from standard input, recognised by content.
  std::string inputs_path;
  bool random = false;                ///< seeded standard-normal inputs (integers: 0..9; bool: coin flips)
  uint64_t seed = 0;                  ///< seed of random inputs and of --init
  std::vector<std::string> shapes;    ///< --shape NAME=N,N for random inputs with unknown or named dims, or parameters for --init
  /// Compute precision "float32"/"float64" ("" = as declared): values are cast; "bfloat16":
  /// values stay float32, the backend computes products in bf16 with float32 accumulation.
  std::string dtype;
  std::string backend = "cpu";        ///< backend by name (backends/backend.h)
  /// With `compare`: the backend of the other artifact ("" = `backend`). Without `compare`: the
  /// model is compared with itself run on this backend (cpu against reference).
  std::string compare_backend;
  int threads = 0;                    ///< compute threads (0 = every core)
  int repeat = 0;                     ///< run evaluate this many more times and report their times
  /// A structure JSON without parameters is refused unless `init`: then every parameter is
  /// filled by its declared initializer with `seed` (reported).
  bool init = false;
  bool allow_extra = false;           ///< ignore tensors that are not parameters
  std::string compare;                ///< a second model artifact evaluated on the same inputs
  std::string compare_params;         ///< parameters for a structure JSON `compare`
  double atol = 0;                    ///< |a - b| <= atol + rtol * |b| elementwise
  bool equal_nan = false;             ///< NaN against NaN counts as equal (else a mismatch, like any NaN)
  double rtol = 0;
  std::string output;                 ///< write outputs here (.npz; .npy for a single output; "-": .npz to stdout)
  bool compress = false;
  std::vector<std::string> freeze;  ///< --freeze NAME=FILE: ONNX graph inputs fixed at import (add_frozen_inputs)
  MapOptions map;  ///< how the --params (and --compare-params) file's tensor names and layouts become the model's
  std::vector<std::string> plugins;
  bool verify = true;  ///< .mbin: check each tensor's checksum before use (false: --no-verify)
  bool force = false;  ///< replace a read-only output (refused otherwise)
  std::string format;  ///< kind of `output` when its name does not tell (-o /dev/null): npz or npy
};

/// A dtype change --dtype made: `count` tensors of `what` ("parameters", "inputs") went from `from` to `to`.
struct CastNote {
  std::string what;
  DType from = DType::float32;
  DType to = DType::float32;
  int64_t count = 0;
};

/// How one output of the model compares with the other artifact's.
struct OutputDiff {
  std::string name;
  std::string problem;  ///< non-empty when the outputs are not comparable ("missing in B", "shape [5,1] vs [5,2]")
  double max_abs = 0;   ///< max |a - b| over elements where neither is NaN
  double max_rel = 0;   ///< max |a - b| / |b| over elements where they differ (inf where b == 0), NaN excluded
  int64_t mismatches = 0;  ///< elements beyond tolerance, NaN mismatches included
  int64_t nan_a = 0;       ///< NaN elements in this model's output
  int64_t nan_b = 0;       ///< NaN elements in the other's
  int64_t nan_mismatches = 0;  ///< elements NaN in one output only (or in both, without equal_nan)
  Shape shape;           ///< of this model's output
  bool pass = true;
};

struct CompareResult {
  std::string other;
  double atol = 0;
  double rtol = 0;
  bool equal_nan = false;
  std::vector<OutputDiff> outputs;
  bool pass = true;
};

struct RunReport {
  std::string model;              ///< the artifact path
  std::string model_name;
  std::string inputs_source;      ///< the inputs file, "random, seed N", or "none (...)" for a model without inputs
  NamedTensors inputs;            ///< as given to the model (before any cast)
  std::string parameter_source;   ///< the file holding the values, or "declared initializers, seed N (--init)"
  std::optional<DType> compute_dtype;
  std::vector<CastNote> casts;
  NamedTensors outputs;           ///< the model's outputs, in the model's output order
  std::optional<CompareResult> compare;
  double seconds = 0;             ///< wall time of the first evaluate() (the first model; includes planning)
  std::vector<double> repeat_seconds;  ///< wall time of each repeated evaluate() (the plan exists)
  std::string backend;            ///< the backend that ran the model
  PlanInfo plan;                  ///< where its nodes ran, memory
  std::vector<WrittenFile> written;
};

/// Does the whole job of mithril-run. Throws Error for bad input (missing inputs or shapes, a
/// structure without parameters and no `init`, parameters that do not fit); a failed
/// comparison is not an error: see report.compare->pass.
RunReport run_model(const RunOptions& options);

/// Elementwise comparison of two output sets (names in `a` order; extra names in `b` fail too).
/// NaN never compares equal to a number; NaN against NaN is equal only with `equal_nan`.
CompareResult compare_outputs(const NamedTensors& a, const NamedTensors& b, double atol, double rtol, bool equal_nan = false);

/// Reads an inputs file (.npz, .npy or JSON, by content) for `model`; "-" reads standard input.
NamedTensors read_inputs(const std::string& path, const Model& model);

/// Seeded random inputs for every input of `model`, shapes from `shapes` or the declaration.
/// Throws Error(invalid_argument) listing every input whose shape is not fully known.
NamedTensors random_inputs(const Model& model, const std::map<std::string, Shape>& shapes, uint64_t seed);

/// "evaluate took 12.3 ms (first run, with planning); 20 more runs: median 4.1 ms, min 3.9 ms".
std::string format_timing(const RunReport& report);
/// Outputs printed numpy-like (when `print_outputs`), then the comparison table if any.
std::string format_run_report(const RunReport& report, bool print_outputs);
/// One note per cast: "<tool>: note: cast 4 parameters from float32 to float64" ("1 input").
std::string format_casts(const RunReport& report, const std::string& tool);
/// The comparison table: one line per output with max abs / rel difference and ok/FAIL.
std::string format_compare(const CompareResult& compare);
/// JSON report; output values are included (nested lists) when `include_values`.
std::string run_report_json(const RunReport& report, bool include_values);

}  // namespace mithril::tools
