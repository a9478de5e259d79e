#include "physical/input_check.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"

namespace mithril {

const InputDecl& find_input(const std::string& model_name, const std::vector<InputDecl>& inputs, const std::string& name) {
  for (const InputDecl& in : inputs) {
    if (in.list && is_list_element(name, in.name)) return in;
    if (in.name != name) continue;
    if (in.list)
      throw Error(ErrorKind::invalid_argument, fmt::format("input '{}' of model '{}' is a list: give its elements as {}_0, {}_1, ...",
                                                           name, model_name, name, name));
    return in;
  }
  std::vector<std::string> names;
  for (const InputDecl& in : inputs) names.push_back(in.list ? in.name + "_0, " + in.name + "_1, ..." : in.name);
  throw Error(ErrorKind::invalid_argument, fmt::format("model '{}' has no input '{}' (inputs: {})", model_name, name,
                                                       names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "))));
}

void check_input_value(const std::string& model_name, const InputDecl& in, const Shape& shape, DType dtype) {
  if (in.info.rank_known && !shape_fits(in.info.shape, shape))
      throw Error(ErrorKind::shape, fmt::format("input '{}': shape {}, expected {} (model '{}')", in.name, shape_str(shape),
                                                shape_str(in.info.shape), model_name));
  if (is_complex(dtype) && !is_complex(in.info.dtype))
    throw Error(ErrorKind::shape, fmt::format("input '{}': {} values for a {} input (a cast would drop the imaginary part; give real "
                                              "values)", in.name, dtype_name(dtype), dtype_name(in.info.dtype)));
}

void check_inputs_present(const std::string& model_name, const std::vector<InputDecl>& inputs, const std::vector<std::string>& given) {
  std::vector<std::string> missing;
  for (const InputDecl& in : inputs) {
    bool present = in.list ? std::any_of(given.begin(), given.end(), [&](const std::string& g) { return is_list_element(g, in.name); })
                           : std::find(given.begin(), given.end(), in.name) != given.end();
    if (!present) missing.push_back(in.list ? in.name + "_0" : in.name);
  }
  if (!missing.empty())
    throw Error(ErrorKind::invalid_argument, fmt::format("missing input {} of model '{}'", fmt::join(missing, ", "), model_name));
}

}  // namespace mithril
