// The cpu backend: oneDNN primitives for the operators it has, one family per file in this folder.
#include <fmt/format.h>

#include "backends/cpu/dnnl_util.h"
#include "core/error.h"

namespace mithril {
namespace {

class CpuBackend final : public Backend {
 public:
  CpuBackend() {
    cpu::add_matmul_ops(table_);
    cpu::add_conv_ops(table_);
    cpu::add_elementwise_ops(table_);
    cpu::add_softmax_ops(table_);
    cpu::add_reduction_ops(table_);
    cpu::add_layout_ops(table_);
  }

  std::string_view name() const override { return "cpu"; }

  bool implements(const OpSchema& op) const override { return find(op) != nullptr; }

  bool supports(const NodeSpec& node) const override {
    const cpu::CpuOp* op = find(*node.op);
    return op && op->supports(node);
  }

  bool runs_in_place(const NodeSpec& node) const override {
    const cpu::CpuOp* op = find(*node.op);
    return op && op->in_place && !node.inputs.empty() && node.inputs[0] == node.output;
  }

  std::unique_ptr<Kernel> prepare(const NodeSpec& node) const override {
    if (!supports(node))
      throw Error(ErrorKind::unsupported, fmt::format("node '{}': the cpu backend cannot run operator '{}' on these inputs",
                                                      node.path, node.op->qualified_name()));
    try {
      return find(*node.op)->prepare(node);
    } catch (const dnnl::error& e) {
      throw Error(ErrorKind::unsupported, fmt::format("node '{}': oneDNN: {}", node.path, e.what()));
    }
  }

  Tolerance tolerance(const NodeSpec& node) const override {
    const cpu::CpuOp* op = find(*node.op);
    return op ? op->tolerance(node) : Tolerance{};
  }

 private:
  const cpu::CpuOp* find(const OpSchema& op) const {
    if (!op.domain.empty()) return nullptr;
    auto it = table_.find(op.name);
    return it == table_.end() ? nullptr : &it->second;
  }

  cpu::CpuOpTable table_;
};

}  // namespace

const Backend& cpu_backend() {
  reference_backend();  // registers the reference kernels every plan may fall back on
  static const CpuBackend backend;
  return backend;
}

}  // namespace mithril
