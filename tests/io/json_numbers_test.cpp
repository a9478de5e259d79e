// JSON numbers as every reader sees them (json::parse converts them itself, see json_util.cpp).
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include "core/error.h"
#include "io/json_util.h"

using namespace mithril;

TEST_CASE("json numbers keep RapidJSON's types and exact values", "[io][json]") {
  auto doc = json::parse(R"([0, -0, 7, -7, 4294967295, 4294967296, -2147483649, 18446744073709551615,
                              18446744073709551616, -9223372036854775809, 0.1, -2.5e-3, 1e-400, -1e-400,
                              1.7976931348623157e308, 5e-324])", "t");
  const auto& a = doc.GetArray();
  CHECK((a[0].IsInt() && a[0].GetInt() == 0));
  CHECK((a[1].IsInt() && a[1].GetInt() == 0));
  CHECK((a[2].IsInt() && a[2].GetInt() == 7));
  CHECK((a[3].IsInt() && a[3].GetInt() == -7));
  CHECK((a[4].IsUint() && !a[4].IsInt() && a[4].GetUint() == 4294967295u));
  CHECK((a[5].IsUint64() && !a[5].IsUint() && a[5].GetUint64() == 4294967296u));
  CHECK((a[6].IsInt64() && !a[6].IsInt() && a[6].GetInt64() == -2147483649));
  CHECK((a[7].IsUint64() && a[7].GetUint64() == 18446744073709551615u));
  CHECK((a[8].IsDouble() && a[8].GetDouble() == 18446744073709551616.0));
  CHECK((a[9].IsDouble() && a[9].GetDouble() == -9223372036854775809.0));
  CHECK((a[10].IsDouble() && a[10].GetDouble() == 0.1));
  CHECK(a[11].GetDouble() == -2.5e-3);
  CHECK((a[12].GetDouble() == 0.0 && !std::signbit(a[12].GetDouble())));
  CHECK((a[13].GetDouble() == 0.0 && std::signbit(a[13].GetDouble())));
  CHECK(a[14].GetDouble() == 1.7976931348623157e308);
  CHECK(a[15].GetDouble() == 5e-324);
}

TEST_CASE("json numbers: zeros after the point that crashed RapidJSON's strtod are read", "[io][json][fuzz]") {
  struct Case {
    int zeros;
    double small, big;  // 0.<zeros>1 and 0.<zeros>1e400
  };
  for (const auto& [zeros, small, big] : {Case{300, 1e-301, 1e99}, Case{350, 0.0, 1e49}, Case{433, 0.0, 1e-34},
                                          Case{1000, 0.0, 0.0}}) {
    std::string text = "[0." + std::string(zeros, '0') + ", 0." + std::string(zeros, '0') + "1, 0." +
                       std::string(zeros, '0') + "1e400]";
    INFO(zeros << " zeros");
    auto doc = json::parse(text, "t");
    CHECK(doc[0].GetDouble() == 0.0);
    CHECK(doc[1].GetDouble() == small);
    CHECK(doc[2].GetDouble() == big);
  }
}

TEST_CASE("json numbers too big for a double are refused, naming the place", "[io][json]") {
  for (const char* text : {"[1, 1e400]", "[1, -1e309]", "[1, 0.001e312]"}) {
    INFO(text);
    try {
      json::parse(text, "t.json");
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::format);
      CHECK(std::string(e.what()) == "t.json: invalid JSON at line 1, column 5: Number too big to be stored in double.");
    }
  }
  CHECK_THROWS_AS(json::parse("[1, 2", "t"), Error);
  CHECK_THROWS_AS(json::parse("[1] 2", "t"), Error);
}
