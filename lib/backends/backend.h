#pragma once
// Backends run operators on concrete tensors.
//
// A backend is a name plus the kernels registered under that name in the operator registry.
// `reference` (lib/backends/reference) is simple and obviously right: the oracle every faster
// backend is compared with.
#include <string>
#include <string_view>
#include <vector>

#include "ops/registry.h"

namespace mithril {

class Backend {
 public:
  virtual ~Backend() = default;

  /// The name kernels are registered under ("reference").
  virtual std::string_view name() const = 0;

  /// True when this backend has a kernel for `op`.
  virtual bool supports(const OpSchema& op) const;

  /// Runs `op` on `inputs` into `out` (allocated with the inferred dtype and shape). Throws
  /// Error(unsupported) when there is no kernel for it.
  virtual void execute(const OpSchema& op, const std::vector<Tensor>& inputs, const Attributes& attrs, Tensor& out) const;
};

/// The reference backend; its kernels are registered in OpRegistry::global() on first call.
const Backend& reference_backend();

/// A backend by name ("reference"). Throws Error(invalid_argument) listing the known names.
const Backend& backend_by_name(std::string_view name);

/// Attaches the reference kernels of every built-in operator to `registry` (each op family's
/// kernels live in lib/backends/reference/<family>.cpp).
void register_reference_kernels(OpRegistry& registry);

}  // namespace mithril
