// cpu_backend(): a stand-in that loads the oneDNN backend module (libmithril-cpu.so, beside
// libmithril.so) on first real use. Compiling a model, or running one whose nodes are all too
// small for oneDNN (PlanOptions::min_node_work), never loads it: a small model run once from the
// shell does not pay oneDNN's start-up (its static initialization alone costs about a millisecond).
#include <cstdlib>

#include "backends/backend.h"
#include "core/sibling_module.h"

namespace mithril {
namespace {

// oneDNN runs on libgomp, whose idle threads spin for 300000 rounds (about a millisecond) before
// they sleep. On a machine other work shares (CI runners, builds, the tools' usual home) that
// spinning costs the process its CPU share, and every primitive's static split waits for a
// descheduled thread: resnet18 on 2 threads took a median 150-280 ms under a load of 10, against
// 40-60 ms when threads spin 1000 rounds (tens of microseconds: still enough to catch the next
// primitive of a run on a quiet machine) or wait passively. A user's OMP_WAIT_POLICY or
// GOMP_SPINCOUNT wins; libgomp reads them once, when it is loaded with the module (a process that
// loaded it before keeps its own setting).
void shorten_omp_spinning() {
  if (!std::getenv("OMP_WAIT_POLICY") && !std::getenv("GOMP_SPINCOUNT")) setenv("GOMP_SPINCOUNT", "1000", 0);
}

const Backend& load_cpu_module() {
  // A static reference: asked once per node during planning, it must not lock each time. A failed
  // load throws out of the initializer, so the next call tries (and says why) again.
  static const Backend& backend = (shorten_omp_spinning(), *static_cast<const Backend*>(
      load_sibling_module("libmithril-cpu.so", "mithril_cpu_backend_v1", "the cpu backend", "; run with --backend reference")));
  return backend;
}

class LazyCpuBackend final : public Backend {
 public:
  std::string_view name() const override { return "cpu"; }
  bool implements(const OpSchema& op) const override { return load_cpu_module().implements(op); }
  bool supports(const NodeSpec& node) const override { return load_cpu_module().supports(node); }
  bool runs_in_place(const NodeSpec& node) const override { return load_cpu_module().runs_in_place(node); }
  std::unique_ptr<Kernel> prepare(const NodeSpec& node) const override { return load_cpu_module().prepare(node); }
  Tolerance tolerance(const NodeSpec& node) const override { return load_cpu_module().tolerance(node); }
};

}  // namespace

const Backend& cpu_backend() {
  reference_backend();  // registers the reference kernels every plan may fall back on
  static const LazyCpuBackend backend;
  return backend;
}

}  // namespace mithril
