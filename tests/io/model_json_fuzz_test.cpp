// Mutated model dicts must give a one-line Error naming the file, or a valid model whose canonical
// dict reads back to itself: never a crash, a hang or another exception type.
#include <catch2/catch.hpp>

#include <random>

#include "core/error.h"
#include "io/model_json.h"
#include "zoo/zoo.h"

using namespace mithril;

namespace {

#ifndef FUZZ_ITERATIONS
#define FUZZ_ITERATIONS 1500
#endif
constexpr int kIterations = FUZZ_ITERATIONS;

const char* kWithFunctions = R"J({"version": "1.1.0", "name": "m",
  "inputs": {"x": {"shape": ["n", 4], "dtype": "float64"}},
  "constants": {"c": {"dtype": "float64", "shape": [4], "data": [1, 2.5, "nan", -3]}},
  "nodes": [{"name": "a", "op": "fz.f", "inputs": ["x"], "attributes": {"k": 2.0}},
            {"name": "b", "op": "add", "inputs": ["a", "c"]},
            {"name": "s", "op": "sum", "inputs": ["b"], "attributes": {"axes": [1], "keepdims": true}}],
  "outputs": {"y": "s"},
  "functions": {"fz.f": {"inputs": ["x"], "attributes": {"k": 1.0},
                         "nodes": [{"name": "m", "op": "multiply", "inputs": ["x", "@k"]}], "output": "m"}}})J";

}  // namespace

TEST_CASE("randomly mutated dicts never crash the reader", "[io][json][fuzz]") {
  std::vector<std::string> seeds = {to_dict(*zoo_model("mlp", {{"dims", "3,4,2"}})), kWithFunctions};
  const std::string alphabet = "{}[]\":,0123456789-.eE nulltruefalsexyz_@";
  std::mt19937 rng(20261129);
  int accepted = 0, refused = 0;
  for (const std::string& seed : seeds) {
    for (int i = 0; i < kIterations; ++i) {
      std::string text = seed;
      int edits = std::uniform_int_distribution<int>(1, 4)(rng);
      for (int e = 0; e < edits && !text.empty(); ++e) {
        std::size_t at = std::uniform_int_distribution<std::size_t>(0, text.size() - 1)(rng);
        char c = alphabet[std::uniform_int_distribution<std::size_t>(0, alphabet.size() - 1)(rng)];
        switch (std::uniform_int_distribution<int>(0, 2)(rng)) {
          case 0: text[at] = c; break;
          case 1: text.insert(at, 1, c); break;
          default: text.erase(at, 1); break;
        }
      }
      std::string dict;
      try {
        dict = to_dict(*from_dict(text, "fuzz.json"));
      } catch (const Error& e) {
        // Refused: one line naming the file.
        ++refused;
        std::string message = e.what();
        if (message.rfind("fuzz.json: ", 0) != 0 || message.find('\n') != std::string::npos)
          FAIL_CHECK("refusal not one line naming the file: " << message << "\nfor: " << text);
        continue;
      }
      // Accepted: a valid model, whose canonical dict reads back to itself.
      ++accepted;
      try {
        if (to_dict(*from_dict(dict, "again.json")) != dict) FAIL_CHECK("the dict of an accepted mutation does not round-trip: " << text);
      } catch (const Error& e) {
        FAIL_CHECK("the dict of an accepted mutation is refused: " << e.what() << "\nfor: " << text);
      }
    }
  }
  WARN(2 * kIterations << " mutated dicts: " << accepted << " accepted and round-trip, " << refused << " refused with one line");
  CHECK(accepted > 0);
  CHECK(refused > 0);
}

TEST_CASE("deeply nested JSON is refused without exhausting the stack", "[io][json][fuzz]") {
  std::string deep = R"J({"version": "1.1.0", "name": "m", "outputs": {}, "metadata": )J" + std::string(100000, '[') +
                     std::string(100000, ']') + "}";
  REQUIRE_THROWS_WITH(from_dict(deep, "deep.json"), Catch::Matchers::Contains("nested deeper than 200 levels"));
  std::string unclosed(1000000, '{');
  REQUIRE_THROWS_AS(from_dict(unclosed, "open.json"), Error);
}
