#pragma once
// Partial models: the part of a graph between given inputs and outputs (the seed's
// extract_submodel), e.g. a feature extractor cut out of a classifier for transfer learning.
#include <memory>
#include <string>
#include <vector>

#include "graph/model.h"

namespace mithril {

/// The part of `model` that computes `outputs` from `inputs`, with exactly the parameters and
/// constants it uses. Names are value references of the model's top level: inputs may be the
/// model's inputs or intermediate values (which become new inputs of the part), outputs may be
/// the model's outputs (by output name) or any value. Submodels on the way are kept whole, so
/// their parameters keep their dotted paths ("hidden.weight"). Linear in the size of the graph.
///
/// The cut is validated first: every path from a requested output back to the model's inputs
/// must pass through a given input; otherwise Error(invalid_argument) names the path, e.g.
/// "output 'features' depends on input 'mask' (features <- add_1 <- mask), which is not among
/// the given inputs". Unknown names, and given inputs that nothing requested depends on, are
/// errors too. The part's inputs and outputs are named after the references ('.' becomes '_').
std::shared_ptr<Model> extract_submodel(const Model& model, const std::vector<std::string>& inputs,
                                        const std::vector<std::string>& outputs, const std::string& name = "");

}  // namespace mithril
