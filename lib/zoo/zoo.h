#pragma once
// The built-in model zoo: models a user can create from the command line by name
// (`mithril-save mlp --arg dims=10,50,1`).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "graph/model.h"

namespace mithril {

/// One argument of a zoo model, with its default as text.
struct ZooArg {
  std::string name;
  std::string default_value;
  std::string help;
};

struct ZooEntry {
  std::string name;
  std::string description;
  std::vector<ZooArg> args;
};

/// Every zoo model, sorted by name.
const std::vector<ZooEntry>& zoo_entries();

/// Builds zoo model `name` with `args` (argument name -> text; missing ones take defaults).
/// Throws Error(invalid_argument) for an unknown model (listing the known ones), an unknown
/// argument, or a value that does not parse.
std::shared_ptr<Model> zoo_model(const std::string& name, const std::map<std::string, std::string>& args = {});

}  // namespace mithril
