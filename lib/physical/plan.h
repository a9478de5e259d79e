#pragma once
// Plans: a physical model prepared for one input signature (every input's concrete shape).
//
// Building a plan resolves every value's concrete type once, then:
//  - fuses chains of elementwise operators into the node before them where the backend can
//    (matmul + bias add + relu run as one oneDNN primitive with post-ops);
//  - runs a node whose inputs are all parameters or constants once, at build time (a weight
//    transposed for a matmul), unless its result is larger than its inputs;
//  - places each node on the preferred backend, or on `reference` when the preferred one does not
//    support it (an operator, a dtype, a broadcast it has no primitive for);
//  - makes reshape, flatten and identity views of their input (no copy);
//  - passes an intermediate channels-last between kernels that all take it so (a chain of
//    convolutions), plain everywhere else (see Layout);
//  - assigns every intermediate an offset in one arena by lifetime, so buffers are reused, and
//    lets elementwise kernels write over an input that is used for the last time (in place);
//  - prepares one Kernel per node (primitives built, weights reordered).
// Running a plan binds the inputs, allocates only the returned outputs and runs the kernels.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backends/backend.h"

namespace mithril {

/// Where one node of a plan runs.
struct PlanNodeInfo {
  std::string node;                ///< dotted path of the (head) node
  std::string op;                  ///< its operator
  std::string backend;             ///< "cpu", "reference"
  std::vector<std::string> fused;  ///< paths of the nodes fused into it, in order
  bool in_place = false;           ///< writes its output over its first input
  bool view = false;               ///< a view of its input (reshape, flatten, identity): no kernel
  /// Inputs (in the kernel's input order) and output passed channels-last (see Layout).
  std::vector<bool> channels_last_inputs;
  bool channels_last_output = false;
  /// Run once when the plan was built (every input a parameter or constant): its result is a
  /// constant of the plan, and no kernel runs it per run.
  bool folded = false;
};

/// What a plan holds and where its nodes run: for reports (mithril-run --json) and tests.
struct PlanInfo {
  int threads = 1;
  uint64_t arena_bytes = 0;         ///< the one buffer every intermediate lives in
  uint64_t intermediate_bytes = 0;  ///< the intermediates' sizes summed (what no reuse would take)
  /// The two largest intermediates live at once summed: the arena's target bound on chains.
  uint64_t largest_two_live_bytes = 0;
  uint64_t kernel_bytes = 0;        ///< held by kernels: reordered weights, scratch, staging
  uint64_t output_bytes = 0;        ///< allocated per run for the returned outputs
  uint64_t parameter_bytes = 0;     ///< parameters and constants as stored
  std::vector<PlanNodeInfo> nodes;  ///< in execution order
  std::map<std::string, int> nodes_on;  ///< backend name -> kernels placed on it
};

/// The flat graph a plan is built from, with every value's concrete type (PhysicalModel makes it).
struct PlanGraph {
  struct Node {
    std::string path;
    const OpSchema* op = nullptr;
    const Attributes* attributes = nullptr;
    std::vector<int> inputs;  ///< value slots
    int output = -1;
  };
  std::vector<Node> nodes;                           ///< topological order
  std::vector<TensorType> types;                     ///< by slot
  std::vector<std::pair<std::string, int>> inputs;   ///< model input name, slot
  std::vector<std::pair<int, Tensor>> fixed;         ///< parameters and constants, by slot
  std::vector<std::pair<std::string, int>> returned; ///< outputs (and requested intermediates) by name
};

struct PlanOptions {
  bool bfloat16_compute = false;  ///< see NodeSpec::bfloat16_compute
  uint64_t min_node_work = 0;     ///< smaller nodes run on reference (see CompileOptions::min_node_work)
};

/// The work of a node for placement: multiply-adds for matmul, conv and conv_transpose, output
/// elements times the window for pools, else the elements of its largest input or output.
uint64_t node_work(const NodeSpec& node);

class Plan {
 public:
  /// Builds the plan. Nodes go to `preferred` when it supports them and they are worth it (see
  /// PlanOptions::min_node_work), else to reference; throws Error(unsupported) naming a node
  /// neither can run.
  Plan(const PlanGraph& graph, const Backend& preferred, const PlanOptions& options);
  ~Plan();
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;

  /// Runs on `inputs` (by name, each with the type the plan was built for). Returns every
  /// returned value by name. Serialized: one run at a time per plan.
  std::map<std::string, Tensor> run(const std::map<std::string, Tensor>& inputs);

  const PlanInfo& info() const { return info_; }

 private:
  struct Step;
  enum class Storage { input, fixed, arena, per_run, view };
  struct Slot {
    TensorType type;
    Storage storage = Storage::arena;
    int source = -1;          ///< view: the slot it views
    uint64_t offset = 0;      ///< arena
  };

  std::mutex mutex_;
  std::vector<Slot> slots_;
  std::vector<Tensor> values_;  ///< fixed and arena slots bound once; the others per run
  std::vector<std::unique_ptr<Step>> steps_;
  std::vector<std::pair<std::string, int>> inputs_, returned_;
  std::vector<int> per_run_views_;  ///< view slots rebound per run (their source changes per run), in order
  Tensor arena_;
  PlanInfo info_;
};

}  // namespace mithril
