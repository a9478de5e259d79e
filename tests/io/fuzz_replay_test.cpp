// Every input kept in testdata/fuzz/ for the io readers (fuzzer crashers and seeds) is replayed.
#include "fuzz/replay.h"

using namespace mithril::fuzz;

TEST_CASE("fuzz corpus: parse_npy", "[io][npy][fuzz]") { CHECK(replay_corpus("npy", npy) > 0); }
TEST_CASE("fuzz corpus: parse_npz", "[io][npz][fuzz]") { CHECK(replay_corpus("npz", npz) > 0); }
TEST_CASE("fuzz corpus: read_mithril_file", "[io][mithril][fuzz]") { CHECK(replay_corpus("mithril_file", mithril_file) > 0); }
TEST_CASE("fuzz corpus: from_dict", "[io][json][fuzz]") { CHECK(replay_corpus("model_json", model_json) > 0); }
TEST_CASE("fuzz corpus: parse_torch_file", "[io][torch][fuzz]") { CHECK(replay_corpus("torch_file", torch_file) > 0); }
TEST_CASE("fuzz corpus: parse_safetensors", "[io][safetensors][fuzz]") { CHECK(replay_corpus("safetensors", safetensors) > 0); }
TEST_CASE("fuzz corpus: read_json_tensors", "[io][json][fuzz]") { CHECK(replay_corpus("json_tensors", json_tensors) > 0); }
TEST_CASE("fuzz corpus: MbinFile::open", "[mbin][fuzz]") { CHECK(replay_corpus("mbin", mbin) > 0); }
