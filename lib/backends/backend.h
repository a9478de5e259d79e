#pragma once
// Backends run operators on concrete tensors.
//
// The executor (physical/plan.h) hands a backend one node at a time, with every input's dtype and
// concrete shape known (a NodeSpec). The backend says whether it can run that node (`supports`),
// and if so `prepare`s a Kernel: a per-node object built once per plan that owns what running
// needs (oneDNN primitives, weights reordered to the layout a primitive prefers, scratch), then
// run many times. A node may carry a chain of fused elementwise operators applied to its result
// (matmul + bias + relu as one primitive with post-ops); the executor only proposes a fusion the
// backend `supports`.
//
// Backends: `reference` (lib/backends/reference) is plain loops, simple and obviously right: the
// oracle every faster backend is compared with, and the fallback for any node another backend
// does not support. `cpu` (lib/backends/cpu) runs on oneDNN (AVX-512, AMX bf16 where the CPU has
// them) and is the default.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ops/registry.h"

namespace mithril {

/// A value's dtype and concrete shape.
struct TensorType {
  DType dtype = DType::float32;
  Shape shape;
  bool operator==(const TensorType&) const = default;
};

/// An elementwise operator applied to a node's result inside the node's kernel. A binary one
/// takes the running result as its left operand and NodeSpec::inputs[operand] as the right one
/// (for add and multiply, the executor also fuses when the result is the right operand). The one
/// operator that may change the result's shape is a max-pool ending a convolution's chain.
struct FusedOp {
  const OpSchema* op = nullptr;
  const Attributes* attributes = nullptr;
  int operand = -1;  ///< index into NodeSpec::inputs of the second operand; -1 for a unary op
};

/// How a value's elements are ordered in memory while it passes between two kernels of a plan.
/// `plain` is row-major in the shape's order: every tensor outside a plan (inputs, returned
/// values, parameters) and every view is plain. `channels_last` stores a [N, C, spatial...] value
/// (rank 3 to 5) as [N, spatial..., C], NHWC for 4-D: the layout oneDNN's fastest float32
/// convolutions read and write, so a chain of them passes values on without reordering each one
/// back to plain. Same bytes, same shape, only the order differs. The executor makes a value
/// channels-last only when its producer and every consumer `supports` the node with that layout.
enum class Layout : uint8_t { plain, channels_last };

/// One node as the executor asks a backend to run it: all types concrete.
struct NodeSpec {
  std::string path;  ///< dotted path, for messages ("hidden.matmul_0")
  const OpSchema* op = nullptr;
  const Attributes* attributes = nullptr;  ///< complete (defaults filled)
  /// The head operator's inputs, then the fused operators' extra operands.
  std::vector<TensorType> inputs;
  /// Values known when the plan is built (parameters, constants), by input index; null for values
  /// that change per run. A backend may preprocess them once (reorder weights) but must then be
  /// re-prepared when they change: the executor discards its plans on every set_value.
  std::vector<const Tensor*> input_values;
  std::vector<FusedOp> fused;
  TensorType output;
  /// Compute products in bfloat16 with float32 accumulation (inputs and output stay float32).
  bool bfloat16_compute = false;
  /// The layout of each input (empty: all plain) and of the output.
  std::vector<Layout> input_layouts;
  Layout output_layout = Layout::plain;

  Layout input_layout(std::size_t i) const { return i < input_layouts.size() ? input_layouts[i] : Layout::plain; }
  /// Every input and the output are plain.
  bool all_plain() const;
};

/// How far a backend's result may be from the reference backend's on the same node, elementwise:
/// |a - b| <= atol + rtol * |b|. Zero for exact (data movement, integer arithmetic).
struct Tolerance {
  double atol = 0;
  double rtol = 0;
};

/// A prepared node: run it any number of times (not concurrently).
class Kernel {
 public:
  virtual ~Kernel() = default;
  /// Computes the node into `out` (allocated with NodeSpec::output's type; its prior contents are
  /// unspecified, and it may be the same buffer as inputs[0] when the backend `runs_in_place`).
  /// `inputs` follow NodeSpec::inputs, contiguous, native byte order, in NodeSpec's layouts.
  virtual void run(std::span<const Tensor* const> inputs, Tensor& out) = 0;
  /// Bytes this kernel holds across runs (reordered weights, scratch), for plan reports.
  virtual uint64_t held_bytes() const { return 0; }
};

class Backend {
 public:
  virtual ~Backend() = default;

  /// "reference", "cpu".
  virtual std::string_view name() const = 0;

  /// True when the backend has a kernel for `op` at all (some dtype and shape): compile() accepts
  /// a model when every operator is implemented by the backend or by reference.
  virtual bool implements(const OpSchema& op) const = 0;

  /// True when the backend can run this node (dtypes, shapes, attributes and fused chain).
  virtual bool supports(const NodeSpec& node) const = 0;

  /// True when the kernel of `node` may write its output over inputs[0] (same type, last use).
  virtual bool runs_in_place(const NodeSpec&) const { return false; }

  /// Builds the kernel of a node it supports. Throws Error(unsupported) otherwise.
  virtual std::unique_ptr<Kernel> prepare(const NodeSpec& node) const = 0;

  /// How far this backend's result for `node` may be from reference's (see Tolerance).
  virtual Tolerance tolerance(const NodeSpec&) const { return {}; }

  /// Runs one operator once (prepare + run): for tests and one-off calls. `out` arrives
  /// allocated with the inferred dtype and shape. Throws Error(unsupported) when the node is
  /// not supported.
  void execute(const OpSchema& op, const std::vector<Tensor>& inputs, const Attributes& attrs, Tensor& out) const;
};

/// The reference backend; its kernels are registered in OpRegistry::global() on first call.
const Backend& reference_backend();

/// The oneDNN backend (float32 and bfloat16 compute; other dtypes fall back to reference).
const Backend& cpu_backend();

/// The backend tools and evaluate use unless told otherwise: cpu.
const Backend& default_backend();

/// A backend by name ("cpu", "reference"). Throws Error(invalid_argument) listing the known names.
const Backend& backend_by_name(std::string_view name);

/// The names backend_by_name() knows, default first.
std::vector<std::string> backend_names();

/// Threads the compute backends use: 0 (default) = every core.
void set_compute_threads(int threads);
/// The threads compute runs on now.
int compute_threads();

/// Attaches the reference kernels of every built-in operator to `registry` (each op family's
/// kernels live in lib/backends/reference/<family>.cpp).
void register_reference_kernels(OpRegistry& registry);

}  // namespace mithril
