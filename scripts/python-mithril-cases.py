#!/usr/bin/env python3
"""Builds test cases with the real Python Mithril (run it inside the oracle root; see
../shared/python-mithril/oracle/README.md):

    ../shared/python-mithril/oracle/run.sh scripts/python-mithril-cases.py [OUT_DIR]

For every case below it builds a model with Python Mithril's own API, writes the dict that its
`model_to_dict` produces (NAME.json, json.dump with default=str, as a user would save it), reads
that file back with Python's own dict_to_model and compiles it with the NumpyBackend in float64, draws parameters (under the names Python's compile
gives them) and inputs from a seeded generator, evaluates, and writes NAME.params.npz,
NAME.inputs.npz and NAME.expected.npz (Python's outputs). OUT_DIR defaults to
testdata/python-mithril/from_python. The cases cover every model name the python-mithril step
knows, several times, with nesting, shared dims, unnamed keys, constants and each loss mode.
The replay (tests/e2e/python_mithril_cases.sh) needs none of this: it reads the files.
"""
import json
import os
import sys

import numpy as np

import mithril as ml
from mithril.models import (
    MLP, AbsoluteError, Absolute, Add, BinaryCrossEntropy, Buffer, Convolution1D, Convolution2D, Cosine,
    CrossEntropy, Divide, Embedding, Exponential, Flatten, Gelu, IOKey, Layer, LayerNorm, LeakyRelu, Linear,
    Log, MatrixMultiply, Max, MaxPool1D, MaxPool2D, Mean, Min, Model, Multiply, PermuteTensor, Power, Prod,
    Relu, Sigmoid, Sine, Softmax, Softplus, Sqrt, SquaredError, Subtract, Sum, Tanh, Transpose, Variance, Where,
    FloorDivide, HingeLoss, KLDivergence, LogisticRegression, PolynomialFeatures, PolynomialRegression,
    QuadHingeLoss, RBFKernel, QuantileLoss, ShiftLeft, ShiftRight, StableReciprocal,
)
from mithril.models import (
    Concat, DistanceMatrix, EncoderDistanceMatrix, Equal, Floor, Greater, GreaterEqual, IsNan, Less, LessEqual,
    LogicalAnd, LogicalNot, LogicalOr, LogicalXOr, Maximum, MDSCore, Minimum, Negate, NormModifier, NotEqual, Sign,
)
from mithril.models import (
    ArgMax, ArgMin, AtLeast1D, AvgPool2D, BroadcastTo, Clamp, ElementWiseAffine, Eye, EyeComplement, KernelizedSVM,
    LinearSVM, Ones, Pad, NanToNum, Cast, Indexer, GroupNorm, Squeeze, ScaledDotProduct, TsnePJoint, TSNE, MDS, PolynomialKernel, Reshape, SiLU, SwapAxes, TransposedDiagonal, Trapezoid, ZerosLike, Arange,
)
from mithril.models.models import TSNECore  # not in mithril.models' __all__, but its dicts name it
from mithril.models.models import GaussProcessRegressionCore, GPRLoss
from mithril.models.primitives import StopGradient  # not re-exported by mithril.models
from mithril.models.primitives import Cholesky, Eigvalsh, GPRAlpha, GPRVOuter, Size
from mithril.models import LSTMCell, RNNCell
from mithril.models import Item, TensorToList, ToTensor
from mithril.models import PrimitiveConvolution1D, PrimitiveConvolution2D, PrimitiveMaxPool1D, PrimitiveMaxPool2D
from mithril.models.models import LSTMCellBody
from mithril.utils.dict_conversions import dict_to_model, model_to_dict

import python_mithril_repairs  # the GPR family of this snapshot cannot be built or run without them

OUT = sys.argv[1] if len(sys.argv) > 1 else "testdata/python-mithril/from_python"
CASES = {}
MANIFEST = {}  # per case: what Python's outputs were computed from


def case(shapes, **value_specs):
    """Registers a case builder: shapes of the inputs, and how to draw particular keys
    ("positive", "int:N" for integers in [0, N), "bool", "prob" for values in (0, 1), "binary")."""
    def register(fn):
        CASES[fn.__name__] = (fn, shapes, value_specs)
        return fn
    return register


class ListOf:
    """The shapes of a list input (Concat's input): fed as a list; saved as KEY_0, KEY_1, ..."""
    def __init__(self, *shapes):
        self.shapes = [list(s) for s in shapes]


def draw(rng, shape, spec):
    if spec == "positive":
        return rng.uniform(0.5, 2.0, shape)
    if spec == "prob":
        return rng.uniform(0.05, 0.95, shape)
    if spec == "binary":
        return rng.integers(0, 2, shape).astype(np.float64)
    if spec == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    if spec == "perplexity":  # a t-SNE target perplexity
        return rng.uniform(2.0, 4.0, shape)
    if spec == "nonfinite":  # some NaN, +inf and -inf among normal values
        return rng.choice([np.nan, np.inf, -np.inf, 0.5, -2.0, 1.25], size=shape) * rng.uniform(0.5, 2.0, shape)
    # Square matrices for the GPR family: positive definite, or symmetric with eigenvalues of both
    # signs (Cholesky fails, Python's L is None), or lower triangular with a positive diagonal.
    if spec == "spd":
        a = rng.standard_normal(shape)
        return a @ a.T / shape[0] + np.eye(shape[0])
    if spec == "indefinite":
        a = rng.standard_normal(shape)
        s = a + a.T
        return s - np.eye(shape[0]) * np.mean(np.linalg.eigvalsh(s))
    if spec == "lower":
        return np.tril(rng.standard_normal(shape), -1) + np.diag(rng.uniform(0.5, 2.0, shape[0]))
    if spec == "permutation":  # PermuteTensor's indices: a permutation of the rows
        return rng.permutation(shape[0])
    if spec and spec.startswith("int:"):
        return rng.integers(0, int(spec[4:]), shape)
    return rng.standard_normal(shape)


# ---------------------------------------------------------------- library models, alone

@case({"input": [4, 3]})
def linear_alone():
    return Linear(dimension=5)


@case({"input": [2, 3]})
def linear_no_bias():
    return Linear(dimension=4, use_bias=False)


@case({"input": [3, 4]})
def mlp_three_layers():
    return MLP(activations=[Relu(), LeakyRelu(slope=0.2), Sigmoid()], dimensions=[6, 5, 2])


@case({"input": [2, 3]})
def layer_tanh():
    return Layer(activation=Tanh(), dimension=4)


@case({"input": [2, 3, 5]})
def layernorm_alone():
    return LayerNorm()


@case({"input": [2, 3, 5]})
def layernorm_no_scale():
    return LayerNorm(use_scale=False)


@case({"input": [2, 3, 9]})
def conv1d_alone():
    return Convolution1D(kernel_size=3, out_channels=4)


@case({"input": [2, 3, 9]})
def conv1d_stride_padding():
    return Convolution1D(kernel_size=3, out_channels=2, stride=2, padding=1, use_bias=False)


@case({"input": [1, 2, 7, 6]})
def conv2d_alone():
    return Convolution2D(kernel_size=3, out_channels=3)


@case({"input": [1, 2, 8, 8]})
def conv2d_stride_padding():
    return Convolution2D(kernel_size=(3, 3), out_channels=2, stride=(2, 2), padding=(1, 1))


@case({"input": [2, 3, 10]})
def maxpool1d_alone():
    return MaxPool1D(kernel_size=2)


@case({"input": [1, 2, 6, 6]})
def maxpool2d_alone():
    return MaxPool2D(kernel_size=2)


@case({"input": [2, 5], "weight": [7, 3]}, input="int:7")
def embedding_alone():
    return Embedding(num_embeddings=7, dim=3)


# ---------------------------------------------------------------- elementwise and reductions

def tensor(name, **kw):
    """A named input typed as a float tensor (untyped inputs of Add and the like may be scalars,
    and Python then refuses a shape for them)."""
    return IOKey(name, type=ml.Tensor[float], **kw)


def binary(model_cls, left="left", right="right"):
    m = Model()
    m |= model_cls().connect(**{left: tensor("a"), right: tensor("b")}, output=IOKey("y"))
    return m


@case({"a": [3, 4], "b": [3, 4]})
def add_sub_mul():
    m = Model()
    m |= Add().connect(left=tensor("a"), right=tensor("b"), output="s")
    m |= Subtract().connect(left="s", right="b", output="d")
    m |= Multiply().connect(left="d", right="a", output=IOKey("y"))
    return m


@case({"a": [3, 4], "b": [4]}, b="positive")
def divide_broadcast():
    return binary(Divide, "numerator", "denominator")


@case({"a": [3, 4], "b": [4, 2]})
def matmul_alone():
    return binary(MatrixMultiply)


@case({"a": [2, 3], "b": [2, 3]}, a="positive")
def power_alone():
    return binary(Power, "base", "exponent")


@case({"a": [2, 3], "b": [2, 3]})
def power_robust():
    m = Model()
    m |= Power(robust=True).connect(base=tensor("a"), exponent=tensor("b"), output=IOKey("y"))
    return m


def unary_chain(*models):
    m = Model()
    key = "x"
    for i, model in enumerate(models):
        out = IOKey("y") if i + 1 == len(models) else f"h{i}"
        m |= model.connect(input=key, output=out)
        key = out
    return m


@case({"x": [3, 4]})
def activations_chain():
    return unary_chain(Relu(), Sigmoid(), Tanh(), Softplus(), Gelu())


@case({"x": [3, 4]})
def leaky_relu_and_softmax():
    return unary_chain(LeakyRelu(slope=0.3), Softmax())


@case({"x": [3, 4]})
def softmax_axis0():
    m = Model()
    m |= Softmax(axis=0).connect(input="x", output=IOKey("y"))
    return m


@case({"x": [3, 4]}, x="positive")
def sqrt_log_exp():
    return unary_chain(Sqrt(), Log(), Exponential())


@case({"x": [3, 4]})
def robust_sqrt_log():
    return unary_chain(Sqrt(robust=True), Log(robust=True))


@case({"x": [3, 4]})
def abs_sin_cos():
    return unary_chain(Absolute(), Sine(), Cosine())


@case({"x": [3, 4]})
def buffer_alone():
    m = Model()
    m |= Buffer().connect(input=tensor("x"), output=IOKey("y"))
    return m


@case({"x": [2, 3, 4]})
def reductions_axes():
    m = Model()
    m |= Sum(axis=1).connect(input="x", output=IOKey("s"))
    m |= Mean(axis=(0, 2), keepdim=True).connect(input="x", output=IOKey("mean"))
    m |= Max(axis=-1).connect(input="x", output=IOKey("mx"))
    m |= Min().connect(input="x", output=IOKey("mn"))
    m |= Prod(axis=0).connect(input="x", output=IOKey("p"))
    return m


@case({"x": [4, 5]})
def variance_correction():
    m = Model()
    m |= Variance(axis=0, correction=1.0).connect(input="x", output=IOKey("v1"))
    m |= Variance().connect(input="x", output=IOKey("v0"))
    return m


@case({"x": [2, 3, 4]})
def transpose_flatten():
    m = Model()
    m |= Transpose(axes=(2, 0, 1)).connect(input="x", output="t")
    m |= Flatten(start_dim=1).connect(input="t", output=IOKey("y"))
    m |= Transpose().connect(input="x", output=IOKey("z"))
    return m


@case({"x": [4, 3], "idx": [4]}, idx="int:4")
def permute_tensor():
    m = Model()
    m |= PermuteTensor().connect(input="x", indices="idx", output=IOKey("y"))
    return m


@case({"c": [3, 4], "a": [3, 4], "b": [3, 4]}, c="bool")
def where_alone():
    m = Model()
    m |= Where().connect(cond="c", input1="a", input2="b", output=IOKey("y"))
    return m


# ---------------------------------------------------------------- losses, each mode

@case({"input": [4, 3], "target": [4, 3]})
def squared_and_absolute_error():
    m = Model()
    m |= SquaredError().connect(input="input", target="target", output=IOKey("se"))
    m |= AbsoluteError().connect(input="input", target="target", output=IOKey("ae"))
    return m


@case({"input": [4, 3], "target": [4]}, target="int:3")
def cross_entropy_logits():
    m = Model()
    m |= CrossEntropy().connect(input="input", target="target", output=IOKey("y"))
    return m


@case({"input": [4, 3], "target": [4]}, input="prob", target="int:3")
def cross_entropy_probs():
    m = Model()
    m |= CrossEntropy(input_type="probs").connect(input="input", target="target", output=IOKey("y"))
    return m


@case({"input": [4, 3], "target": [4]}, target="int:3")
def cross_entropy_log_probs_weights():
    m = Model()
    m |= CrossEntropy(input_type="log_probs", weights=[0.5, 1.0, 2.0]).connect(
        input="input", target="target", output=IOKey("y"))
    return m


@case({"input": [5], "target": [5]}, target="binary")
def bce_logits():
    m = Model()
    m |= BinaryCrossEntropy().connect(input="input", target="target", output=IOKey("y"))
    return m


@case({"input": [5], "target": [5]}, target="binary")
def bce_logits_auto_pos_weight():
    m = Model()
    m |= BinaryCrossEntropy(pos_weight="auto").connect(input="input", target="target", output=IOKey("y"))
    return m


@case({"input": [5], "target": [5]}, input="prob", target="binary")
def bce_probs_pos_weight():
    m = Model()
    m |= BinaryCrossEntropy(input_type="probs", pos_weight=2.0).connect(input="input", target="target",
                                                                         output=IOKey("y"))
    return m


@case({"input": [5], "target": [5]}, input="prob", target="binary")
def bce_probs_robust():
    m = Model()
    m |= BinaryCrossEntropy(input_type="probs", robust=True).connect(input="input", target="target",
                                                                      output=IOKey("y"))
    return m


# ---------------------------------------------------------------- more of the library

@case({"input": [4, 3], "target": [4, 3]})
def hinge_losses():
    m = Model()
    m |= HingeLoss().connect(input="input", target="target", output=IOKey("hinge"))
    m |= QuadHingeLoss().connect(input="input", target="target", output=IOKey("quad"))
    return m


@case({"input": [4, 3], "target": [4, 3]})
def quantile_loss():
    m = Model()
    m |= QuantileLoss(quantile=0.3).connect(input="input", target="target", output=IOKey("y"))
    return m


@case({"input": [4, 3], "target": [4, 3]}, input="prob", target="prob")
def kl_divergence():
    m = Model()
    m |= KLDivergence().connect(input="input", target="target", output=IOKey("y"))
    return m


@case({"x": [3, 4]})
def stable_reciprocal_and_stop_gradient():
    m = Model()
    m |= StopGradient().connect(input=tensor("x"), output="s")
    m |= StableReciprocal().connect(input="s", output=IOKey("y"))
    return m


@case({"a": [3, 4], "b": [3, 4]}, b="positive")
def floor_divide():
    return binary(FloorDivide, "numerator", "denominator")


@case({"a": [3, 4], "b": [3, 4]}, a="int:100", b="int:5")
def shifts():
    m = Model()
    m |= ShiftLeft().connect(input=IOKey("a", type=ml.Tensor[int]), shift=IOKey("b", type=ml.Tensor[int]),
                             output=IOKey("left"))
    m |= ShiftRight().connect(input="a", shift="b", output=IOKey("right"))
    return m


@case({"input": [5, 3]})
def logistic_regression_alone():
    return LogisticRegression()


@case({"x": [5, 3], "t": [5, 1]}, t="binary")
def logistic_regression_with_loss():
    m = Model()
    m |= LogisticRegression().connect(input="x", output="logits", probs_output=IOKey("p"))
    m |= BinaryCrossEntropy().connect(input="logits", target="t", output=IOKey("loss"))
    return m


@case({"input1": [4, 3], "input2": [5, 3], "l_scale": [1], "sigma": [1]}, l_scale="positive", sigma="positive")
def rbf_kernel_alone():
    return RBFKernel()


@case({"x": [4, 3]})
def polynomial_features_degree3():
    m = Model()
    # degree as a connection value: model_to_dict drops PolynomialFeatures' constructor args.
    m |= PolynomialFeatures().connect(input=tensor("x"), degree=3, output=IOKey("y"))
    return m


@case({"input": [5, 2]})
def polynomial_regression_alone():
    return PolynomialRegression(degree=2, dimension=3)


# ---------------------------------------------------------------- composition

@case({"x": [4, 3]})
def two_linears_shared_names():
    m = Model()
    m |= Linear(dimension=8).connect(input="x", output="h")
    m |= Relu().connect(input="h", output="r")
    m |= Linear(dimension=2).connect(input="r", output=IOKey("y"))
    return m


@case({"x": [4, 3]})
def named_weight_shared():
    # One weight used by two Linears (shared dims: both map 3 -> 3).
    m = Model()
    m |= Linear(dimension=3).connect(input="x", weight="w", output="h")
    m |= Linear(dimension=3).connect(input="h", weight="w", output=IOKey("y"))
    return m


@case({"x": [4, 3]})
def nested_models():
    inner = Model()
    inner |= Linear(dimension=4).connect(input="a", output="b")
    inner |= Tanh().connect(input="b", output=IOKey("c"))
    outer = Model()
    outer |= inner.connect(a="x", c="h")
    outer |= Linear(dimension=2).connect(input="h", output=IOKey("y"))
    return outer


@case({"x": [4, 3]})
def nested_twice():
    inner = Model()
    inner |= Layer(activation=Relu(), dimension=3).connect(input="a", output=IOKey("b"))
    middle = Model()
    middle |= inner.connect(a="p", b="q")
    middle |= Sigmoid().connect(input="q", output=IOKey("r"))
    outer = Model()
    outer |= middle.connect(p="x", r=IOKey("y"))
    return outer


@case({"x": [3, 4]})
def unnamed_constants():
    m = Model()
    m |= Add().connect(left=tensor("x"), right=ml.Tensor(3.0), output="a")
    m |= Multiply().connect(left="a", right=ml.Tensor([1.0, 2.0, 3.0, 4.0]), output=IOKey("y"))
    return m


@case({"x": [3, 4]})
def named_constant():
    m = Model()
    m |= Multiply().connect(left=tensor("x"), right=IOKey("scale", value=ml.Tensor(0.5)), output=IOKey("y"))
    return m


@case({"x": [3, 4]})
def unnamed_intermediates():
    m = Model()
    m |= (relu := Relu()).connect(input="x")
    m |= (sig := Sigmoid()).connect(input=relu.output)
    m |= Add().connect(left=sig.output, right=relu.output, output=IOKey("y"))
    return m


@case({"x": [3, 4]})
def two_outputs_exposed():
    m = Model()
    m |= Relu().connect(input="x", output=IOKey("r"))
    m |= Sigmoid().connect(input="r", output=IOKey("s"))
    return m


@case({"x": [2, 3]})
def mlp_in_model_with_loss():
    m = Model()
    m |= MLP(activations=[Relu(), Buffer()], dimensions=[4, 2]).connect(input="x", output="logits")
    m |= CrossEntropy().connect(input="logits", target="t", output=IOKey("loss"))
    return m


@case({"x": [2, 3], "t": [2, 3]})
def weights_used_in_two_places():
    m = Model()
    m |= Linear(dimension=3).connect(input="x", output="h")
    m |= Linear(dimension=3).connect(input="h", output="g")
    m |= SquaredError().connect(input="g", target="t", output=IOKey("loss"))
    m |= Add().connect(left="g", right="h", output=IOKey("sum"))
    return m


@case({"x": [1, 2, 8, 8]})
def conv_pool_flatten_linear():
    m = Model()
    m |= Convolution2D(kernel_size=3, out_channels=2).connect(input="x", output="c")
    m |= Relu().connect(input="c", output="r")
    m |= MaxPool2D(kernel_size=2).connect(input="r", output="p")
    m |= Flatten(start_dim=1).connect(input="p", output="f")
    m |= Linear(dimension=3).connect(input="f", output=IOKey("y"))
    return m


@case({"x": [3, 4], "w": [4, 2]})
def trainable_matmul_input():
    # A plain input marked trainable: Python draws it as a parameter.
    m = Model()
    m |= MatrixMultiply().connect(left="x", right=IOKey("w", differentiable=True), output=IOKey("y"))
    return m


@case({})
def no_runtime_inputs():
    # Every input is trainable, so the model has parameters and no data inputs.
    m = Model()
    m |= Add().connect(left=IOKey("a", differentiable=True, shape=[2, 3]),
                       right=IOKey("b", differentiable=True, shape=[2, 3]), output=IOKey("y"))
    return m


# ---------------------------------------------------------------- lists of tensors (format 1.2.0)

@case({"input": ListOf([2, 3], [1, 3], [4, 3])})
def concat_list_input():
    return Concat(axis=0)


@case({"input": ListOf([2, 2], [3], [1, 1, 2])})
def concat_list_axis_none():
    return Concat(axis=None)


@case({"input": ListOf([3, 2], [3, 4])})
def concat_list_last_axis():
    return Concat(axis=-1)


@case({"xs": ListOf([2, 3], [2, 3]), "w": [3, 3]})
def concat_list_in_model():
    m = Model()
    m |= Concat(axis=0).connect(input="xs", output="joined")
    m |= MatrixMultiply().connect(left="joined", right="w", output="mm")
    m |= Relu().connect(input="mm", output=IOKey("y"))
    return m


@case({"x": [2, 3], "z": [2, 1]})
def concat_of_connections():
    # A list of connections: Python puts a ToList before Concat's input.
    m = Model()
    m |= (r := Relu()).connect(input="x")
    m |= (s := Sigmoid()).connect(input="z")
    m |= Concat(axis=1).connect(input=[IOKey("x"), r.output, s.output], output=IOKey("y"))
    return m


@case({"a": [2, 2], "b": [3, 2]})
def concat_of_connections_axis_none():
    m = Model()
    m |= Concat(axis=None).connect(input=[IOKey("a", type=ml.Tensor[float]), IOKey("b", type=ml.Tensor[float])], output="c")
    m |= Sum().connect(input="c", output=IOKey("total"))
    m |= Buffer().connect(input="c", output=IOKey("flat"))
    return m


# ---------------------------------------------------------------- more of mithril.models

@case({"input1": [4, 3], "input2": [5, 3], "norm": []}, norm="positive")
def encoder_distance_matrix_final():
    return EncoderDistanceMatrix()


@case({"input1": [4, 2], "input2": [3, 2], "norm": []}, norm="positive")
def encoder_distance_matrix_raw():
    return EncoderDistanceMatrix(get_final_distance=False)


@case({"input1": [3, 2], "input2": [3, 2], "norm": []}, norm="positive")
def encoder_distance_matrix_plain_power():
    return EncoderDistanceMatrix(robust=False)


@case({"distances": [4, 4], "pred_distances": [4, 4], "norm": []}, distances="positive", pred_distances="positive",
      norm="positive")
def mds_core_exact():
    return MDSCore()


@case({"distances": [3, 3], "pred_distances": [3, 3], "norm": []}, distances="positive", pred_distances="positive",
      norm="positive")
def mds_core_powered():
    return MDSCore(exact_distances=False)


@case({"input": []}, input="positive")
def norm_modifier_alone():
    return NormModifier()


@case({"left": [3, 2], "right": [4, 2], "norm": []}, norm="positive")
def distance_matrix_alone():
    return DistanceMatrix()


@case({"x": [3, 4], "y": [3, 4]})
def sign_negate_floor_min_max():
    m = Model()
    m |= Sign().connect(input="x", output=IOKey("s"))
    m |= Negate().connect(input="x", output=IOKey("n"))
    m |= Floor().connect(input="y", output=IOKey("f"))
    m |= Minimum().connect(left="x", right="y", output=IOKey("lo"))
    m |= Maximum().connect(left="x", right="y", output=IOKey("hi"))
    return m


@case({"x": [3, 4], "y": [3, 4]})
def comparisons():
    m = Model()
    m |= Greater().connect(left=IOKey("x", type=ml.Tensor[float]), right=IOKey("y", type=ml.Tensor[float]), output=IOKey("gt"))
    m |= GreaterEqual().connect(left="x", right="y", output=IOKey("ge"))
    m |= Less().connect(left="x", right="y", output=IOKey("lt"))
    m |= LessEqual().connect(left="x", right="y", output=IOKey("le"))
    m |= Equal().connect(left="x", right="x", output=IOKey("eq"))
    m |= NotEqual().connect(left="x", right="y", output=IOKey("ne"))
    m |= IsNan().connect(input="x", output=IOKey("nan"))
    return m


@case({"p": [2, 5], "q": [2, 5]}, p="bool", q="bool")
def logical_ops():
    m = Model()
    m |= LogicalAnd().connect(left=IOKey("p", type=ml.Tensor[bool]), right=IOKey("q", type=ml.Tensor[bool]), output=IOKey("a"))
    m |= LogicalOr().connect(left="p", right="q", output=IOKey("o"))
    m |= LogicalXOr().connect(left="p", right="q", output=IOKey("x"))
    m |= LogicalNot().connect(input="p", output=IOKey("n"))
    return m


# ---------------------------------------------------------------- tensor models of mithril.models (issue 11, item 8)

@case({"input": [3, 4]})
def silu_alone():
    return SiLU()


@case({"x": [2, 5]})
def silu_then_clamp():
    m = Model()
    m |= SiLU().connect(input="x", output="s")
    m |= Clamp().connect(input="s", min_val=-0.1, max_val=0.4, output=IOKey("y"))
    return m


@case({"x": [4, 3]})
def clamp_int_bounds():
    m = Model()
    m |= Clamp().connect(input="x", min_val=-1, max_val=1, output=IOKey("y"))
    return m


@case({"x": [3, 5]})
def argmax_argmin():
    m = Model()
    m |= ArgMax(axis=1).connect(input="x", output=IOKey("amax"))
    m |= ArgMin(axis=0, keepdim=True).connect(input="x", output=IOKey("amin"))
    m |= ArgMax().connect(input="x", output=IOKey("flat_amax"))
    return m


@case({"input": [2, 3, 4]})
def argmin_last_axis():
    return ArgMin(axis=-1)


@case({"x": [2, 6]})
def reshape_and_broadcast():
    m = Model()
    m |= Reshape().connect(input="x", shape=(3, -1), output="r")
    m |= BroadcastTo().connect(input="r", shape=(2, 3, 4), output=IOKey("b"))
    m |= Reshape().connect(input="x", shape=(12,), output=IOKey("flat"))
    return m


@case({"x": [], "y": [2, 3]})
def atleast1d_zeroslike():
    m = Model()
    m |= AtLeast1D().connect(input="x", output=IOKey("x1"))
    m |= AtLeast1D().connect(input="y", output=IOKey("y1"))
    m |= ZerosLike().connect(input="y", output=IOKey("z"))
    return m


@case({"input": [4, 4]})
def transposed_diagonal_alone():
    return TransposedDiagonal()


@case({"x": [2, 3]})
def pad_two_axes():
    m = Model()
    m |= Pad().connect(input="x", pad_width=((1, 0), (2, 1)), output=IOKey("y"))
    return m


@case({"input": [1, 2, 6, 6]})
def avgpool2d_alone():
    return AvgPool2D(kernel_size=2)


@case({"x": [2, 3, 7, 7]})
def avgpool2d_padded_strided():
    m = Model()
    m |= AvgPool2D(kernel_size=3, stride=2, padding=1).connect(input="x", output=IOKey("y"))
    return m


@case({"input": [3, 4], "weight": [4], "bias": [4]})
def elementwise_affine_alone():
    m = Model()
    m |= ElementWiseAffine().connect(input=IOKey("input", type=ml.Tensor[float]), weight=IOKey("weight", type=ml.Tensor[float]),
                                     bias=IOKey("bias", type=ml.Tensor[float]), output=IOKey("output"))
    return m


@case({"input1": [3, 2], "input2": [4, 2], "poly_coef": [], "degree": []}, degree="positive")
def polynomial_kernel_alone():
    m = Model()
    m |= PolynomialKernel().connect(input1=IOKey("input1", type=ml.Tensor[float]), input2=IOKey("input2", type=ml.Tensor[float]),
                                    poly_coef=IOKey("poly_coef", type=ml.Tensor[float]), degree=IOKey("degree", type=ml.Tensor[float]),
                                    output=IOKey("output"))
    return m


@case({"x": [3, 2], "z": [2, 2]})
def polynomial_kernel_values():
    m = Model()
    m |= PolynomialKernel(robust=False).connect(input1="x", input2="z", poly_coef=1.0, degree=2.0, output=IOKey("k"))
    return m


@case({"input": [5, 3]})
def linear_svm_alone():
    return LinearSVM()


@case({"input1": [3, 2], "input2": [4, 2], "sigma": [1], "l_scale": [1]}, sigma="positive", l_scale="positive")
def kernelized_svm_rbf():
    return KernelizedSVM(kernel=RBFKernel())


@case({"y": [6], "x": [6]})
def trapezoid_with_x():
    return Trapezoid()


@case({"x": [], "n": []}, n="int:5")
def constant_makers():
    # The values go in connections: model_to_dict drops these models' constructor args. Each array
    # is added to an input: a model output that is a static value alone comes out of Python's
    # evaluate as a function, not an array.
    m = Model()
    x = IOKey("x", type=ml.Tensor[float])
    m |= Eye(M=ml.TBD).connect(N=3, M=4, output="eye")
    m |= EyeComplement().connect(N=3, output="eye_complement")
    m |= Ones().connect(shape=(2, 3), output="ones")
    m |= Arange(start=ml.TBD, step=ml.TBD).connect(start=1, stop=7, step=2, output="ints")
    m |= Arange(start=ml.TBD, step=ml.TBD).connect(start=0.5, stop=2.0, step=0.25, output="floats")
    for key in ("eye", "eye_complement", "ones", "floats"):
        m |= Add().connect(left=x, right=key, output=IOKey(key + "_plus_x"))
    m |= Add().connect(left=IOKey("n", type=ml.Tensor[int]), right="ints", output=IOKey("ints_plus_n"))  # int64
    return m


@case({"x": [3, 3]})
def eye_times_input():
    m = Model()
    m |= Eye().connect(N=3, output="i")
    m |= Multiply().connect(left=IOKey("x", type=ml.Tensor[float]), right="i", output=IOKey("y"))
    return m


@case({"x": [2, 3, 4]})
def swapaxes_forms():
    m = Model()
    m |= SwapAxes(axis1=0, axis2=2).connect(input="x", output=IOKey("a"))
    m |= SwapAxes(axis1=-1, axis2=-2).connect(input="x", output=IOKey("b"))
    return m


@case({"x": [4, 3], "y": [4, 3], "scale": [3], "shift": [3]})
def nested_new_models():
    # Several new models in one model, sharing inputs, with a LinearSVM's two outputs.
    m = Model()
    m |= SiLU().connect(input="x", output="s")
    m |= ElementWiseAffine().connect(input="s", weight=IOKey("scale", type=ml.Tensor[float]), bias=IOKey("shift", type=ml.Tensor[float]), output="a")
    m |= SwapAxes(axis1=0, axis2=1).connect(input="a", output="t")
    m |= Reshape().connect(input="t", shape=(4, 3), output="r")
    m |= LinearSVM().connect(input="r", output=IOKey("score"), decision_output=IOKey("label"))
    m |= ArgMax(axis=0, keepdim=True).connect(input="y", output=IOKey("best"))
    m |= Clamp().connect(input="y", min_val=-0.5, max_val=0.5, output="c")
    m |= Trapezoid().connect(y="c", x="x", output=IOKey("area"))
    return m


@case({"input": [4, 5]}, input="nonfinite")
def nan_to_num_defaults():
    return NanToNum()


@case({"x": [3, 6]}, x="nonfinite")
def nan_to_num_values():
    # Python cannot read this dict back (its NanToNum fixes nan=0.0 when built without TBD).
    m = Model()
    m |= NanToNum(nan=ml.TBD, posinf=ml.TBD, neginf=ml.TBD).connect(
        input=IOKey("x", type=ml.Tensor[float]), nan=1.5, posinf=9.0, neginf=-7.0, output=IOKey("y"))
    return m


@case({"x": [3, 4]})
def cast_to_int_and_back():
    m = Model()
    m |= Cast().connect(input=IOKey("x", type=ml.Tensor[float]), dtype=ml.int64, output=IOKey("i"))
    m |= Cast().connect(input="x", dtype=ml.float32, output="f32")
    m |= Cast().connect(input="f32", dtype=ml.float64, output=IOKey("rounded"))
    return m


@case({"x": [4, 3, 2]})
def indexer_ints():
    m = Model()
    m |= Indexer().connect(input=IOKey("x", type=ml.Tensor[float]), index=1, output=IOKey("row"))
    m |= Indexer().connect(input="x", index=-1, output=IOKey("last"))
    m |= Indexer().connect(input="x", index=(2, 0), output=IOKey("pair"))
    return m


@case({"input": [2, 4, 4, 4]})
def group_norm_alone():
    # model_to_dict drops num_groups: the dict means Python's default, 32 groups.
    return GroupNorm(num_groups=32)


@case({"x": [3, 8, 2, 2]})
def group_norm_in_model():
    m = Model()
    m |= GroupNorm(num_groups=32).connect(input="x", output="n")
    m |= Relu().connect(input="n", output=IOKey("y"))
    return m


@case({"x": [2, 2, 4, 4]})
def group_norm_eps_value():
    m = Model()
    m |= GroupNorm(num_groups=32, eps=ml.TBD).connect(input="x", eps=0.25, output=IOKey("y"))
    return m


@case({"input": [1, 3, 1, 2]})
def squeeze_alone():
    return Squeeze()


@case({"x": [2, 1, 3], "w": [3, 2]})
def squeeze_then_matmul():
    m = Model()
    m |= Squeeze().connect(input="x", output="s")
    m |= MatrixMultiply().connect(left="s", right=IOKey("w", type=ml.Tensor[float], shape=[3, 2]), output=IOKey("y"))
    return m


@case({"query": [2, 3, 4], "key": [2, 5, 4], "value": [2, 5, 3]})
def scaled_dot_product_causal_default():
    # Python's default is causal; model_to_dict drops the constructor args, so the dict means it.
    m = Model()
    t = ml.Tensor[float]
    m |= ScaledDotProduct().connect(query=IOKey("query", type=t), key=IOKey("key", type=t), value=IOKey("value", type=t),
                                    output=IOKey("output"))
    return m


@case({"q": [4, 2], "k": [6, 2], "v": [6, 3]})
def scaled_dot_product_values():
    m = Model()
    t = ml.Tensor[float]
    m |= ScaledDotProduct(is_causal=ml.TBD, scale=ml.TBD).connect(
        query=IOKey("q", type=t), key=IOKey("k", type=t), value=IOKey("v", type=t), is_causal=False, scale=0.5,
        output=IOKey("attended"))
    return m


@case({"squared_distances": [6, 6], "target_perplexity": []}, squared_distances="positive", target_perplexity="perplexity")
def tsne_p_joint_alone():
    m = Model()
    t = ml.Tensor[float]
    m |= TsnePJoint().connect(squared_distances=IOKey("squared_distances", type=t),
                              target_perplexity=IOKey("target_perplexity", type=t), output=IOKey("output"))
    return m


@case({"x": [5, 3], "norm": [], "perplexity": []}, norm="positive", perplexity="perplexity")
def tsne_p_joint_of_distances():
    # The distances of the rows of x (to the power norm), then their joint probabilities.
    m = Model()
    t = ml.Tensor[float]
    m |= DistanceMatrix().connect(left=IOKey("x", type=t), right="x", norm=IOKey("norm", type=t), output="d")
    m |= TsnePJoint().connect(squared_distances="d", target_perplexity=IOKey("perplexity", type=t), output=IOKey("p"))
    return m


@case({"distances": [5, 5], "pred_distances": [5, 5], "p_joint": [5, 5]}, distances="positive",
      pred_distances="positive", p_joint="prob")
def tsne_core_alone():
    return TSNECore()


@case({"distances": [4, 4], "pred_distances": [4, 4], "p_joint": [4, 4]}, distances="positive",
      pred_distances="positive", p_joint="prob")
def tsne_core_not_exact():
    return TSNECore(exact_distances=False, perplexity=5.0)


@case({"input": [5, 3], "coords": [5, 2], "norm": [], "p_joint": [5, 5]}, norm="positive", p_joint="prob")
def tsne_points():
    # With input_type "distances" Python leaves TSNECore's p_joint unnamed, so it cannot run.
    return TSNE(prediction_dim=2, input_type="points")


@case({"input": [4, 4], "coords": [4, 2], "norm": []}, input="positive", norm="positive")
def mds_distances():
    return MDS(prediction_dim=2)


@case({"input": [4, 3], "coords": [4, 2], "norm": []}, norm="positive")
def mds_points():
    return MDS(prediction_dim=2, input_type="points")


# ---------------------------------------------------------------- the GPR family (issue 11 item 8)
# Each with a positive definite matrix and with one that is not (Python's cholesky gives None and
# the fallbacks run: numpy.linalg.solve, eigvalsh clipped, lstsq).

def with_cholesky(*models):
    """Cholesky of "K_term" to L, then each (model, connections, output name)."""
    m = Model()
    t = ml.Tensor[float]
    m |= Cholesky().connect(input=IOKey("K_term", type=t), output="L")
    for model, conns, out in models:
        m |= model.connect(**conns, output=IOKey(out))
    return m


@case({"input": [4, 4]}, input="spd")
def cholesky_alone():
    return Cholesky()


def gpr_alpha_model():
    return with_cholesky((GPRAlpha(), {"label_mu_diff": IOKey("d", type=ml.Tensor[float]), "L": "L", "K_term": "K_term"}, "alpha"))


def eigvalsh_model():
    return with_cholesky((Eigvalsh(), {"K_term": "K_term", "L": "L"}, "eig"))


def gpr_v_outer_model():
    return with_cholesky((GPRVOuter(), {"K": IOKey("K", type=ml.Tensor[float]), "K_term": "K_term", "L": "L"}, "v_outer"))


@case({"K_term": [5, 5], "d": [5, 1]}, K_term="spd")
def gpr_alpha_positive_definite():
    return gpr_alpha_model()


@case({"K_term": [5, 5], "d": [5, 1]}, K_term="indefinite")
def gpr_alpha_not_positive_definite():
    return gpr_alpha_model()


@case({"K_term": [4, 4]}, K_term="spd")
def eigvalsh_positive_definite():
    return eigvalsh_model()


@case({"K_term": [6, 6]}, K_term="indefinite")
def eigvalsh_not_positive_definite():
    # clip(eigvalsh(K_term), Constant.EPSILON): the negative eigenvalues become eps.
    return eigvalsh_model()


@case({"K_term": [4, 4], "K": [4, 4]}, K_term="spd")
def gpr_v_outer_positive_definite():
    return gpr_v_outer_model()


@case({"K_term": [5, 5], "K": [5, 5]}, K_term="indefinite")
def gpr_v_outer_not_positive_definite():
    return gpr_v_outer_model()


@case({"labels": [5, 1], "mu": [5, 1], "L": [5, 5], "K_term": [5, 5], "alpha": [5, 1]}, L="lower", K_term="spd")
def gpr_loss_alone():
    return GPRLoss()


def gpr_loss_model(robust):
    t = ml.Tensor[float]
    return with_cholesky(
        (Subtract(), {"left": IOKey("labels", type=t), "right": IOKey("mu", type=t)}, "d"),
        (GPRAlpha(), {"label_mu_diff": "d", "L": "L", "K_term": "K_term"}, "alpha"),
        (GPRLoss(robust=robust), {"labels": "labels", "mu": "mu", "L": "L", "K_term": "K_term", "alpha": "alpha"}, "loss"))


@case({"labels": [5, 1], "mu": [5, 1], "K_term": [5, 5]}, K_term="spd")
def gpr_loss_positive_definite():
    return gpr_loss_model(False)


@case({"labels": [6, 1], "mu": [6, 1], "K_term": [6, 6]}, K_term="spd")
def gpr_loss_robust_positive_definite():
    return gpr_loss_model(True)


@case({"labels": [5, 1], "mu": [5, 1], "K_term": [5, 5]}, K_term="indefinite")
def gpr_loss_robust_not_positive_definite():
    return gpr_loss_model(True)


# This snapshot's GaussProcessRegressionCore has one output, its prediction: loss and confidence are
# named inside it but not exposed ("Key 'loss' is not a valid key for the model!"), and its compile
# drops what only they use (k_star among them).
@case({"label": [5, 1], "s": [1], "k": [5, 5], "mu": [5, 1]}, s="positive", k="spd")
def gpr_core_alone():
    return GaussProcessRegressionCore()


@case({"label": [5, 1], "s": [1], "k": [5, 5], "mu": [5, 1]}, s="positive", k="indefinite")
def gpr_core_not_positive_definite():
    return GaussProcessRegressionCore()


@case({"x": [5, 3], "label": [5, 1], "s": [1]}, s="positive")
def gpr_core_in_model():
    # A linear kernel of the points (x @ x.T) as k, a Linear of them as the prior mean, then the GPR
    # core; its prediction goes on through a Relu. (With an RBFKernel's k, Python's compile of our
    # flattened export fails to set l_scale's shape [1]: "Shape representation's dimension
    # mismatched", a limit of its shape inference through Size.)
    m = Model()
    t = ml.Tensor[float]
    m |= Transpose().connect(input=IOKey("x", type=t), output="xt")
    m |= MatrixMultiply().connect(left="x", right="xt", output="kernel")
    m |= Linear(dimension=1).connect(input="x", output="prior")
    # Its own connect() passes loss and confidence along, which it does not have: the base one.
    m |= Model.connect(GaussProcessRegressionCore(), label=IOKey("label", type=t), s=IOKey("s", type=t), k="kernel",
                       mu="prior", prediction="p")
    m |= Relu().connect(input="p", output=IOKey("y"))
    return m


@case({"x": [3, 2]})
def size_sizes_eye():
    # model_to_dict drops Size's dim: the dict means None, input.size (an eye of 6).
    m = Model()
    m |= Size(dim=0).connect(input=IOKey("x", type=ml.Tensor[float]), output="n")
    m |= Eye().connect(N="n", output=IOKey("y"))
    return m


@case({"x": [4, 3], "scale": [1]})
def size_dim_value_sizes_eye():
    # A dim given in the connection stays in the dict: eye(x.shape[1]), scaled.
    m = Model()
    m |= Size(dim=ml.TBD).connect(input=IOKey("x", type=ml.Tensor[float]), dim=1, output="n")
    m |= Eye().connect(N="n", output="eye")
    m |= Multiply().connect(left="eye", right=IOKey("scale", type=ml.Tensor[float]), output=IOKey("y"))
    return m


# ---------------------------------------------------------------- Python values between tensors, numpy's promotion

@case({"x": [3, 2], "y": [2, 2]})
def item_scales_a_tensor():
    m = Model()
    m |= Sum().connect(input=IOKey("x", type=ml.Tensor[float]), output="s")
    m |= Item().connect(input="s", output="v")
    m |= Multiply().connect(left=IOKey("y", type=ml.Tensor[float]), right="v", output=IOKey("out"))
    return m


@case({"x": [4, 3]})
def to_tensor_of_a_size():
    # numpy: float64 + an int64 array of len(x) is float64.
    m = Model()
    m |= Size(dim=0).connect(input=IOKey("x", type=ml.Tensor[float]), dim=0, output="n")
    m |= ToTensor().connect(input="n", output="t")
    m |= Add().connect(left="x", right="t", output=IOKey("y"))
    return m


@case({"x": [2, 3]})
def tensor_to_list_and_back():
    m = Model()
    m |= Relu().connect(input=IOKey("x", type=ml.Tensor[float]), output="r")
    m |= TensorToList().connect(input="r", output=IOKey("as_list"))
    m |= ToTensor().connect(input="as_list", output="back")
    m |= Add().connect(left="back", right="x", output=IOKey("y"))
    return m


@case({"x": [2, 3], "n": [2, 3], "flags": [2, 3], "d": [2, 3]}, n="int:5", flags="bool", d="int:4")
def int_and_bool_with_float():
    # numpy promotes: int64 * float64 is float64, bool + int64 is int64, int64 / int64 is float64.
    m = Model()
    m |= Multiply().connect(left=IOKey("n", type=ml.Tensor[int]), right=IOKey("x", type=ml.Tensor[float]), output=IOKey("scaled"))
    m |= Add().connect(left=IOKey("flags", type=ml.Tensor[bool]), right="n", output=IOKey("counted"))
    m |= Greater().connect(left="n", right="x", output=IOKey("above"))
    m |= Divide().connect(numerator="n", denominator=IOKey("d", type=ml.Tensor[int]), output=IOKey("ratio"))
    return m


# Split gives a list of equal sections (the remainder dropped); model_to_dict drops its
# split_size and axis, so these dicts are written by hand.

@case({"input": [2, 7]})
def split_alone():
    return {"name": "Split", "args": {"split_size": 3, "axis": -1}}


@case({"x": [4, 3]})
def split_into_concat():
    return {"name": "Model", "submodels": {"m_0": {"name": "Split", "args": {"split_size": 2, "axis": 0}},
                                           "m_1": {"name": "Concat", "args": {"axis": 1}}},
            "connections": {"m_0": {"input": "x", "output": {"key": {"name": "halves"}}},
                            "m_1": {"input": {"key": {"connect": [["m_0", "output"]]}}, "output": {"key": {"name": "y"}}}},
            "exposed_keys": ["halves", "y"]}


# ---------------------------------------------------------------- the primitives the conv and pool models wrap
# (our export writes them; Python's dicts of models built from them hold them). Their stride,
# padding and dilation go in the connections: model_to_dict drops constructor values.

@case({"input": [2, 3, 7, 6], "weight": [4, 3, 3, 2], "bias": [1, 4, 1, 1]})
def primitive_convolution_2d():
    m = Model()
    m |= PrimitiveConvolution2D(stride=ml.TBD, padding=ml.TBD, dilation=ml.TBD, groups=ml.TBD).connect(
        input="input", weight="weight", bias="bias", stride=(2, 2), padding=((1, 0), (0, 1)), dilation=(1, 1), groups=1,
        output=IOKey("y"))
    return m


@case({"input": [2, 3, 9], "weight": [2, 3, 4]})
def primitive_convolution_1d_no_bias():
    m = Model()
    m |= PrimitiveConvolution1D(use_bias=False, stride=ml.TBD, padding=ml.TBD, dilation=ml.TBD).connect(
        input="input", weight="weight", stride=2, padding=(2, 1), dilation=1, output=IOKey("y"))
    return m


@case({"x": [2, 3, 8], "img": [1, 2, 6, 7]})
def primitive_max_pools():
    m = Model()
    m |= PrimitiveMaxPool1D(kernel_size=ml.TBD, stride=ml.TBD, padding=ml.TBD, dilation=ml.TBD).connect(
        input="x", kernel_size=3, stride=2, padding=(0, 0), dilation=1, output=IOKey("y1"))
    m |= PrimitiveMaxPool2D(kernel_size=ml.TBD, stride=ml.TBD, padding=ml.TBD, dilation=ml.TBD).connect(
        input="img", kernel_size=(2, 3), stride=(2, 2), padding=((0, 0), (0, 0)), dilation=(1, 1), output=IOKey("y2"))
    return m


# ---------------------------------------------------------------- RNN cells (issue 11 item 8)
# Each cuts its states at the input's batch size N: state[:N] feeds the step, state[N:] comes out
# as hidden_compl. The states may be longer than the batch (sequences of falling lengths).

@case({"input": [3, 1, 4], "prev_hidden": [3, 1, 5], "prev_cell": [3, 1, 5], "w_out": [2, 5]})
def lstm_cell_alone():
    return LSTMCell()


@case({"input": [2, 1, 3], "prev_hidden": [4, 1, 5], "prev_cell": [4, 1, 5], "w_out": [3, 5]})
def lstm_cell_longer_state():
    return LSTMCell()


@case({"input": [3, 1, 4], "prev_hidden": [3, 1, 5], "prev_cell": [3, 1, 5]})
def lstm_cell_body_alone():
    return LSTMCellBody()


@case({"input": [3, 1, 4], "prev_hidden": [5, 1, 6], "w_ho": [2, 6]})
def rnn_cell_alone():
    return RNNCell()


@case({"x0": [3, 1, 4], "x1": [2, 1, 4], "h0": [3, 1, 5], "c0": [3, 1, 5], "w_out": [4, 5]})
def lstm_two_steps_shared_weights():
    # Two time steps of one cell: the weights are joined by name, the second step reads the
    # first's states and has a shorter batch, so its hidden_compl holds the row it drops.
    m = Model()
    shared = {k: k for k in ("w_i", "w_f", "w_c", "w_o", "w_out", "bias_f", "bias_i", "bias_c", "bias_o", "bias_out")}
    m |= LSTMCell().connect(input="x0", prev_hidden="h0", prev_cell="c0", hidden="h1", cell="c1", output=IOKey("y0"), **shared)
    m |= LSTMCell().connect(input="x1", prev_hidden="h1", prev_cell="c1", hidden_compl=IOKey("rest"), output=IOKey("y1"),
                            **shared)
    return m


@case({"x": [2, 1, 3], "h": [2, 1, 4]})
def rnn_cells_stacked():
    # Two cells with their own (unnamed) weights: Python's compile numbers them w_ih_0, w_ih_1...
    # Their output widths are assigned shapes of unnamed keys: [owner, index] in the dict.
    m = Model()
    first, second = RNNCell(), RNNCell()
    m |= first.connect(input="x", prev_hidden="h", output="o1", hidden=IOKey("h1"))
    m |= second.connect(input="o1", prev_hidden="h1", output=IOKey("y"))
    m.set_shapes({first.w_ho: [3, 4], second.w_ho: [2, 4]})
    return m


@case({"x": [3, 1, 2], "h": [3, 1, 3], "c": [3, 1, 3]})
def lstm_cell_into_relu():
    m = Model()
    m |= LSTMCell().connect(input="x", prev_hidden="h", prev_cell="c", w_out="w_out", output="o")
    m |= Relu().connect(input="o", output=IOKey("y"))
    m.set_shapes(w_out=[2, 3])  # the output width, kept in the dict's assigned_shapes
    return m


# The RNN models repeat a cell (cell_type) over time steps. Python's model_to_dict cannot write
# them (it fails on cell_type); its dict_to_model reads them written by hand with cell_type a
# cell's name, as here. OneToMany reads its targets for their batch sizes (falling step by step).

@case({"input": [3, 1, 3], "target1": [2, 1, 3], "target2": [1, 1, 3], "initial_hidden": [3, 1, 4], "w_ho": [3, 4]})
def one_to_many_rnn():
    return {"name": "OneToMany", "args": {"cell_type": "RNNCell", "max_sequence_length": 3}}


@case({"input": [3, 1, 2], "target0": [3, 1, 2], "target1": [3, 1, 2], "target2": [2, 1, 2], "initial_hidden": [3, 1, 4],
       "initial_cell": [3, 1, 4], "w_out": [2, 4]})
def one_to_many_lstm_teacher_forcing():
    return {"name": "OneToMany", "args": {"cell_type": "LSTMCell", "max_sequence_length": 3, "teacher_forcing": True}}


@case({"input0": [3, 1, 3], "input1": [2, 1, 3], "input2": [1, 1, 3], "initial_hidden": [3, 1, 4], "w_ho": [2, 4]})
def many_to_one_rnn():
    return {"name": "ManyToOne", "args": {"cell_type": "RNNCell", "max_sequence_length": 3}}


@case({"input0": [2, 1, 3], "input1": [2, 1, 3], "initial_hidden": [2, 1, 3], "initial_cell": [2, 1, 3], "w_out": [3, 3]})
def many_to_one_lstm():
    return {"name": "ManyToOne", "args": {"cell_type": {"name": "LSTMCell"}, "max_sequence_length": 2}}


@case({"input0": [3, 1, 3], "input1": [2, 1, 3], "initial_hidden": [3, 1, 4], "indices": [3], "decoder_input": [3, 1, 2],
       "target1": [2, 1, 2], "decoder_w_ho": [2, 4]}, indices="permutation")
def encoder_decoder_rnn():
    return {"name": "EncoderDecoder",
            "args": {"cell_type": "RNNCell", "max_input_sequence_length": 2, "max_target_sequence_length": 2}}


@case({"input0": [2, 1, 3], "input1": [2, 1, 3], "initial_hidden": [2, 1, 4], "initial_cell": [2, 1, 4], "indices": [2],
       "decoder_input": [2, 1, 3], "decoder_initial_cell": [2, 1, 4], "target0": [2, 1, 3], "target1": [1, 1, 3],
       "decoder_w_out": [3, 4]}, indices="permutation")
def encoder_decoder_lstm_teacher_forcing():
    return {"name": "EncoderDecoder",
            "args": {"cell_type": "LSTMCell", "max_input_sequence_length": 2, "max_target_sequence_length": 2,
                     "teacher_forcing": True}}


@case({"x": [2, 1, 3], "h": [2, 1, 4], "t1": [2, 1, 3]})
def one_to_many_in_model():
    # Inside a Model: its keys connected by name, its outputs into a Relu.
    return {"name": "Model", "submodels": {
                "m_0": {"name": "OneToMany", "args": {"cell_type": "RNNCell", "max_sequence_length": 2}},
                "m_1": {"name": "Relu"}},
            "connections": {"m_0": {"input": "x", "initial_hidden": "h", "target1": "t1", "output1": "o1",
                                    "w_ho": {"key": {"name": "w_ho", "shape": [3, 4]}}},
                            "m_1": {"input": "o1", "output": {"key": {"name": "y", "expose": True}}}},
            "exposed_keys": ["y"]}


GPR_CASES = {name for name in CASES if name.startswith(("cholesky", "gpr_", "eigvalsh"))}

VALUE_SPECS_EXTRA = {"mlp_in_model_with_loss": {"t": ("int:2", [2])}}


def run_case(name):
    fn, shapes, specs = CASES[name]
    model = fn()
    # A dict written by hand: a model Python's dict_to_model reads but its model_to_dict cannot write.
    d = model if isinstance(model, dict) else model_to_dict(model)
    text = json.dumps(d, default=str)
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        f.write(text + "\n")
    shapes = dict(shapes)
    extra = VALUE_SPECS_EXTRA.get(name, {})
    for key, (_, shape) in extra.items():
        shapes[key] = shape
    # The truth is what Python makes of the file (model_to_dict drops some constructor args, e.g.
    # Transpose axes): compile what its own dict_to_model reads back from the JSON text. Where it
    # cannot read its own JSON (README of the oracle: tuples become lists, "Constant.X" strings in
    # args), what it reads from the dict in memory, and failing that the model as built.
    truths = [("its JSON", lambda: dict_to_model(json.loads(text))), ("its dict in memory", lambda: dict_to_model(d)),
              ("the model as built", lambda: fn())]  # afresh: a failed attempt may have changed `model`
    problems = []
    for truth, make in truths:
        try:
            params, data, out = evaluate(make(), shapes, specs, extra, name)
            break
        except Exception as e:  # noqa: BLE001 (Python's own reader failing is what we record)
            problems.append(f"{type(e).__name__}: {(str(e).splitlines() or ['(no message)'])[0]}")
    else:
        raise RuntimeError("; ".join(problems))
    if isinstance(model, dict):
        truth = "its JSON, written by hand (model_to_dict cannot write this model)"
    MANIFEST[name] = {"truth": truth} | ({"python_cannot_read_its_json": problems[0]} if problems else {}) | (
        {"python_mithril_repaired": python_mithril_repairs.SUMMARY} if name in GPR_CASES else {})
    np.savez(os.path.join(OUT, name + ".params.npz"), **params)
    np.savez(os.path.join(OUT, name + ".inputs.npz"), **data)
    # A list output (Split's) is saved as its elements KEY_0, KEY_1, ..., as list inputs are.
    expected = {}
    for k, v in out.items():
        if isinstance(v, list) and all(hasattr(x, "shape") for x in v):
            expected.update({f"{k}_{i}": np.asarray(x) for i, x in enumerate(v)})
        else:
            expected[k] = np.asarray(v)
    np.savez(os.path.join(OUT, name + ".expected.npz"), **expected)


def evaluate(model, shapes, specs, extra, name):
    """Compiles `model` in float64, draws its parameters and inputs, returns them and the outputs."""
    be = ml.NumpyBackend(dtype=ml.float64)
    lists = {k: v.shapes for k, v in shapes.items() if isinstance(v, ListOf)}
    tensor_shapes = {k: v for k, v in shapes.items() if k not in lists}
    pm = ml.compile(model, be, shapes=tensor_shapes, jit=False, inference=True)
    rng = np.random.default_rng(sum(map(ord, name)))  # stable across runs (hash() is salted)
    params = {k: draw(rng, np.shape(v), specs.get(k)) for k, v in sorted(pm.randomize_params().items())}
    data, feed = {}, {}
    for key in sorted(shapes):
        if key in params:
            continue
        spec = extra[key][0] if key in extra else specs.get(key)
        if key in lists:  # a list input: saved as its elements KEY_0, KEY_1, ... (format 1.2.0)
            items = [draw(rng, s, spec) for s in lists[key]]
            feed[key] = [be.array(v) for v in items]
            data.update({f"{key}_{i}": v for i, v in enumerate(items)})
            continue
        data[key] = draw(rng, shapes[key], spec)
        feed[key] = be.array(data[key])
    out = pm.evaluate({k: be.array(v) for k, v in params.items()}, feed)
    return params, data, out


def main():
    os.makedirs(OUT, exist_ok=True)
    only = sys.argv[2:]
    failed = 0
    for name in CASES:
        if only and name not in only:
            continue
        try:
            run_case(name)
        except Exception as e:  # a case Python itself cannot build is a bug in this script
            failed += 1
            print(f"{name}: {type(e).__name__}: {e}", file=sys.stderr)
    manifest_path = os.path.join(OUT, "MANIFEST.json")
    manifest = {}
    if only and os.path.exists(manifest_path):  # a subset keeps the other cases' entries
        with open(manifest_path) as f:
            manifest = {k: v for k, v in json.load(f).items() if k not in only}
    manifest.update(MANIFEST)
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"{(len(only) if only else len(CASES)) - failed} cases written to {OUT}, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
