#pragma once
// Named tensors as JSON, the way Python Mithril's test files and `mithril-run --inputs x.json`
// write them:
//
//   {"input": [[1.0, 2.0], [3.0, 4.0]], "target": [0, 1], "cond": [true, false], "scale": 0.5}
//
// Each value is a number, a bool or a nested list of them (a tensor of that rank). The dtype
// follows Python Mithril's `backend.array`: all integers -> int64, any float -> float64, all
// booleans -> bool; booleans mixed with numbers are refused. The strings "nan", "inf" and "-inf"
// are floats (JSON has no literal for them). Ragged lists are refused naming their JSON path.
#include <map>
#include <string>
#include <string_view>

#include "core/tensor.h"

namespace mithril {

/// The deepest nesting read (a sanity limit: a hostile file cannot recurse without bound).
inline constexpr int kMaxJsonTensorRank = 64;

/// Reads a JSON object of named tensors. `source` names the origin in errors. Throws Error(format)
/// for text that is not JSON, Error(schema) naming the JSON path for anything else, e.g.
/// "x.json: input[1]: ragged list: 3 items, expected 2 like input[0]".
std::map<std::string, Tensor> read_json_tensors(std::string_view json, const std::string& source = "tensors");

/// Reads one tensor from JSON text holding a number, a bool or a nested list.
Tensor read_json_tensor(std::string_view json, const std::string& source = "tensor");

/// Writes named tensors as a JSON object (one tensor per line, nested lists, floats in their
/// shortest round-trip form, non-finite floats as "nan"/"inf"/"-inf"), ending with a newline.
/// Complex tensors are refused with Error(unsupported).
std::string write_json_tensors(const std::map<std::string, Tensor>& tensors);

/// One tensor as compact JSON (a number, a bool or nested lists).
std::string write_json_tensor(const Tensor& tensor);

}  // namespace mithril
