#pragma once
// A Graphviz picture of a logical model (mithril-load --dot): inputs and outputs as ellipses,
// operator nodes as boxes, parameters and constants as notes, each submodel instance as a
// cluster, and every edge labelled with the dtype and shape of the value it carries.
#include <string>

#include "graph/model.h"

namespace mithril::tools {

/// The model as a DOT digraph (`dot -Tsvg` draws it).
std::string model_dot(const Model& model);

}  // namespace mithril::tools
