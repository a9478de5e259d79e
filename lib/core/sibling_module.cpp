#include "core/sibling_module.h"

#include <dlfcn.h>

#include <map>
#include <mutex>

#include "core/error.h"

namespace mithril {

const void* load_sibling_module(const std::string& file, const char* entry, const std::string& what, const std::string& hint) {
  static std::mutex mutex;
  static std::map<std::string, const void*> loaded;
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = loaded.find(file); it != loaded.end()) return it->second;
  Dl_info self{};
  std::string folder;
  if (dladdr(reinterpret_cast<void*>(&load_sibling_module), &self) && self.dli_fname) {
    folder = self.dli_fname;
    folder = folder.substr(0, folder.rfind('/') == std::string::npos ? 0 : folder.rfind('/') + 1);
  }
  std::string path = folder + file;
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    throw Error(ErrorKind::unsupported, what + " cannot be loaded (" + (why ? why : path) + ")" + hint);
  }
  using Entry = const void* (*)();
  auto function = reinterpret_cast<Entry>(dlsym(handle, entry));
  if (!function) throw Error(ErrorKind::unsupported, what + " cannot be loaded (" + path + ": no " + entry + " entry point)" + hint);
  return loaded[file] = function();
}

}  // namespace mithril
