// Partial model serialization at scale: builds a logical model of N operator nodes (default
// 100,000) and times extract_submodel on cuts of several sizes, next to building, writing and
// reading the same model, so that "linear in the size of the graph" can be checked by ratio:
// extraction costs the same order as one pass of building the graph. Run by scripts/bench-extract.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "graph/builder.h"
#include "graph/extract.h"
#include "io/model_json.h"

using namespace mithril;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  long nodes = argc > 1 ? std::atol(argv[1]) : 100000;
  if (nodes < 4) nodes = 4;
  auto t0 = std::chrono::steady_clock::now();
  auto model = std::make_shared<Model>("chain");
  Value h = model->input("input", {Dim::any(), Dim::known(8)});
  Value b = model->parameter("b", {Dim::known(8)});
  std::vector<std::string> refs;
  for (long i = 0; i < nodes / 2; ++i) {
    h = relu(h + b);  // two nodes
    refs.push_back(h.ref());
  }
  model->output("output", h);
  double build = seconds_since(t0);

  t0 = std::chrono::steady_clock::now();
  std::string dict = to_dict(*model);
  double write = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  auto reloaded = from_dict(dict, "chain.json");
  double read = seconds_since(t0);

  std::printf("| what | nodes | seconds | per node (us) |\n|---|---|---|---|\n");
  auto row = [&](const std::string& what, long n, double s) {
    std::printf("| %s | %ld | %.3f | %.2f |\n", what.c_str(), n, s, 1e6 * s / static_cast<double>(n));
  };
  row("build with the builder API", model->node_count(), build);
  row("to_dict (" + std::to_string(dict.size() / 1024) + " KiB)", model->node_count(), write);
  row("from_dict (validate + rebuild)", model->node_count(), read);
  std::size_t n = refs.size();
  struct Cut {
    const char* what;
    std::vector<std::string> inputs;
    std::string output;
  };
  std::vector<Cut> cuts = {
      {"extract the whole graph (input -> output)", {"input"}, "output"},
      {"extract the middle half", {refs[n / 4]}, refs[3 * n / 4]},
      {"extract the last 1%", {refs[n - n / 100 - 1]}, "output"},
  };
  for (const Cut& cut : cuts) {
    t0 = std::chrono::steady_clock::now();
    auto part = extract_submodel(*model, cut.inputs, {cut.output});
    row(cut.what, part->node_count(), seconds_since(t0));
  }
  t0 = std::chrono::steady_clock::now();
  try {
    extract_submodel(*model, {refs[n / 2]}, {"output", refs[n / 4]});
  } catch (const Error&) {
  }
  row("refuse an invalid cut (path back to the input)", model->node_count(), seconds_since(t0));
  return 0;
}
