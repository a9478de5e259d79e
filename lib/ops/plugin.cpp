#include "ops/plugin.h"

#include <dlfcn.h>
#include <stdlib.h>

#include <climits>
#include <cstdlib>
#include <mutex>

#include <fmt/format.h>

#include "core/error.h"

namespace mithril {
namespace {

std::mutex& plugins_mutex() {
  static std::mutex m;
  return m;
}

std::vector<std::string>& plugin_list() {
  static std::vector<std::string> list;
  return list;
}

}  // namespace

void load_plugin(const std::string& path, OpRegistry& registry) {
  char resolved[PATH_MAX];
  std::string key = realpath(path.c_str(), resolved) ? std::string(resolved) : path;
  std::lock_guard lock(plugins_mutex());
  for (const std::string& loaded : plugin_list())
    if (loaded == key) return;
  // A path without '/' would make dlopen search the system library path: keep it relative.
  std::string open_path = path.find('/') == std::string::npos ? "./" + path : path;
  void* handle = dlopen(open_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    throw Error(ErrorKind::io, fmt::format("plugin {}: cannot load: {}", path, why ? why : "unknown reason"));
  }
  using AbiFn = int (*)();
  using RegisterFn = void (*)(void*);
  auto abi = reinterpret_cast<AbiFn>(dlsym(handle, "mithril_plugin_abi_version"));
  auto reg = reinterpret_cast<RegisterFn>(dlsym(handle, "mithril_plugin_register"));
  if (!abi || !reg) {
    dlclose(handle);
    throw Error(ErrorKind::unsupported, fmt::format("plugin {}: not a mithril plugin (it does not export "
                                                    "mithril_plugin_abi_version and mithril_plugin_register; "
                                                    "use MITHRIL_PLUGIN(...))", path));
  }
  int version = abi();
  if (version != kPluginAbiVersion) {
    dlclose(handle);
    throw Error(ErrorKind::unsupported, fmt::format("plugin {}: built for plugin ABI version {}, this mithril has version {}; "
                                                    "rebuild the plugin against this version", path, version, kPluginAbiVersion));
  }
  try {
    reg(&registry);
  } catch (const Error& e) {
    throw e.with_context("plugin " + path);
  }
  // The library stays loaded for the life of the process: schemas and kernels point into it.
  plugin_list().push_back(key);
}

void load_plugins(const std::vector<std::string>& paths, OpRegistry& registry) {
  for (const std::string& p : paths) load_plugin(p, registry);
  const char* env = std::getenv(kPluginsEnvVar);
  if (!env) return;
  std::string list = env;
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t colon = list.find(':', start);
    std::string item = list.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!item.empty()) load_plugin(item, registry);
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
}

std::vector<std::string> loaded_plugins() {
  std::lock_guard lock(plugins_mutex());
  return plugin_list();
}

}  // namespace mithril
