// Converters of ONNX's recurrent layers (RNN, GRU, LSTM): unrolled over the sequence at import,
// one step of matmuls and activations per time step, from our primitive operators. The sequence
// length must therefore be known (static shapes); the batch and feature sizes too, so that every
// step's reshapes are literal. The input projection of all steps is one matmul before the loop.
//
// sequence_lens (when given and not known to equal the sequence length everywhere) masks each
// step: a batch entry past its length keeps its state and gets zeros in Y, as ONNX specifies. The
// reverse direction then runs forward over each sequence reversed within its own length
// (reverse_sequence), and its Y is reversed back the same way.
#include <limits>

#include <fmt/format.h>

#include "core/error.h"
#include "onnx/onnx_import_context.h"

namespace mithril::onnx_import {

namespace {

enum class Cell { rnn, gru, lstm };

// x[index] along `axis`, with that axis dropped (shape of x must be concrete).
Operand take(NodeContext& c, const Operand& x, int64_t axis, int64_t index) {
  std::optional<Shape> shape = concrete_shape(x);
  if (!shape) c.refuse("needs known shapes");
  Operand s = c.apply("slice", {x}, {{"starts", std::vector<int64_t>{index}}, {"ends", std::vector<int64_t>{index + 1}},
                                      {"axes", std::vector<int64_t>{axis}}, {"steps", std::vector<int64_t>{1}}});
  Shape out = *shape;
  out.erase(out.begin() + axis);
  return reshape_to(c, s, out);
}

// x[..., from:to] on the last axis.
Operand last_range(NodeContext& c, const Operand& x, int64_t from, int64_t to) {
  int64_t axis = rank_of(c, x) - 1;
  return c.apply("slice", {x}, {{"starts", std::vector<int64_t>{from}}, {"ends", std::vector<int64_t>{to}},
                                {"axes", std::vector<int64_t>{axis}}, {"steps", std::vector<int64_t>{1}}});
}

Operand with_leading_ones(NodeContext& c, const Operand& x, int64_t ones) {
  Shape shape = *concrete_shape(x);
  shape.insert(shape.begin(), static_cast<std::size_t>(ones), 1);
  return reshape_to(c, x, shape);
}

// One of the activation functions ONNX's recurrent ops name, with its alpha/beta (or their defaults).
struct Activation {
  std::string name;
  std::optional<double> alpha, beta;
};

Operand activate(NodeContext& c, const Activation& f, std::optional<double> clip, Operand x) {
  DType t = x.info().dtype;
  if (clip) x = c.apply("clip", {x}, {{"min", -*clip}, {"max", *clip}});
  const std::string& n = f.name;
  if (n == "Tanh") return c.apply("tanh", {x});
  if (n == "Sigmoid") return c.apply("sigmoid", {x});
  if (n == "Relu") return c.apply("relu", {x});
  if (n == "LeakyRelu") return c.apply("leaky_relu", {x}, {{"slope", f.alpha.value_or(0.01)}});
  if (n == "HardSigmoid") return c.apply("hard_sigmoid", {x}, {{"alpha", f.alpha.value_or(0.2)}, {"beta", f.beta.value_or(0.5)}});
  if (n == "Elu") return c.apply("elu", {x}, {{"alpha", f.alpha.value_or(1.0)}});
  if (n == "ThresholdedRelu") return c.apply("thresholded_relu", {x}, {{"alpha", f.alpha.value_or(1.0)}});
  if (n == "Softsign") return c.apply("softsign", {x});
  if (n == "Softplus") return c.apply("softplus", {x});
  if (n == "Affine") {
    Operand y = c.apply("multiply", {x, scalar_like(c, t, f.alpha.value_or(1.0))});
    return c.apply("add", {y, scalar_like(c, t, f.beta.value_or(0.0))});
  }
  if (n == "ScaledTanh") {
    Operand y = c.apply("tanh", {c.apply("multiply", {x, scalar_like(c, t, f.beta.value_or(1.0))})});
    return c.apply("multiply", {y, scalar_like(c, t, f.alpha.value_or(1.0))});
  }
  c.refuse("activation '" + n + "' is not supported");
}

// The activations of each direction: `per_direction` names by default, or the attribute's list
// (per_direction x directions names), alpha/beta consumed in order by the functions that take them.
std::vector<std::vector<Activation>> activations(NodeContext& c, const std::vector<std::string>& defaults, int64_t directions) {
  std::vector<std::string> names;
  if (const onnx::AttributeProto* a = c.attr("activations"))
    for (const std::string& s : a->strings()) names.push_back(s);
  std::size_t k = defaults.size();
  if (names.empty())
    for (int64_t d = 0; d < directions; ++d) names.insert(names.end(), defaults.begin(), defaults.end());
  if (names.size() != k * static_cast<std::size_t>(directions))
    c.refuse(fmt::format("activations names {} functions, expected {}", names.size(), k * static_cast<std::size_t>(directions)));
  std::vector<double> alphas = c.attr_floats("activation_alpha"), betas = c.attr_floats("activation_beta");
  std::size_t ai = 0, bi = 0;
  std::vector<std::vector<Activation>> out(static_cast<std::size_t>(directions));
  for (std::size_t i = 0; i < names.size(); ++i) {
    Activation f{names[i], std::nullopt, std::nullopt};
    bool takes_alpha = f.name == "LeakyRelu" || f.name == "HardSigmoid" || f.name == "Elu" || f.name == "ThresholdedRelu" ||
                       f.name == "Affine" || f.name == "ScaledTanh";
    bool takes_beta = f.name == "HardSigmoid" || f.name == "Affine" || f.name == "ScaledTanh";
    if (takes_alpha && ai < alphas.size()) f.alpha = alphas[ai++];
    if (takes_beta && bi < betas.size()) f.beta = betas[bi++];
    out[i / k].push_back(f);
  }
  return out;
}

void convert_recurrent(NodeContext& c, Cell cell) {
  const int64_t gates = cell == Cell::rnn ? 1 : cell == Cell::gru ? 3 : 4;
  bool batch_first = c.attr_int("layout", 0) != 0;
  Operand x = c.input(0);
  std::optional<Shape> xs = concrete_shape(x);
  if (!xs || xs->size() != 3) c.refuse("X must have a known shape of rank 3 (the sequence is unrolled at import)");
  if (batch_first) x = c.apply("transpose", {x}, {{"axes", std::vector<int64_t>{1, 0, 2}}});
  const int64_t steps = (*xs)[batch_first ? 1 : 0], batch = (*xs)[batch_first ? 0 : 1], features = (*xs)[2];
  // Each step becomes about ten nodes: a declared length beyond this is refused, not unrolled for hours.
  constexpr int64_t kMaxSteps = 100000;
  if (steps > kMaxSteps) c.refuse(fmt::format("a sequence of {} steps is longer than the {} unrolled at import", steps, kMaxSteps));
  std::string direction = c.attr_string("direction", "forward");
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional")
    c.refuse("direction '" + direction + "' is not known");
  const int64_t dirs = direction == "bidirectional" ? 2 : 1;
  Operand w = c.input(1), r = c.input(2);
  std::optional<Shape> ws = concrete_shape(w), rs = concrete_shape(r);
  if (!ws || ws->size() != 3 || !rs || rs->size() != 3) c.refuse("W and R must have known shapes of rank 3");
  int64_t hidden = c.attr_int("hidden_size", (*rs)[2]);
  if (hidden <= 0 || hidden > std::numeric_limits<int32_t>::max()) c.refuse(fmt::format("hidden_size {} is not a positive size", hidden));
  if (*ws != Shape{dirs, gates * hidden, features})
    c.refuse(fmt::format("W is [{}], expected [{}, {}, {}]", fmt::join(*ws, ", "), dirs, gates * hidden, features));
  if (*rs != Shape{dirs, gates * hidden, hidden})
    c.refuse(fmt::format("R is [{}], expected [{}, {}, {}]", fmt::join(*rs, ", "), dirs, gates * hidden, hidden));
  DType dtype = x.info().dtype;
  if (!is_floating(dtype)) c.refuse("X must be a floating-point tensor");

  std::optional<Operand> bias, lengths, h0, c0, peep;
  auto optional_input = [&](int i, const char* name, const Shape& want) -> std::optional<Operand> {
    if (!c.has(i)) return std::nullopt;
    Operand v = c.input(i);
    std::optional<Shape> s = concrete_shape(v);
    if (!s) c.refuse(fmt::format("{} has an unknown shape, expected [{}]", name, fmt::join(want, ", ")));
    if (*s != want) c.refuse(fmt::format("{} is [{}], expected [{}]", name, fmt::join(*s, ", "), fmt::join(want, ", ")));
    return v;
  };
  bias = optional_input(3, "B", {dirs, 2 * gates * hidden});
  lengths = optional_input(4, "sequence_lens", {batch});
  Shape state_shape = batch_first ? Shape{batch, dirs, hidden} : Shape{dirs, batch, hidden};
  h0 = optional_input(5, "initial_h", state_shape);
  if (cell == Cell::lstm) {
    c0 = optional_input(6, "initial_c", state_shape);
    peep = optional_input(7, "P", {dirs, 3 * hidden});
  }
  if (batch_first) {
    if (h0) h0 = c.apply("transpose", {*h0}, {{"axes", std::vector<int64_t>{1, 0, 2}}});
    if (c0) c0 = c.apply("transpose", {*c0}, {{"axes", std::vector<int64_t>{1, 0, 2}}});
  }
  // Lengths known at import to be the whole sequence mask nothing.
  if (lengths && lengths->is_known()) {
    bool full = true;
    for (int64_t n : tensor_ints(*lengths->known)) {
      if (n < 0 || n > steps) c.refuse(fmt::format("sequence_lens holds {}, outside [0, {}]", n, steps));
      full = full && n == steps;
    }
    if (full) lengths.reset();
  }
  if (lengths && direction != "forward" && !have_op("reverse_sequence"))
    c.refuse("sequence_lens with the reverse direction needs the reverse_sequence operator");
  if (lengths) lengths = c.apply("cast", {*lengths}, {{"dtype", dtype_attr(DType::int64)}});

  std::optional<double> clip;
  if (c.has_attr("clip")) clip = c.attr_float("clip", 0);
  bool linear_before_reset = c.attr_int("linear_before_reset", 0) != 0;
  bool input_forget = c.attr_int("input_forget", 0) != 0;
  std::vector<std::string> defaults = cell == Cell::rnn ? std::vector<std::string>{"Tanh"}
                                      : cell == Cell::gru ? std::vector<std::string>{"Sigmoid", "Tanh"}
                                                          : std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"};
  std::vector<std::vector<Activation>> fs = activations(c, defaults, dirs);

  Operand zeros = c.constant(Tensor(dtype, Shape{batch, hidden}));
  Operand one = scalar_like(c, dtype, 1);
  std::vector<Operand> ys, hs, cs;
  for (int64_t d = 0; d < dirs; ++d) {
    const std::vector<Activation>& f = fs[static_cast<std::size_t>(d)];
    Operand wt = c.apply("transpose", {take(c, w, 0, d)}, {{"axes", std::vector<int64_t>{1, 0}}});  // [I, G*H]
    Operand rt = c.apply("transpose", {take(c, r, 0, d)}, {{"axes", std::vector<int64_t>{1, 0}}});  // [H, G*H]
    bool reverse = direction == "reverse" || d == 1;
    // With lengths, the reverse direction is a forward pass over each sequence reversed within its length.
    bool flip = reverse && lengths.has_value();
    auto flip_time = [&](const Operand& v) {
      return c.apply("reverse_sequence", {v, *lengths}, {{"batch_axis", int64_t{1}}, {"time_axis", int64_t{0}}});
    };
    Operand xw = c.apply("matmul", {flip ? flip_time(x) : x, wt});  // [S, B, G*H]
    std::optional<Operand> rb;
    if (bias) {
      Operand b = take(c, *bias, 0, d);
      xw = c.apply("add", {xw, last_range(c, b, 0, gates * hidden)});
      rb = last_range(c, b, gates * hidden, 2 * gates * hidden);
    }
    // The recurrent term h @ R[:, from:to] + Rb[from:to].
    auto recur = [&](const Operand& h, int64_t from, int64_t to) {
      Operand y = c.apply("matmul", {h, last_range(c, rt, from * hidden, to * hidden)});
      return rb ? c.apply("add", {y, last_range(c, *rb, from * hidden, to * hidden)}) : y;
    };
    std::optional<Operand> pi, po, pf;
    if (peep) {
      Operand p = take(c, *peep, 0, d);
      pi = last_range(c, p, 0, hidden);
      po = last_range(c, p, hidden, 2 * hidden);
      pf = last_range(c, p, 2 * hidden, 3 * hidden);
    }
    Operand h = h0 ? take(c, *h0, 0, d) : zeros;
    Operand cstate = c0 ? take(c, *c0, 0, d) : zeros;
    std::vector<Operand> outs(static_cast<std::size_t>(steps), zeros);
    for (int64_t k = 0; k < steps; ++k) {
      int64_t t = reverse && !flip ? steps - 1 - k : k;
      Operand xt = take(c, xw, 0, t);  // [B, G*H]
      Operand h_new = h, c_new = cstate;
      if (cell == Cell::rnn) {
        h_new = activate(c, f[0], clip, c.apply("add", {xt, recur(h, 0, 1)}));
      } else if (cell == Cell::gru) {
        Operand z = activate(c, f[0], clip, c.apply("add", {last_range(c, xt, 0, hidden), recur(h, 0, 1)}));
        Operand rg = activate(c, f[0], clip, c.apply("add", {last_range(c, xt, hidden, 2 * hidden), recur(h, 1, 2)}));
        Operand hh_in = linear_before_reset ? c.apply("multiply", {rg, recur(h, 2, 3)}) : recur(c.apply("multiply", {rg, h}), 2, 3);
        Operand hh = activate(c, f[1], clip, c.apply("add", {last_range(c, xt, 2 * hidden, 3 * hidden), hh_in}));
        h_new = c.apply("add", {c.apply("multiply", {c.apply("subtract", {one, z}), hh}), c.apply("multiply", {z, h})});
      } else {
        Operand a = c.apply("add", {xt, recur(h, 0, 4)});  // gates i, o, f, c
        Operand ai = last_range(c, a, 0, hidden), ao = last_range(c, a, hidden, 2 * hidden);
        Operand af = last_range(c, a, 2 * hidden, 3 * hidden), ac = last_range(c, a, 3 * hidden, 4 * hidden);
        if (pi) ai = c.apply("add", {ai, c.apply("multiply", {*pi, cstate})});
        if (pf) af = c.apply("add", {af, c.apply("multiply", {*pf, cstate})});
        Operand ig = activate(c, f[0], clip, ai);
        Operand fg = input_forget ? c.apply("subtract", {one, ig}) : activate(c, f[0], clip, af);
        c_new = c.apply("add", {c.apply("multiply", {fg, cstate}), c.apply("multiply", {ig, activate(c, f[1], clip, ac)})});
        if (po) ao = c.apply("add", {ao, c.apply("multiply", {*po, c_new})});
        Operand og = activate(c, f[0], clip, ao);
        h_new = c.apply("multiply", {og, activate(c, f[2], std::nullopt, c_new)});
      }
      if (lengths) {
        // Entries past their length keep their state and output zeros.
        Operand live = c.apply("less", {c.constant(Tensor::scalar(DType::int64, static_cast<double>(t))), *lengths});
        live = reshape_to(c, live, {batch, 1});
        outs[static_cast<std::size_t>(t)] = c.apply("where", {live, h_new, zeros});
        h = c.apply("where", {live, h_new, h});
        if (cell == Cell::lstm) cstate = c.apply("where", {live, c_new, cstate});
      } else {
        outs[static_cast<std::size_t>(t)] = h_new;
        h = h_new;
        cstate = c_new;
      }
    }
    if (c.wants_output(0)) {
      std::vector<Operand> seq;
      for (const Operand& o : outs) seq.push_back(with_leading_ones(c, o, flip ? 1 : 2));  // [1, B, H] or [1, 1, B, H]
      Operand y = seq.size() == 1 ? seq[0] : c.apply("concat", seq, {{"axis", int64_t{0}}});
      if (flip) y = reshape_to(c, flip_time(y), {steps, 1, batch, hidden});
      ys.push_back(y);
    }
    hs.push_back(with_leading_ones(c, h, 1));
    cs.push_back(with_leading_ones(c, cstate, 1));
  }
  auto join = [&](const std::vector<Operand>& parts, int64_t axis) {
    return parts.size() == 1 ? parts[0] : c.apply("concat", parts, {{"axis", axis}});
  };
  if (c.wants_output(0)) {
    Operand y = join(ys, 1);  // [S, D, B, H]
    if (batch_first) y = c.apply("transpose", {y}, {{"axes", std::vector<int64_t>{2, 0, 1, 3}}});
    c.output(0, y);
  }
  auto state_out = [&](int i, const std::vector<Operand>& parts) {
    if (!c.wants_output(i)) return;
    Operand s = join(parts, 0);  // [D, B, H]
    if (batch_first) s = c.apply("transpose", {s}, {{"axes", std::vector<int64_t>{1, 0, 2}}});
    c.output(i, s);
  };
  state_out(1, hs);
  if (cell == Cell::lstm) state_out(2, cs);
}

}  // namespace

void register_rnn_converters(ConverterTable& t) {
  t["RNN"] = [](NodeContext& c) { convert_recurrent(c, Cell::rnn); };
  t["GRU"] = [](NodeContext& c) { convert_recurrent(c, Cell::gru); };
  t["LSTM"] = [](NodeContext& c) { convert_recurrent(c, Cell::lstm); };
}

}  // namespace mithril::onnx_import
