#include "physical/state_dict.h"

#include <cstring>
#include <map>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "io/atomic_file.h"

namespace mithril {
namespace {

// "\1" -> "$1" (sed-style group references), "$" kept.
std::string ecmascript_format(const std::string& replacement) {
  std::string out;
  for (std::size_t i = 0; i < replacement.size(); ++i) {
    if (replacement[i] == '\\' && i + 1 < replacement.size() && replacement[i + 1] >= '0' && replacement[i + 1] <= '9') {
      out += '$';
      out += replacement[++i];
    } else {
      out += replacement[i];
    }
  }
  return out;
}

std::regex compile_rule(const NameRule& rule) {
  try {
    return std::regex(rule.pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw Error(ErrorKind::invalid_argument, fmt::format("--map '{}={}': invalid regular expression: {}", rule.pattern, rule.replacement, e.what()));
  }
}

void collect_dense_weights(const Model& model, const std::string& prefix, std::vector<std::string>& out) {
  for (const Step& step : model.steps()) {
    if (!step.is_submodel()) continue;
    std::string path = prefix + step.name + ".";
    if (step.submodel->name() == "dense")
      for (const ParameterDecl& p : step.submodel->parameters())
        if (p.name == "weight") out.push_back(path + p.name);
    collect_dense_weights(*step.submodel, path, out);
  }
}

std::string how(const std::string& original, const std::string& mapped, bool transposed) {
  if (original == mapped && !transposed) return fmt::format("tensor '{}'", original);
  if (original == mapped) return fmt::format("tensor '{}' (transposed)", original);
  return fmt::format("tensor '{}' (mapped to '{}'{})", original, mapped, transposed ? ", transposed" : "");
}

}  // namespace

NameRule parse_name_rule(const std::string& text) {
  std::size_t eq = std::string::npos;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;
      continue;
    }
    if (text[i] == '=') {
      eq = i;
      break;
    }
  }
  if (eq == std::string::npos || eq == 0)
    throw Error(ErrorKind::invalid_argument, fmt::format("--map '{}': expected REGEX=REPLACEMENT", text));
  NameRule rule;
  // "\=" in the regex stands for a literal '=' (ECMAScript accepts the escape as is).
  rule.pattern = text.substr(0, eq);
  rule.replacement = text.substr(eq + 1);
  compile_rule(rule);
  return rule;
}

StateDictMapping read_mapping_file(const std::string& path) {
  std::string text = read_file(path);
  StateDictMapping mapping;
  std::size_t start = 0;
  int line_number = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    std::size_t last = line.find_last_not_of(" \t");
    line = line.substr(first, last - first + 1);
    if (line == "torch-linear") {
      mapping.torch_linear = true;
      continue;
    }
    try {
      mapping.rules.push_back(parse_name_rule(line));
    } catch (const Error& e) {
      throw e.with_context(fmt::format("{}: line {}", path, line_number));
    }
  }
  return mapping;
}

std::string map_name(const std::vector<NameRule>& rules, const std::string& name) {
  for (const NameRule& rule : rules) {
    std::regex re = compile_rule(rule);
    if (std::regex_search(name, re))
      return std::regex_replace(name, re, ecmascript_format(rule.replacement), std::regex_constants::format_first_only);
  }
  return name;
}

std::vector<std::string> dense_weight_paths(const Model& model) {
  std::vector<std::string> out;
  collect_dense_weights(model, "", out);
  return out;
}

Tensor transpose2d(const Tensor& t) {
  if (t.ndim() != 2) throw Error(ErrorKind::shape, fmt::format("cannot transpose a tensor of shape {} (expected 2 dimensions)", shape_str(t.shape())));
  int64_t rows = t.shape()[0], cols = t.shape()[1];
  Tensor out = Tensor::uninitialized(t.dtype(), {cols, rows});
  std::size_t item = dtype_size(t.dtype());
  const auto* src = static_cast<const unsigned char*>(t.data());
  auto* dst = static_cast<unsigned char*>(out.mutable_data());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) std::memcpy(dst + (c * rows + r) * item, src + (r * cols + c) * item, item);
  return out;
}

NamedTensors map_state_dict_to_model(const Model& model, const NamedTensors& values, const StateDictMapping& mapping,
                                     const std::string& source, bool allow_extra) {
  std::map<std::string, ExpectedParameter> expected;
  std::vector<std::string> order;
  for (ExpectedParameter& p : declared_parameters(model)) {
    order.push_back(p.name);
    expected.emplace(p.name, std::move(p));
  }
  std::set<std::string> dense;
  if (mapping.torch_linear)
    for (std::string& w : dense_weight_paths(model)) dense.insert(std::move(w));

  std::vector<std::string> problems;
  std::map<std::string, std::string> origin;  // model name -> file name
  NamedTensors out;
  for (const auto& [name, value] : values) {
    std::string mapped = map_name(mapping.rules, name);
    auto it = expected.find(mapped);
    bool transpose = dense.count(mapped) > 0;
    if (it == expected.end()) {
      if (!allow_extra)
        problems.push_back(fmt::format("{} is not a parameter of the model", how(name, mapped, false)));
      continue;
    }
    if (auto [o, fresh] = origin.emplace(mapped, name); !fresh) {
      problems.push_back(fmt::format("tensors '{}' and '{}' both map to parameter '{}'", o->second, name, mapped));
      continue;
    }
    if (transpose && value.ndim() != 2) {
      problems.push_back(fmt::format("{}: shape {}, expected a 2-d [out, in] weight", how(name, mapped, false), shape_str(value.shape())));
      continue;
    }
    Tensor t = transpose ? transpose2d(value) : value;
    const ExpectedParameter& p = it->second;
    if (p.shape && *p.shape != t.shape()) {
      Shape file_expected = *p.shape;
      if (transpose && file_expected.size() == 2) std::swap(file_expected[0], file_expected[1]);
      problems.push_back(fmt::format("{}: shape {}, expected {}", how(name, mapped, transpose), shape_str(value.shape()), shape_str(file_expected)));
      continue;
    }
    if (t.dtype() != p.dtype) {
      problems.push_back(fmt::format("{}: dtype {}, expected {}", how(name, mapped, transpose), dtype_name(t.dtype()), dtype_name(p.dtype)));
      continue;
    }
    out.emplace_back(mapped, std::move(t));
  }
  for (const std::string& name : order)
    if (!origin.count(name)) problems.push_back(fmt::format("parameter '{}' is missing (no tensor maps to it)", name));
  if (!problems.empty()) {
    std::string message = source + ": " + problems[0];
    if (problems.size() > 1) message += fmt::format(" (and {} more: {})", problems.size() - 1,
                                                    fmt::join(problems.begin() + 1, problems.end(), "; "));
    throw Error(ErrorKind::shape, message);
  }
  return out;
}

NamedTensors map_state_dict_from_model(const Model& model, const NamedTensors& parameters, const StateDictMapping& mapping) {
  std::set<std::string> dense;
  if (mapping.torch_linear)
    for (std::string& w : dense_weight_paths(model)) dense.insert(std::move(w));
  NamedTensors out;
  std::map<std::string, std::string> origin;
  for (const auto& [name, value] : parameters) {
    std::string mapped = map_name(mapping.rules, name);
    if (auto [o, fresh] = origin.emplace(mapped, name); !fresh)
      throw Error(ErrorKind::invalid_argument, fmt::format("parameters '{}' and '{}' both map to '{}'", o->second, name, mapped));
    out.emplace_back(mapped, dense.count(name) ? transpose2d(value) : value);
  }
  return out;
}

NamedTensors PhysicalModel::state_dict(const StateDictMapping& mapping) const {
  return map_state_dict_from_model(logical(), parameter_tensors(*this), mapping);
}

NamedTensors PhysicalModel::state_dict() const { return parameter_tensors(*this); }

void PhysicalModel::load_state_dict(const NamedTensors& values, const StateDictMapping& mapping, const std::string& source,
                                    bool allow_extra) {
  bind_parameters(*this, map_state_dict_to_model(logical(), values, mapping, source, allow_extra), source);
}

}  // namespace mithril
