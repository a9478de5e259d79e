// JSON tensors follow Python Mithril's dtype rules and refuse ragged lists with their JSON path.
#include <catch2/catch.hpp>

#include "core/error.h"
#include "io/json_tensors.h"

using namespace mithril;

TEST_CASE("JSON tensors: dtypes as Python Mithril's backend.array infers them", "[io][json_tensors]") {
  auto t = read_json_tensors(R"({"a": [[1, 2], [3, 4]], "b": [1, 2.5], "c": [true, false], "d": 3, "e": 0.5, "f": [],
                                 "g": [[1.0, "nan"], ["inf", "-inf"]]})");
  CHECK(t.at("a").dtype() == DType::int64);
  CHECK(t.at("a").shape() == Shape{2, 2});
  CHECK(t.at("b").dtype() == DType::float64);
  CHECK(t.at("b").value_at(1) == 2.5);
  CHECK(t.at("c").dtype() == DType::bool_);
  CHECK(t.at("d").shape().empty());
  CHECK(t.at("d").dtype() == DType::int64);
  CHECK(t.at("e").dtype() == DType::float64);
  CHECK(t.at("f").shape() == Shape{0});
  CHECK(std::isnan(t.at("g").value_at(1)));
  CHECK(t.at("g").value_at(3) == -INFINITY);
}

TEST_CASE("JSON tensors: ragged and mixed lists are refused with their path", "[io][json_tensors]") {
  auto error = [](const char* text) {
    try {
      read_json_tensors(text, "x.json");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(error(R"({"input": [[1, 2], [3]]})") == "x.json: input[1]: ragged list: 1 items, expected 2");
  CHECK(error(R"({"input": [[1, 2], 3]})") == "x.json: input[1]: ragged list: a scalar at depth 1, expected depth 2");
  CHECK(error(R"({"input": [1, [2]]})") == "x.json: input[1]: ragged list: a list at depth 1, expected a scalar");
  CHECK(error(R"({"input": [true, 1]})") == "x.json: input[1]: booleans mixed with numbers in one tensor");
  CHECK(error(R"({"input": {"a": 1}})") == "x.json: input: expected a number, a bool or a list, got an object");
  CHECK(error(R"([1, 2])") == "x.json: expected an object of named tensors, got an array of 2");
  CHECK(error(R"({"a": 1, "a": 2})") == "x.json: (top level): duplicate key 'a'");
}

TEST_CASE("JSON tensors: write and read back", "[io][json_tensors]") {
  std::map<std::string, Tensor> in = read_json_tensors(R"({"x": [[0.1, -2.0], [1e-300, 3.0]], "i": [[1], [2]], "b": true})");
  std::string text = write_json_tensors(in);
  CHECK(text == "{\n  \"b\": true,\n  \"i\": [[1], [2]],\n  \"x\": [[0.1, -2.0], [1e-300, 3.0]]\n}\n");
  auto back = read_json_tensors(text);
  for (const auto& [name, t] : in) CHECK(back.at(name).bitwise_equal(t));
  CHECK(write_json_tensors({}) == "{}\n");
}
