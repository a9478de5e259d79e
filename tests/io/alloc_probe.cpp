// Replaces the global operator new of the test_io binary (and, through symbol interposition, of
// libmithril) to record the largest single allocation while a probe is armed.
#include <cstdlib>
#include <new>

#include "io/alloc_probe.h"

namespace mbintest {
std::atomic<bool> g_probe_armed{false};
std::atomic<std::size_t> g_probe_largest{0};
}  // namespace mbintest

void* operator new(std::size_t n) {
  if (mbintest::g_probe_armed.load(std::memory_order_relaxed)) {
    std::size_t prev = mbintest::g_probe_largest.load(std::memory_order_relaxed);
    while (n > prev && !mbintest::g_probe_largest.compare_exchange_weak(prev, n)) {
    }
  }
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
// Every form our operator delete frees must come from malloc: the nothrow forms are replaced too
// (otherwise ASan's own nothrow new pairs with our free, an alloc-dealloc mismatch).
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return ::operator new(n);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return ::operator new(n, std::nothrow); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
