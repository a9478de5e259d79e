// Every input kept in testdata/fuzz/onnx/ (fuzzer crashers and seeds) is replayed through the
// onnx fuzz target: import without ONNX's checker, compile, export, import our export.
#include "fuzz/replay.h"

using namespace mithril::fuzz;

TEST_CASE("fuzz corpus: import_onnx", "[onnx][fuzz]") { CHECK(replay_corpus("onnx", onnx) > 0); }
