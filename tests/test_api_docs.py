"""The public API documents itself: every public function, class and method has a real signature
and a docstring; functions and classes (and Tensor's methods) carry a runnable example, and every
example's printed output is checked here by doctest."""
import doctest
import inspect

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.nn import functional as F

_DTYPE = type(cr.float32)


def _public(module, names):
    for name in names:
        value = getattr(module, name)
        if inspect.ismodule(value) or isinstance(value, _DTYPE) or not callable(value):
            continue
        yield f"{module.__name__}.{name}", value


def _methods(cls):
    for name, value in vars(cls).items():
        # A module's forward is what its class docstring describes.
        if name.startswith("_") or not callable(getattr(cls, name, None)) or name == "forward":
            continue
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        yield f"{cls.__module__}.{cls.__name__}.{name}", getattr(cls, name)


FUNCTIONS = dict(_public(cr, cr.__all__)) | dict(_public(F, F.__all__))
CLASSES = {name: value for name, value in
           list(_public(nn, nn.__all__)) + list(_public(optim, optim.__all__))
           if inspect.isclass(value)}
TENSOR_METHODS = dict(_methods(cr.Tensor))
OTHER_METHODS = {name: method for cls in CLASSES.values() if not issubclass(cls, Exception)
                 for name, method in _methods(cls)}
EVERYTHING = FUNCTIONS | CLASSES | TENSOR_METHODS | OTHER_METHODS
WITH_EXAMPLES = FUNCTIONS | CLASSES | TENSOR_METHODS


def _signature(obj):
    try:
        return inspect.signature(obj)
    except (TypeError, ValueError):
        return None


@pytest.mark.parametrize("name", sorted(EVERYTHING))
def test_has_a_docstring_and_a_real_signature(name):
    obj = EVERYTHING[name]
    assert (inspect.getdoc(obj) or "").strip(), f"{name} has no docstring"
    if inspect.isclass(obj):
        return
    signature = _signature(obj)
    assert signature is not None, f"{name} has no signature"
    kinds = [p.kind for p in signature.parameters.values()]
    assert kinds != [inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD], \
        f"{name}{signature} hides its parameters"


@pytest.mark.parametrize("name", sorted(WITH_EXAMPLES))
def test_has_an_example(name):
    assert ">>>" in (inspect.getdoc(WITH_EXAMPLES[name]) or ""), f"{name} has no example"


def _examples():
    seen = set()
    for name, obj in sorted(EVERYTHING.items()):
        doc = inspect.getdoc(obj) or ""
        if ">>>" not in doc or doc in seen:
            continue
        seen.add(doc)
        parser = doctest.DocTestParser()
        yield pytest.param(parser.get_doctest(doc, {}, name, None, 0), id=name)


@pytest.mark.parametrize("test", list(_examples()))
def test_examples_print_what_they_show(test):
    cr.manual_seed(0)
    test.globs = {"cr": cr, "np": np, "nn": nn, "F": F, "optim": optim}
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    output = []
    runner.run(test, out=output.append)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, "".join(output)


def test_the_api_reference_is_up_to_date():
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).parents[1] / "docs" / "make_api.py"
    spec = importlib.util.spec_from_file_location("make_api", path)
    make_api = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_api)
    assert make_api.OUT.read_text() == make_api.render(), \
        "docs/api.md is out of date: run python docs/make_api.py"
