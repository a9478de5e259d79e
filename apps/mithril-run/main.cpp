// mithril-run: evaluate a model on inputs, optionally compare with another (see lib/tools/run.h).
#include <iostream>

#include <fmt/format.h>

#include "../common/cli_app.h"
#include "tools/run.h"

int main(int argc, char** argv) {
  using namespace mithril::tools;
  const std::string tool = "mithril-run";
  CLI::App app{"Evaluate a model artifact on inputs and write (-o) or print its outputs; with --compare, evaluate a "
               "second artifact on the same inputs and report the max absolute and relative difference per output.",
               tool};
  add_version_flag(app, tool);
  RunOptions o;
  bool json = false;
  bool quiet = false;
  bool time = false;
  app.add_option("model", o.model, "model artifact: .mithril, .mbin, or structure .json (with --params or --init); '-' = JSON on stdin")->required();
  app.add_option("--params", o.params_path, "parameter values for a structure JSON model");
  app.add_flag("--init", o.init, "a structure JSON without --params: fill parameters from the declared initializers with --seed "
                                 "(without this, such a model is refused: outputs of unset weights are meaningless)");
  app.add_option("-i,--inputs", o.inputs_path, "inputs: .npz/.pt/.safetensors/.mbin (one tensor per input), .npy (the only input) or JSON {\"input\": [[...]]}; '-' = stdin; "
                                      "a model with no inputs (all parameters) runs without --inputs or --random");
  app.add_flag("--random", o.random, "seeded random inputs (standard normal; integers 0..9)");
  app.add_option("--seed", o.seed, "seed of --random inputs and of --init (default 0)")->check(seed_validator());
  app.add_option("--shape", o.shapes,
                 "shape of a random input NAME=N,N,... (needed for unknown or named dims), or with --init of a parameter "
                 "whose shape the inputs leave open; repeatable");
  app.add_option("--dtype", o.dtype, "compute precision float32|float64: parameters and inputs are cast (reported); bfloat16: "
                                     "matmul/conv products in bf16 with float32 accumulation (AMX/AVX-512), values stay float32")
      ->check(CLI::IsMember({"float32", "float64", "bfloat16"}));
  app.add_option("--backend", o.backend, "backend: cpu (oneDNN; nodes it cannot run fall back to reference) or reference (plain "
                                         "loops, the oracle); default cpu")
      ->check(CLI::IsMember(mithril::backend_names()));
  app.add_option("--compare-backend", o.compare_backend, "backend of the --compare model; without --compare, compare this model "
                                                         "with itself on that backend (e.g. cpu against reference)")
      ->check(CLI::IsMember(mithril::backend_names()));
  app.add_option("--threads", o.threads, "compute threads (default: every core)")->check(CLI::NonNegativeNumber);
  app.add_option("--repeat", o.repeat, "run the evaluation N more times on the same plan and report median and min (with --time, --json)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--allow-extra", o.allow_extra, "ignore tensors that are not parameters of the model");
  app.add_option("--compare", o.compare, "another model artifact to evaluate on the same inputs");
  app.add_option("--compare-params", o.compare_params, "parameter values for a structure JSON --compare model");
  app.add_option("--atol", o.atol, "absolute tolerance of --compare (default 0)")->check(tolerance_validator());
  app.add_flag("--equal-nan", o.equal_nan, "--compare: NaN against NaN counts as equal (NaN against a number never does)");
  app.add_option("--rtol", o.rtol, "relative tolerance of --compare (default 0): pass when |a-b| <= atol + rtol*|b|")
      ->check(tolerance_validator());
  app.add_option("-o,--output", o.output, "write the outputs to this tensor file (.npz, .pt, .safetensors, .mbin; .npy for a single output); '-' = .npz to stdout");
  app.add_flag("--compress", o.compress, "deflate the .npz members");
  app.add_option("--format", o.format, "kind of -o when its name does not tell it (e.g. -o /dev/null): npz, npy, pt or safetensors")
      ->check(CLI::IsMember({"npz", "npy", "pt", "safetensors"}));
  app.add_flag("--force", o.force, "replace an output that is read-only (refused otherwise)");
  bool no_verify = false;
  app.add_flag("--no-verify", no_verify, ".mbin: skip the per-tensor XXH3 checksums (raw speed; a corrupted value goes unnoticed)");
  app.add_flag("--time", time, "report the evaluation time (stderr, and in --json)");
  add_freeze_option(app, o.freeze);
  add_map_options(app, o.map, "the --params (and --compare-params) file's tensor names into the model's");
  add_plugin_option(app, o.plugins);
  app.add_flag("--json", json, "print a JSON report on stdout (with output values unless -o is given)");
  app.add_flag("-q,--quiet", quiet, "print no cast notes");
  app.footer("\nWithout -o the outputs are printed (numpy-like). Casts made by --dtype are noted on stderr.\n"
             "Exit codes: 0 ok, 1 --compare found a difference beyond --atol/--rtol, 2 usage or input error.\n"
             "Example: mithril-run model.mithril --random --seed 0 --shape input=5,10 --compare model.mbin\n"
             "         mithril-run big.mbin --inputs x.npz --compare-backend reference --atol 1e-4 --rtol 1e-4 --time");
  if (int rc = parse_command_line(app, tool, argc, argv); rc >= 0) return rc;
  o.verify = !no_verify;

  return run_guarded(tool, [&] {
    if (json && o.output == "-")
      throw mithril::Error(mithril::ErrorKind::invalid_argument, "--json and -o - both need stdout");
    RunReport report = run_model(o);
    bool out_is_stdout = o.output == "-";
    if (json) {
      std::cout << run_report_json(report, o.output.empty());
    } else {
      // With -o - the .npz owns stdout, so the comparison goes to stderr.
      (out_is_stdout ? std::cerr : std::cout) << format_run_report(report, o.output.empty());
      if (!quiet) std::cerr << format_casts(report, tool);
    }
    if (time) std::cerr << fmt::format("{}: {}\n", tool, format_timing(report));
    return static_cast<int>(report.compare && !report.compare->pass ? kExitCheckFailed : kExitOk);
  }, json);
}
