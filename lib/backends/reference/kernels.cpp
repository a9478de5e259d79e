#include "backends/backend.h"

namespace mithril {

// Filled in by the kernel families (lib/backends/reference/<family>.cpp).
void register_reference_kernels(OpRegistry&) {}

}  // namespace mithril
