#pragma once
// The one validation of values given for a model's inputs, used by compiling, evaluating and the
// tools alike. Messages name the model and the input, never where the values came from: callers
// add that with Error::with_context ("inputs.npz: input 'x': shape [2,9], expected [null,10] ...",
// "--shape x=2,9: ...").
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/shape.h"
#include "graph/model.h"

namespace mithril {

/// The declaration of input `name` of a model; for `xs_3`, an element of the list input `xs`, the
/// list's declaration. Throws Error(invalid_argument) "model 'm' has no input 'x' (inputs: a, b)"
/// when there is none, and when `name` is a list input itself (its elements are given instead).
const InputDecl& find_input(const std::string& model_name, const std::vector<InputDecl>& inputs, const std::string& name);

/// Checks a value of `shape` and `dtype` against its input's declaration: the rank and every
/// known dimension must match, and complex values may not feed a real input (the cast would drop
/// the imaginary part). Throws Error(shape) "input 'x': shape [5,7], expected [null,10] (model 'm')".
void check_input_value(const std::string& model_name, const InputDecl& input, const Shape& shape, DType dtype);

/// Throws Error(invalid_argument) "missing input a, b of model 'm'" when a declared input is not
/// among `given` (names); a list input is present when one of its elements is.
void check_inputs_present(const std::string& model_name, const std::vector<InputDecl>& inputs, const std::vector<std::string>& given);

}  // namespace mithril
