// A plugin built for another plugin ABI: load_plugin must refuse it without calling it.
#include <cstdlib>

extern "C" __attribute__((visibility("default"))) int mithril_plugin_abi_version() { return 999; }
extern "C" __attribute__((visibility("default"))) void mithril_plugin_register(void*) { std::abort(); }
