// mithril-save: create a model from the zoo or an artifact and write it (see lib/tools/save.h).
#include <iostream>

#include "../common/cli_app.h"
#include "tools/save.h"
#include "zoo/zoo.h"

namespace {

std::string zoo_help() {
  std::string out = "\nZoo models (--arg NAME=VALUE):\n";
  for (const mithril::ZooEntry& e : mithril::zoo_entries()) {
    out += "  " + e.name + ": " + e.description + "\n";
    for (const mithril::ZooArg& a : e.args) out += "      " + a.name + "=" + a.default_value + "  " + a.help + "\n";
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace mithril::tools;
  const std::string tool = "mithril-save";
  CLI::App app{"Create a model from the built-in zoo (or an existing artifact) and write its structure JSON, its "
               "parameters and/or a single-file physical model.",
               tool};
  add_version_flag(app, tool);
  SaveOptions o;
  std::vector<std::string> args;
  bool json = false;
  bool verbose = false;
  app.add_option("source", o.source, "zoo model name (linear, mlp, simple_mlp) or an existing .json/.mithril/.mbin ('-': JSON on stdin)")->required();
  app.add_option("--arg", args, "zoo model argument NAME=VALUE, e.g. dims=10,50,1 (repeatable)");
  app.add_option("--source-params", o.source_params, "parameter values for a structure JSON source (.npz, .npy, .mithril, .mbin)");
  app.add_option("-o,--output", o.outputs, "write the model: .json (structure), .mithril, .mbin or .onnx (repeatable); '-' = structure JSON to stdout");
  app.add_option("--params", o.params_out, "write the parameters to this .npz (or .npy for one parameter); '-' = .npz to stdout");
  app.add_option("--init", o.init, "initializer for every parameter (glorot, zeros, ones, normal(0.1), uniform(-1,1)) or PATH=SPEC for one; "
                                   "default: the declared initializers, or the values the source carries (repeatable)");
  app.add_option("--seed", o.seed, "seed of the initializers (default 0)")->check(seed_validator());
  app.add_flag("--compress", o.compress, "deflate .npz and .mithril members");
  app.add_flag("--force", o.force, "replace outputs that are read-only (refused otherwise)");
  app.add_option("--opset", o.opset, "ONNX opset of .onnx outputs (13 to 18; default 17)")->check(CLI::Range(13, 18));
  add_plugin_option(app, o.plugins);
  app.add_flag("--json", json, "print a JSON report on stdout");
  app.add_flag("-v,--verbose", verbose, "print what was written");
  app.footer(zoo_help() + "\nExit codes: 0 ok, 2 usage or input error.\nExample: mithril-save simple_mlp -o model.json --params params.npz --seed 0");
  if (int rc = parse_command_line(app, tool, argc, argv); rc >= 0) return rc;

  return run_guarded(tool, [&] {
    o.args = parse_key_values(args, "--arg");
    bool stdout_used = o.params_out == "-";
    for (const std::string& out : o.outputs) stdout_used = stdout_used || out == "-";
    if (json && stdout_used) throw mithril::Error(mithril::ErrorKind::invalid_argument, "--json and an output to '-' both need stdout");
    SaveReport report = save_model_files(o);
    if (json) std::cout << save_report_json(report);
    else if (verbose) std::cerr << format_save_report(report);
    return static_cast<int>(kExitOk);
  }, json);
}
