// Every input kept in testdata/fuzz/mbin/ (fuzzer crashers and seeds) is replayed.
#include "fuzz/replay.h"

using namespace mithril::fuzz;

TEST_CASE("fuzz corpus: MbinFile::open", "[mbin][fuzz]") { CHECK(replay_corpus("mbin", mbin) > 0); }
