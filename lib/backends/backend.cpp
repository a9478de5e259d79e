#include "backends/backend.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "core/error.h"

namespace mithril {

bool NodeSpec::all_plain() const {
  return output_layout == Layout::plain && std::all_of(input_layouts.begin(), input_layouts.end(), [](Layout l) { return l == Layout::plain; });
}

void Backend::execute(const OpSchema& op, const std::vector<Tensor>& inputs, const Attributes& attrs, Tensor& out) const {
  NodeSpec node;
  node.path = op.qualified_name();
  node.op = &op;
  node.attributes = &attrs;
  for (const Tensor& t : inputs) {
    node.inputs.push_back({t.dtype(), t.shape()});
    node.input_values.push_back(&t);
  }
  node.output = {out.dtype(), out.shape()};
  if (!supports(node))
    throw Error(ErrorKind::unsupported,
                "operator '" + op.qualified_name() + "' has no kernel for the '" + std::string(name()) + "' backend");
  std::vector<const Tensor*> pointers;
  for (const Tensor& t : inputs) pointers.push_back(&t);
  prepare(node)->run(pointers, out);
}

namespace {

// Wraps a registered KernelFn: the reference kernels (and plugins' kernels) take their inputs as
// a vector of handles and expect a zero-filled output.
class ReferenceKernel final : public Kernel {
 public:
  ReferenceKernel(const KernelFn* fn, const Attributes* attributes) : fn_(fn), attributes_(attributes) {}

  void run(std::span<const Tensor* const> inputs, Tensor& out) override {
    args_.clear();
    for (const Tensor* t : inputs) args_.push_back(*t);
    if (out.nbytes() > 0) std::memset(out.mutable_data(), 0, out.nbytes());
    void* buffer = out.nbytes() > 0 ? out.mutable_data() : nullptr;
    Tensor result = out;
    (*fn_)(args_, *attributes_, result);
    // A kernel may replace its output handle instead of filling it: copy into the planned buffer.
    if (result.data() != buffer && buffer) {
      if (result.dtype() != out.dtype() || result.shape() != out.shape())
        throw Error(ErrorKind::unsupported, fmt::format("kernel returned {} for an output of {}", describe(result), describe(out)));
      std::memcpy(buffer, result.data(), out.nbytes());
    }
    args_.clear();
  }

 private:
  const KernelFn* fn_;
  const Attributes* attributes_;
  std::vector<Tensor> args_;
};

class ReferenceBackend final : public Backend {
 public:
  std::string_view name() const override { return "reference"; }
  bool implements(const OpSchema& op) const override { return op.kernels.count("reference") > 0; }
  bool supports(const NodeSpec& node) const override { return node.fused.empty() && node.all_plain() && implements(*node.op); }
  std::unique_ptr<Kernel> prepare(const NodeSpec& node) const override {
    if (!supports(node))
      throw Error(ErrorKind::unsupported, fmt::format("node '{}': operator '{}' has no kernel for the 'reference' backend",
                                                      node.path, node.op->qualified_name()));
    return std::make_unique<ReferenceKernel>(&node.op->kernels.at("reference"), node.attributes);
  }
};

std::atomic<int> g_threads{0};  // 0: every core

}  // namespace

const Backend& reference_backend() {
  static std::once_flag once;
  static ReferenceBackend backend;
  std::call_once(once, [] { register_reference_kernels(OpRegistry::global()); });
  return backend;
}

const Backend& default_backend() { return cpu_backend(); }

std::vector<std::string> backend_names() { return {"cpu", "reference"}; }

const Backend& backend_by_name(std::string_view name) {
  if (name == "reference") return reference_backend();
  if (name == "cpu") return cpu_backend();
  throw Error(ErrorKind::invalid_argument,
              fmt::format("unknown backend '{}' (known: {})", name, fmt::join(backend_names(), ", ")));
}

void set_compute_threads(int threads) {
  if (threads < 0) throw Error(ErrorKind::invalid_argument, fmt::format("threads: {} is negative", threads));
  g_threads = threads;
}

int compute_threads() {
  int threads = g_threads;
  return threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace mithril
