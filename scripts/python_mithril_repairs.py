"""Repairs to the GPR family of the Python Mithril snapshot in ../shared/python-mithril/oracle/,
which cannot be built or run as it stands. Imported by scripts/python-mithril-cases.py and
scripts/python-mithril-export-check.py (inside the oracle root). Each leaves Python's math as it is:

 1. GPRLoss uses `self += m.connect(...)` with every canonical input given, which Model.__add__
    refuses ("Submodel must have single available canonical input"); there `+=` is `|=`.
 2. GPRLoss declares its output [1] (and GaussProcessRegressionCore its loss [1]), which the
    Squeeze inside contradicts ("Squeeze output shape can not have any dimensionality as 1"):
    that one shape is not set. Python's loss is 0-d, as numpy computes it.
 3. numpy's cholesky names its argument `input1` where the Cholesky primitive's key is `input`
    ("input keys ... are not matching!"): the same function under the key's name.
"""
from mithril.cores.python.numpy import ops as numpy_ops
from mithril.models import Model
from mithril.models.models import GaussProcessRegressionCore, GPRLoss

SUMMARY = "GPRLoss's += with its inputs given as |=, its output's declared [1] not set, numpy's cholesky(input1) as cholesky(input)"

_model_add = Model.__add__


def _add_or_extend(self, info):
    try:
        return _model_add(self, info)
    except KeyError as e:
        if "single available canonical input" not in str(e):
            raise
        return self.__or__(info)


def _shapes_without(key):
    def set_shapes(self, **shapes):
        return Model._set_shapes(self, **{k: v for k, v in shapes.items() if k != key})
    return set_shapes


def _cholesky_taking_input(numpy_cholesky):
    def cholesky(input, *, cache=None):  # noqa: A002 (the primitive's key; generated code imports it by name)
        return numpy_cholesky(input, cache=cache)
    return cholesky


Model.__add__ = Model.__iadd__ = _add_or_extend
GPRLoss._set_shapes = _shapes_without("output")
GaussProcessRegressionCore._set_shapes = _shapes_without("loss")
if numpy_ops.cholesky.__code__.co_varnames[0] == "input1":
    numpy_ops.cholesky = numpy_ops.primitive_func_dict["cholesky"] = _cholesky_taking_input(numpy_ops.cholesky)
