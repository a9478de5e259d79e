#pragma once
// Internal: the format steps, one file each (lib/versioning/steps/<from>_to_<to>.cpp), listed in
// the format history table of format_history.cpp. Every step is a pure function: model dict JSON
// text in, model dict JSON text out; `source` names the origin in errors.
#include <string>
#include <vector>

namespace mithril::versioning {

/// Python Mithril's unversioned model dict (`model_to_dict`) -> format 1.0.0 (python_mithril/step.cpp).
std::string python_mithril_to_1_0_0(const std::string& json, const std::string& source);
/// Format 1.0.0 -> a dict Python Mithril's `dict_to_model` reads (python_mithril/export.cpp);
/// refuses what Python cannot express, naming every blocking node or value.
std::string python_mithril_from_1_0_0(const std::string& json, const std::string& source);

/// Format 1.0.0 -> 1.1.0 (1.1.0 only adds "functions"), and back when no function is defined or used.
std::string v1_0_0_to_1_1_0(const std::string& json, const std::string& source);
std::string v1_1_0_to_1_0_0(const std::string& json, const std::string& source);

/// Format 1.1.0 -> 1.2.0 (1.2.0 only adds list inputs and concat axis null), and back when neither is used.
std::string v1_1_0_to_1_2_0(const std::string& json, const std::string& source);
std::string v1_2_0_to_1_1_0(const std::string& json, const std::string& source);

/// The model names the python-mithril step knows, in the spelling Python Mithril writes.
const std::vector<std::string>& python_mithril_model_names();

}  // namespace mithril::versioning
