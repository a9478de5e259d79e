// libFuzzer harness: import_onnx (see targets.h; built by -DMITHRIL_FUZZ=ON, run by scripts/fuzz).
#include <cstddef>
#include <cstdint>

#include "fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    mithril::fuzz::onnx(data, size);
  } catch (const mithril::Error&) {
    // bad input refused: the expected outcome for most inputs
  }
  return 0;
}
