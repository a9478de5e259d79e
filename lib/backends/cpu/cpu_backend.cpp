// The cpu backend: oneDNN primitives for the operators it has, one family per file in this folder.
// Built as its own module (libmithril-cpu.so), loaded by libmithril the first time a plan asks it
// about a node (backends/cpu_module.cpp): a process that never needs it never pays oneDNN's start-up.
#include <fmt/format.h>

#include "backends/cpu/dnnl_util.h"
#include "core/error.h"

namespace mithril {
namespace {

}  // namespace

class CpuBackend final : public Backend {
 public:
  CpuBackend() {
    cpu::add_matmul_ops(table_);
    cpu::add_conv_ops(table_);
    cpu::add_elementwise_ops(table_);
    cpu::add_softmax_ops(table_);
    cpu::add_reduction_ops(table_);
    cpu::add_layout_ops(table_);
    cpu::add_pool_ops(table_);
    cpu::add_conv_transpose_ops(table_);
    cpu::add_normalization_ops(table_);
    cpu::add_resize_ops(table_);  // --- ONNX shape/indexing ops (issue 14)
  }

  std::string_view name() const override { return "cpu"; }

  bool implements(const OpSchema& op) const override { return find(op) != nullptr; }

  bool supports(const NodeSpec& node) const override {
    const cpu::CpuOp* op = find(*node.op);
    return op && (op->layouts || node.all_plain()) && op->supports(node);
  }

  bool runs_in_place(const NodeSpec& node) const override {
    const cpu::CpuOp* op = find(*node.op);
    return op && op->in_place && !node.inputs.empty() && node.inputs[0] == node.output && node.input_layout(0) == node.output_layout;
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

}  // namespace mithril

/// The module's one entry point (see backends/cpu_module.cpp).
extern "C" __attribute__((visibility("default"))) const mithril::Backend* mithril_cpu_backend_v1() {
  static const mithril::CpuBackend backend;
  return &backend;
}
