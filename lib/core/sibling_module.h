#pragma once
// Parts of Mithril built as loadable modules beside libmithril.so (libmithril-cpu.so with oneDNN,
// libmithril-onnx.so with ONNX and protobuf), loaded on first use so that processes which never
// need them do not pay for loading their libraries.
#include <string>

namespace mithril {

/// Loads `file` from the folder libmithril.so was loaded from (the build folder, or lib/ when
/// installed), calls its entry point `entry` (a function without arguments returning a pointer)
/// and returns what it returned. Loading happens once per file; later calls return the same
/// pointer. Throws Error(unsupported) "<what> cannot be loaded (<why>)<hint>" when the module or
/// its entry point is missing (every call throws again).
const void* load_sibling_module(const std::string& file, const char* entry, const std::string& what,
                                const std::string& hint = "");

}  // namespace mithril
