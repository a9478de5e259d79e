// mithril-load: load and validate any artifact, print a summary (see lib/tools/load.h).
#include <iostream>

#include "../common/cli_app.h"
#include "backends/backend.h"
#include "io/atomic_file.h"
#include "tools/graphviz.h"
#include "tools/load.h"

int main(int argc, char** argv) {
  using namespace mithril::tools;
  const std::string tool = "mithril-load";
  CLI::App app{"Load any artifact (structure .json [+ --params], .mithril, .mbin, or a bare tensor file: .npz/.npy/.pt/.safetensors/tensor-only .mbin), validate it "
               "completely and print a summary: each input, parameter, operator and submodel with its shape and "
               "parameter count, and totals; for a tensor file, each tensor's name, dtype and shape.",
               tool};
  add_version_flag(app, tool);
  LoadOptions o;
  bool json = false;
  bool quiet = false;
  bool ops = false;
  std::string dot;
  app.add_option("artifact", o.path, "the file to load ('-': a structure JSON on stdin)");
  app.add_option("--dot", dot, "write a Graphviz picture of the model to this file ('-': stdout, instead of the report): "
                              "submodels as clusters, dtype and shape on every edge; draw it with dot -Tsvg");
  app.add_option("--depth", o.depth, "expand submodels this many levels deep in the summary table (default 0)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--ops", ops, "list every operator a model can use (after --plugin): inputs, attributes with defaults, backends");
  app.add_option("--params", o.params_path, "parameter values for a structure JSON (.npz, .npy, .pt, .safetensors, .mithril, .mbin)");
  app.add_flag("--allow-extra", o.allow_extra, "accept (and list) tensors that are not parameters of the model");
  bool no_verify = false;
  auto* verify = app.add_flag("--verify", o.verify, ".mbin: also check the zero padding between tensors (every checksum is checked anyway)");
  app.add_flag("--no-verify", no_verify, ".mbin: skip the per-tensor checksums (raw speed; a corrupted value goes unnoticed)")
      ->excludes(verify);
  app.add_flag("--allow-unknown-ops", o.allow_unknown_ops,
               "keep operators nobody registered as opaque nodes and validate and summarize the rest");
  app.add_option("--backend", o.backend, "backend the model is compiled for: cpu (default; operators it lacks run on reference) "
                                         "or reference")
      ->check(CLI::IsMember(mithril::backend_names()));
  add_freeze_option(app, o.freeze);
  add_map_options(app, o.map, "the --params file's tensor names into the model's");
  add_plugin_option(app, o.plugins);
  app.add_flag("--json", json, "print the report as JSON");
  app.add_flag("-q,--quiet", quiet, "print nothing; only the exit code tells");
  app.footer("\nValidation: the structure (schema, operators, shapes); with parameter values, every parameter present,\n"
             "no extra tensors (unless --allow-extra), shapes and dtypes as declared, and (.mbin) every tensor's\n"
             "XXH3 checksum. Every problem is listed.\n"
             "Exit codes: 0 valid, 2 usage error or invalid/unreadable input.");
  if (int rc = parse_command_line(app, tool, argc, argv); rc >= 0) return rc;
  o.check_tensors = !no_verify;
  if (!ops && o.path.empty()) {
    std::cerr << tool << ": error: artifact is required (or --ops) (see " << tool << " --help)\n";
    return static_cast<int>(kExitInputError);
  }
  if (ops) {
    return run_guarded(tool, [&] {
      std::vector<OperatorInfo> list = list_operators(o.plugins);
      std::cout << (json ? operators_json(list) : format_operators(list));
      return static_cast<int>(kExitOk);
    }, json);
  }

  return run_guarded(tool, [&] {
    LoadReport report;
    try {
      report = inspect_artifact(o);
    } catch (const mithril::Error& e) {
      if (json) std::cout << load_error_json(o.path, e);  // still one line on stderr, below
      throw;
    }
    if (!dot.empty()) {
      if (!report.model)
        throw mithril::Error(mithril::ErrorKind::invalid_argument, o.path + ": --dot draws a model; this file holds only tensors");
      std::string picture = model_dot(*report.model);
      if (dot == "-") {
        std::cout << picture;
        return static_cast<int>(kExitOk);
      }
      mithril::write_file_atomic(dot, picture);
    }
    if (json) std::cout << load_report_json(report);
    else if (!quiet) std::cout << format_load_report(report);
    return static_cast<int>(kExitOk);
  });
}
