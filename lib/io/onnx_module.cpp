// import_onnx/export_onnx: stand-ins that load libmithril-onnx.so (beside libmithril.so) on first
// use, as backends/cpu_module.cpp does for oneDNN.
#include <dlfcn.h>

#include <mutex>
#include <string>

#include <fmt/format.h>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/onnx.h"

namespace mithril {
namespace {

const OnnxModuleFunctions& onnx_module() {
  static std::once_flag once;
  static const OnnxModuleFunctions* loaded = nullptr;
  static std::string failure;
  std::call_once(once, [] {
    Dl_info self{};
    std::string folder;
    if (dladdr(reinterpret_cast<void*>(&onnx_module), &self) && self.dli_fname) {
      folder = self.dli_fname;
      folder = folder.substr(0, folder.rfind('/') == std::string::npos ? 0 : folder.rfind('/') + 1);
    }
    std::string path = folder + "libmithril-onnx.so";
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char* why = dlerror();
      failure = fmt::format("ONNX support cannot be loaded ({})", why ? why : path);
      return;
    }
    using Entry = const OnnxModuleFunctions* (*)();
    auto entry = reinterpret_cast<Entry>(dlsym(handle, "mithril_onnx_v1"));
    if (!entry) {
      failure = fmt::format("{}: no mithril_onnx_v1 entry point", path);
      return;
    }
    loaded = entry();
  });
  if (!loaded) throw Error(ErrorKind::unsupported, failure);
  return *loaded;
}

}  // namespace

OnnxModel import_onnx(const std::string& path, const OnnxImportOptions& options) {
  return onnx_module().import_model(path, options);
}

std::string export_onnx(const Model& model, const NamedTensors& parameters, const OnnxExportOptions& options) {
  return onnx_module().export_model(model, parameters, options);
}

void save_onnx(const std::string& path, const Model& model, const NamedTensors& parameters, const OnnxExportOptions& options) {
  write_file_atomic(path, export_onnx(model, parameters, options));
}

}  // namespace mithril
