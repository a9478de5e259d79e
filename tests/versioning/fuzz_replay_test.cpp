// Every input kept in testdata/fuzz/versioning/ (fuzzer crashers and seeds) is replayed.
#include "fuzz/replay.h"

using namespace mithril::fuzz;

TEST_CASE("fuzz corpus: update_model_dict_version", "[versioning][fuzz]") {
  CHECK(replay_corpus("versioning", versioning) > 0);
}
