// mithril-convert: rewrite an artifact as another kind (see lib/tools/convert.h).
#include <iostream>

#include "../common/cli_app.h"
#include "backends/backend.h"
#include "tools/convert.h"

int main(int argc, char** argv) {
  using namespace mithril::tools;
  const std::string tool = "mithril-convert";
  CLI::App app{"Convert between artifact kinds: structure .json + parameters, .mithril and .mbin, both ways; dump the "
               "parameters of any model artifact with --params-out; rewrite a tensor file (.npz/.npy/.pt/.safetensors/.mbin) as another.",
               tool};
  add_version_flag(app, tool);
  ConvertOptions o;
  bool json = false;
  bool verbose = false;
  app.add_option("input", o.input, "any artifact ('-': a structure JSON on stdin)")->required();
  app.add_option("--params", o.params_path, "parameter values for a structure JSON input");
  app.add_option("-o,--output", o.output, "output, kind by extension: .json .mithril .mbin .onnx .npz .npy .pt .safetensors; '-' = stdout "
                                          "(structure JSON of a model, .npz of a tensor file)");
  app.add_option("--params-out", o.params_out, "also write the parameters (or a tensor file's tensors) to this tensor file: .npz .npy .pt .safetensors .mbin ('-' = .npz to stdout)");
  app.add_flag("--compress", o.compress, "deflate .npz and .mithril members");
  app.add_flag("--allow-extra", o.allow_extra, "drop tensors that are not parameters of the model instead of refusing them");
  app.add_flag("--verify", o.verify, ".mbin input: also check the padding between tensors (every tensor's checksum is always checked)");
  app.add_option("--format", o.format, "kind of -o when its name does not tell it (e.g. -o /dev/null)")
      ->check(CLI::IsMember({"json", "npz", "npy", "mithril", "mbin", "pt", "safetensors", "onnx"}));
  app.add_option("--opset", o.opset, "ONNX opset of an .onnx output (13 to 18; default 17)")->check(CLI::Range(13, 18));
  app.add_flag("--force", o.force, "replace outputs that are read-only (refused otherwise)");
  app.add_option("--extract-inputs", o.extract_inputs,
                 "extract a part: the values it starts from (model inputs or intermediate values such as hidden.output)")
      ->delimiter(',');
  app.add_option("--extract-outputs", o.extract_outputs, "extract a part: the outputs or values it computes")->delimiter(',');
  app.add_option("--backend", o.backend, "backend the model is compiled for: cpu (default; operators it lacks run on reference) "
                                         "or reference")
      ->check(CLI::IsMember(mithril::backend_names()));
  add_freeze_option(app, o.freeze);
  app.add_option("--shape", o.shapes, "declare an input's shape NAME=N,N,... in the model written (ONNX export needs every input's "
                                      "rank; a Python Mithril dict declares none); repeatable");
  add_map_options(app, o.map, "the --params file's tensor names into the model's or, without --params, the model's "
                              "parameter names in the tensor files written");
  add_plugin_option(app, o.plugins);
  app.add_flag("--json", json, "print a JSON report on stdout");
  app.add_flag("-v,--verbose", verbose, "print what was written (on stderr)");
  app.footer("\nParameters are validated against the structure before anything is written.\n"
             "Exit codes: 0 ok, 2 usage or input error.\n"
             "Examples: mithril-convert model.json --params params.npz -o model.mithril\n"
             "          mithril-convert model.mithril -o model.json --params-out params.npz\n"
             "          mithril-convert model.mbin -o model.onnx --opset 13\n"
             "          mithril-convert params.npz -o small.npz --compress\n"
             "          mithril-convert sd.pt -o sd.safetensors\n"
             "          mithril-convert mlp.json --params sd.pt --map-file torch.map --torch-linear -o mlp.mbin\n"
             "          mithril-convert model.mithril --extract-inputs input --extract-outputs hidden.output -o features.mithril");
  if (int rc = parse_command_line(app, tool, argc, argv); rc >= 0) return rc;

  return run_guarded(tool, [&] {
    if (json && (o.output == "-" || o.params_out == "-"))
      throw mithril::Error(mithril::ErrorKind::invalid_argument, "--json and an output to '-' both need stdout");
    ConvertReport report = convert_artifact(o);
    if (json) std::cout << convert_report_json(report);
    else if (verbose) std::cerr << format_convert_report(report);
    return static_cast<int>(kExitOk);
  }, json);
}
