#include "backends/backend.h"

#include <mutex>

#include "core/error.h"

namespace mithril {

bool Backend::supports(const OpSchema& op) const { return op.kernels.count(std::string(name())) > 0; }

void Backend::execute(const OpSchema& op, const std::vector<Tensor>& inputs, const Attributes& attrs, Tensor& out) const {
  auto it = op.kernels.find(std::string(name()));
  if (it == op.kernels.end())
    throw Error(ErrorKind::unsupported,
                "operator '" + op.qualified_name() + "' has no kernel for the '" + std::string(name()) + "' backend");
  it->second(inputs, attrs, out);
}

namespace {
class ReferenceBackend final : public Backend {
 public:
  std::string_view name() const override { return "reference"; }
};
}  // namespace

const Backend& reference_backend() {
  static std::once_flag once;
  static ReferenceBackend backend;
  std::call_once(once, [] { register_reference_kernels(OpRegistry::global()); });
  return backend;
}

const Backend& backend_by_name(std::string_view name) {
  if (name == "reference") return reference_backend();
  throw Error(ErrorKind::invalid_argument, "unknown backend '" + std::string(name) + "' (known: reference)");
}

}  // namespace mithril
