#pragma once
// A model summary, the table `mithril-load` prints: one row per input, top-level parameter and
// step (operator node or submodel), with its dtype and shape and the parameters it owns; totals.
#include <cstdint>
#include <string>
#include <vector>

#include "graph/model.h"
#include "io/npz.h"

namespace mithril::tools {

struct SummaryRow {
  std::string name;    ///< "input", "weights", "hidden", "relu_0"
  std::string kind;    ///< "input", "parameter", "op", "model", "output"
  std::string what;    ///< operator ("matmul", "acme.scale"), submodel name ("dense"), or "" for inputs/parameters
  std::string shape;   ///< dtype and shape as declared or inferred: "float32[null,50]" (several outputs: joined by ", ")
  int64_t parameters = 0;  ///< elements of the parameters this row owns (a submodel: its whole tree)
};

struct ModelSummary {
  std::string model;                ///< model name
  std::vector<SummaryRow> rows;     ///< inputs, top-level parameters, steps in order, outputs
  int64_t parameter_tensors = 0;    ///< number of parameters in the tree
  int64_t parameter_count = 0;      ///< total elements
  uint64_t parameter_bytes = 0;     ///< total bytes at the parameters' dtypes
  int64_t node_count = 0;           ///< operator nodes with submodels expanded
  bool counts_known = true;         ///< false when some parameter shape is symbolic and no value was given
};

/// Summarizes `model`. Parameter counts come from `values` (by dotted path) where given, else
/// from the declared shapes (a symbolic one counts 0 and clears counts_known). `depth` levels of
/// submodels are expanded: their parameters and steps follow the submodel's row, with dotted
/// names ("hidden.weight", "hidden.matmul_0").
ModelSummary summarize_model(const Model& model, const NamedTensors& values = {}, int depth = 0);

/// The summary as an aligned text table with a totals line, ending with a newline.
std::string format_summary(const ModelSummary& summary);

}  // namespace mithril::tools
