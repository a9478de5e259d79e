#pragma once
// Largest single operator-new allocation while armed (see alloc_probe.cpp).
#include <atomic>
#include <cstddef>

namespace mbintest {
extern std::atomic<bool> g_probe_armed;
extern std::atomic<std::size_t> g_probe_largest;

struct AllocProbe {
  AllocProbe() {
    g_probe_largest = 0;
    g_probe_armed = true;
  }
  ~AllocProbe() { g_probe_armed = false; }
  std::size_t largest() const { return g_probe_largest.load(); }
};
}  // namespace mbintest
