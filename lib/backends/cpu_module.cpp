// cpu_backend(): a stand-in that loads the oneDNN backend module (libmithril-cpu.so, beside
// libmithril.so) on first real use. Compiling a model, or running one whose nodes are all too
// small for oneDNN (PlanOptions::min_node_work), never loads it: a small model run once from the
// shell does not pay oneDNN's start-up (its static initialization alone costs about a millisecond).
#include <dlfcn.h>

#include <mutex>
#include <string>

#include <fmt/format.h>

#include "backends/backend.h"
#include "core/error.h"

namespace mithril {
namespace {

const Backend& load_cpu_module() {
  static std::once_flag once;
  static const Backend* loaded = nullptr;
  static std::string failure;
  std::call_once(once, [] {
    // The module sits in the folder libmithril was loaded from (the build folder, or lib/ when installed).
    Dl_info self{};
    std::string folder;
    if (dladdr(reinterpret_cast<void*>(&load_cpu_module), &self) && self.dli_fname) {
      folder = self.dli_fname;
      folder = folder.substr(0, folder.rfind('/') == std::string::npos ? 0 : folder.rfind('/') + 1);
    }
    std::string path = folder + "libmithril-cpu.so";
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char* why = dlerror();
      failure = fmt::format("the cpu backend cannot be loaded ({}); run with --backend reference", why ? why : path);
      return;
    }
    using Entry = const Backend* (*)();
    auto entry = reinterpret_cast<Entry>(dlsym(handle, "mithril_cpu_backend_v1"));
    if (!entry) {
      failure = fmt::format("{}: no mithril_cpu_backend_v1 entry point", path);
      return;
    }
    loaded = entry();
  });
  if (!loaded) throw Error(ErrorKind::unsupported, failure);
  return *loaded;
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
