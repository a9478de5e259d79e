#pragma once
// Physical models: a logical model compiled for a backend, with parameter values.
//
// compile() flattens the submodel tree into one list of operator calls whose values have
// dotted paths ("hidden.weight", "hidden.add_0"), checks every shape it can with the given input
// shapes, and allocates every parameter (filled by its initializer with the seed). Inputs may
// keep symbolic dims.
//
// evaluate() runs a Plan (physical/plan.h) built for the inputs' shapes: the first call with a
// new input signature (a new batch size) infers every shape, fuses, places nodes on the backend
// (or on reference where it cannot run them) and prepares the kernels; later calls with the same
// signature only bind inputs, allocate outputs and run. Setting a parameter discards the plans.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "graph/model.h"
#include "physical/plan.h"
#include "io/npz.h"

namespace mithril {

/// CompileOptions::min_node_work's default: 2^16 multiply-adds (simple_mlp on a batch of 5 runs on
/// reference; a 64x64x64 matmul on the backend).
inline constexpr uint64_t kDefaultMinNodeWork = uint64_t{1} << 16;

struct CompileOptions {
  /// Concrete shapes for inputs (by name); others keep their declared shapes.
  std::map<std::string, Shape> shapes;
  /// Compute precision: every floating-point input, parameter and constant is cast to it.
  /// bfloat16 is special: values stay float32 and the backend computes products in bfloat16 with
  /// float32 accumulation (matmul, conv on the cpu backend; reference computes in float32).
  std::optional<DType> dtype;
  /// Concrete shapes of parameters whose declared shapes are not fully known (by dotted path),
  /// usually the shapes of the values about to be loaded.
  std::map<std::string, Shape> parameter_shapes;
  /// Seed of the parameter initializers.
  uint64_t seed = 0;
  /// Fill parameters from their initializers. Off when values are about to be loaded: the
  /// parameters then have no value until set (evaluate refuses to run without them).
  bool initialize_parameters = true;
  /// Nodes doing less work than this (multiply-adds for matmul and conv, elements otherwise) run
  /// on reference even when the backend supports them: preparing a oneDNN primitive (JIT code
  /// generation) costs about a millisecond, more than such a node takes in plain loops, which
  /// matters for small models run once from the shell. 0 puts every supported node on the backend.
  uint64_t min_node_work = kDefaultMinNodeWork;
};

/// Most bytes of parameters compile() fills from initializers: a model file declaring huge
/// shapes gets an error, not an allocation the machine cannot hold.
inline constexpr uint64_t kMaxInitializedParameterBytes = uint64_t{16} << 30;

using TensorMap = std::map<std::string, Tensor>;

struct StateDictMapping;  // physical/state_dict.h

class PhysicalModel {
 public:
  /// Compiles `model` for `backend`. Throws Error(shape) naming the node whose shapes do not
  /// agree, Error(shape) for a parameter whose shape cannot be resolved, Error(unsupported) for
  /// an operator neither the backend nor reference (its fallback) implements.
  static PhysicalModel compile(std::shared_ptr<const Model> model, const Backend& backend, const CompileOptions& options = {});

  const Model& logical() const { return *model_; }
  std::shared_ptr<const Model> logical_ptr() const { return model_; }
  const Backend& backend() const { return *backend_; }
  /// The compute dtype if one was forced at compile time.
  std::optional<DType> compute_dtype() const { return dtype_; }

  /// Dotted names of every parameter, in declaration order.
  std::vector<std::string> get_parameter_names() const;
  /// Shape of a parameter. Throws Error(invalid_argument) for an unknown name.
  Shape get_shape(const std::string& name) const;
  /// Dtype of a parameter.
  DType get_dtype(const std::string& name) const;

  /// Sets a parameter. The value must have the parameter's shape; its dtype is cast to the
  /// parameter's. Throws Error(invalid_argument) for an unknown name, Error(shape) for a shape
  /// mismatch: "parameter 'hidden.weight': shape [50,10], expected [10,50]".
  void set_value(const std::string& name, const Tensor& value);
  void set_values(const TensorMap& values);
  const Tensor& get_value(const std::string& name) const;
  /// Every parameter by name.
  TensorMap get_values() const;

  /// The parameters as a state dict, in declaration order, renamed and laid out by `mapping`
  /// for another framework (physical/state_dict.h; default: our own names and layouts).
  NamedTensors state_dict(const StateDictMapping& mapping) const;
  NamedTensors state_dict() const;
  /// Sets every parameter from `values`, whose names and layouts `mapping` turns into ours. Every
  /// unmatched, missing or mis-shaped tensor is reported in one Error(shape) prefixed with `source`;
  /// unmatched tensors are ignored when `allow_extra`.
  void load_state_dict(const NamedTensors& values, const StateDictMapping& mapping, const std::string& source = "state dict",
                       bool allow_extra = false);

  /// True when every parameter has a value.
  bool has_all_values() const;

  /// Refills every parameter from its initializer with `seed`.
  void initialize(uint64_t seed);

  /// Runs the model. Every input must be given with a shape matching its declaration (named
  /// dims consistent); dtypes are cast to the declared (or compute) dtype. Returns every output.
  TensorMap evaluate(const TensorMap& inputs) const;
  TensorMap operator()(const TensorMap& inputs) const { return evaluate(inputs); }

  /// Like evaluate(), also returning intermediate values named by their top-level reference
  /// ("relu_0", "hidden.output"). Throws Error(invalid_argument) for an unknown reference.
  TensorMap evaluate(const TensorMap& inputs, const std::vector<std::string>& also) const;

  /// The plan evaluate() runs for these inputs (built and cached if needed): where each node
  /// runs, what was fused, the arena and kernel bytes. Checks the inputs as evaluate() does.
  PlanInfo plan_info(const TensorMap& inputs) const;

  /// Declared inputs as compiled (dtype after the compute dtype, shapes with compile-time shapes).
  const std::vector<InputDecl>& inputs() const { return inputs_; }
  std::vector<std::string> output_names() const;

  /// Writes structure, parameters and metadata to a .mithril or .mbin file (by extension).
  /// See physical/persistence.h.
  void save(const std::string& path) const;
  /// Loads a .mithril or .mbin file written by save().
  static PhysicalModel load(const std::string& path, const Backend& backend);

  /// Every distinct operator the flattened model calls, in first-use order.
  std::vector<const OpSchema*> operators() const;

  /// Number of operator calls after flattening.
  std::size_t op_count() const { return ops_.size(); }

 private:
  struct OpCall {
    std::string path;
    const OpSchema* op;
    const Attributes* attributes;
    std::vector<int> inputs;  // value slots
    int output;
  };
  // Plans by input signature. Copies of a model start with no plans (kernels are not shared).
  struct PlanCache {
    PlanCache() = default;
    PlanCache(const PlanCache&) {}
    PlanCache(PlanCache&&) noexcept {}
    PlanCache& operator=(const PlanCache&) { clear(); return *this; }
    PlanCache& operator=(PlanCache&&) noexcept { clear(); return *this; }
    void clear() { std::lock_guard lock(mutex); plans.clear(); }
    std::mutex mutex;
    std::map<std::pair<std::vector<Shape>, std::vector<std::string>>, std::shared_ptr<Plan>> plans;  // input shapes, requested values
  };

  void check_inputs(const TensorMap& given, const std::vector<std::string>& also) const;
  std::shared_ptr<Plan> plan_for(const TensorMap& given, const std::vector<std::string>& also) const;
  std::unique_ptr<Plan> build_plan(const TensorMap& given, const std::vector<std::string>& also) const;

  std::shared_ptr<const Model> model_;
  const Backend* backend_ = nullptr;
  std::optional<DType> dtype_;
  bool bfloat16_compute_ = false;
  uint64_t min_node_work_ = kDefaultMinNodeWork;
  mutable PlanCache plans_;
  std::vector<InputDecl> inputs_;
  struct Parameter {
    Shape shape;
    DType dtype;
    Initializer init;
    std::optional<Tensor> value;
  };
  std::vector<std::string> parameter_order_;
  std::map<std::string, int> slot_of_;  // value path -> slot
  std::vector<std::string> slot_paths_;
  std::vector<ValueInfo> slot_infos_;   // compiled (possibly symbolic) infos
  std::map<std::string, Parameter> parameters_;
  std::vector<std::pair<int, Tensor>> constants_;
  std::vector<OpCall> ops_;
  std::vector<std::pair<std::string, int>> outputs_;
  std::map<std::string, int> top_level_slots_;  // top-level value reference -> slot
};

}  // namespace mithril
