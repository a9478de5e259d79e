#pragma once
// Internal to the python-mithril step: flattens a Python Mithril model tree (containers, library
// models, Layer and MLP) into one format 1.0.0 model body, keeping Python's key names.
#include <string>

#include <rapidjson/document.h>

namespace mithril::versioning::python_mithril {

/// The 1.0.0 JSON text of the Python Mithril model `root` (a dict or a bare model name whose
/// names are all known). `source` names the origin in errors.
std::string flatten(const rapidjson::Value& root, const std::string& source);

}  // namespace mithril::versioning::python_mithril
