#pragma once
// Operator plugins: shared libraries that register custom operators at run time.
//
// A plugin is a shared library built against this library's headers that exports two C symbols,
// most simply through the macro below:
//
//   #include "ops/plugin.h"
//   static void register_ops(mithril::OpRegistry& registry) {
//     mithril::OpSchema op;
//     op.domain = "acme"; op.name = "scale"; ...            // as for built-in operators
//     op.kernels["reference"] = ...;
//     registry.add(std::move(op));
//   }
//   MITHRIL_PLUGIN(register_ops)
//
// load_plugin() checks the plugin's ABI version before calling anything else in it, so a plugin
// built against another version of the operator ABI is refused with a clear message, never run.
// Tools load plugins named by --plugin (repeatable) and by the MITHRIL_PLUGINS environment
// variable (paths separated by ':').
#include <string>
#include <vector>

#include "ops/registry.h"

namespace mithril {

/// Version of the plugin ABI: OpSchema, OpRegistry, Tensor and Attributes as plugins see them.
/// Bumped whenever one of them changes layout or meaning.
inline constexpr int kPluginAbiVersion = 1;

/// Name of the environment variable listing plugins to load.
inline constexpr const char* kPluginsEnvVar = "MITHRIL_PLUGINS";

/// Loads a plugin and lets it register its operators in `registry`. Loading the same file twice
/// does nothing the second time. Throws Error(io) when the library cannot be opened (with the
/// loader's reason), Error(unsupported) when it is not a plugin or has another ABI version, and
/// passes on what its registration throws (with the plugin's path in front).
void load_plugin(const std::string& path, OpRegistry& registry = OpRegistry::global());

/// Loads every plugin in `paths`, then every one listed in MITHRIL_PLUGINS.
void load_plugins(const std::vector<std::string>& paths, OpRegistry& registry = OpRegistry::global());

/// Paths of the plugins loaded so far, in load order.
std::vector<std::string> loaded_plugins();

}  // namespace mithril

/// Defines the two entry points of a plugin; `register_fn` is `void(mithril::OpRegistry&)`.
#define MITHRIL_PLUGIN(register_fn)                                                               \
  extern "C" __attribute__((visibility("default"))) int mithril_plugin_abi_version() {           \
    return mithril::kPluginAbiVersion;                                                            \
  }                                                                                               \
  extern "C" __attribute__((visibility("default"))) void mithril_plugin_register(void* registry) { \
    register_fn(*static_cast<mithril::OpRegistry*>(registry));                                   \
  }
