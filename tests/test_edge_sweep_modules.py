"""nn.ParameterList and nn.ParameterDict off the happy path, against PyTorch: the order of a
plain dict's entries (sorted, as PyTorch's), Parameters set as attributes (seen by
``parameters()`` and optimizers, in one order of insertion with the entries), integer tensors
(refused), the dict methods PyTorch has (popitem, fromkeys, |, |=, reversed), ``getattr(list,
"0")``, deep copies and pickles, ``half()``, and state dicts that load by name."""
import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
LIBRARIES = [cr, torch]


def _names(module):
    return [name for name, _ in module.named_parameters()]


def _both(fn):
    ours, theirs = fn(cr), fn(torch)
    assert ours == theirs
    return ours


def test_a_plain_dicts_entries_go_in_sorted_as_pytorchs():
    def keys(M):
        made = M.nn.ParameterDict({"b": M.ones(1), "a": M.ones(2)})
        made.update({"d": M.ones(1), "c": M.ones(1)})
        ordered = M.nn.ParameterDict(OrderedDict([("z", M.ones(1)), ("y", M.ones(1))]))
        pairs = M.nn.ParameterDict([("q", M.ones(1)), ("p", M.ones(1))])
        return (list(made.keys()), _names(made), list(made.state_dict()),
                list(ordered.keys()), list(pairs.keys()), list(made.copy().keys()))
    assert _both(keys)[0] == ["a", "b", "c", "d"]


def test_optimizer_order_follows_the_sorted_keys():
    # The optimizer's state is by position, so the order of parameters() must be PyTorch's.
    def shapes(M):
        model = M.nn.Module()
        model.scales = M.nn.ParameterDict({"w2": M.ones(3), "w1": M.ones(2)})
        optimizer = M.optim.Adam(model.parameters(), lr=0.1)
        return [tuple(p.shape) for p in optimizer.param_groups[0]["params"]]
    assert _both(shapes) == [(2,), (3,)]


def test_parameters_set_as_attributes_are_the_models_in_insertion_order():
    def parameters(M):
        plist = M.nn.ParameterList([M.ones(1)])
        plist.extra = M.nn.Parameter(M.ones(2))
        plist.append(M.ones(3))
        plist[0] = M.ones(4)
        plist.sub = M.nn.Linear(1, 2)
        pdict = M.nn.ParameterDict({"a": M.ones(1)})
        pdict.extra = M.nn.Parameter(M.ones(2))
        pdict["b"] = M.ones(3)
        pdict["a"] = M.ones(5)  # replacing keeps the place
        pdict.plain = M.ones(6)  # a tensor attribute is not a parameter
        return (_names(plist), list(plist.state_dict()), len(plist),
                [tuple(p.shape) for p in plist.parameters()], _names(pdict),
                list(pdict.keys()), "extra" in pdict, list(pdict.state_dict()))
    got = _both(parameters)
    assert got[0] == ["0", "extra", "1", "sub.weight", "sub.bias"]
    assert got[4] == ["a", "extra", "b"]


def test_an_optimizer_updates_a_parameter_set_as_an_attribute():
    for M in LIBRARIES:
        model = M.nn.Module()
        model.weights = M.nn.ParameterList([M.ones(1)])
        model.weights.extra = M.nn.Parameter(M.ones(3))
        optimizer = M.optim.SGD(model.parameters(), lr=1.0)
        model.weights.extra.sum().backward()
        optimizer.step()
        assert model.weights.extra.tolist() == [0.0, 0.0, 0.0]


def test_deleting_entries_and_attributes():
    def after(M):
        pdict = M.nn.ParameterDict({"a": M.ones(1), "b": M.ones(2)})
        pdict.extra = M.nn.Parameter(M.ones(2))
        del pdict.extra
        del pdict["a"]
        pdict["a"] = M.ones(3)
        first = _names(pdict)
        last = pdict.popitem()[0]
        popped = pdict.pop("b")
        pdict.setdefault("q", M.ones(1))
        kept = _names(pdict)
        pdict.clear()
        return first, last, tuple(popped.shape), kept, _names(pdict), len(pdict)
    assert _both(after)[:2] == (["b", "a"], "a")


def test_the_dict_methods_pytorch_has():
    def results(M):
        pdict = M.nn.ParameterDict({"b": M.ones(1), "a": M.ones(2)})
        merged = pdict | {"c": M.ones(1), "0": M.ones(1)}
        before = {"z": M.ones(1)} | pdict
        pdict |= {"d": M.ones(1), "c": M.ones(1)}
        fresh = M.nn.ParameterDict().fromkeys(["y", "x"])
        return (type(merged).__name__, list(merged.keys()), type(before).__name__,
                list(before.keys()), list(pdict.keys()), list(fresh.keys()), fresh["x"],
                list(reversed(pdict)))
    assert _both(results)[1] == ["a", "b", "0", "c"]


def test_parameter_list_entries_read_and_write_as_attributes():
    for M in LIBRARIES:
        plist = M.nn.ParameterList([M.ones(3), M.ones(1)])
        assert getattr(plist, "0") is plist[0]
        with pytest.raises(AttributeError):
            getattr(plist, "2")
        setattr(plist, "1", M.nn.Parameter(M.zeros(2)))  # the entry, not a second "1"
        assert [(n, tuple(p.shape)) for n, p in plist.named_parameters()] == [("0", (3,)),
                                                                              ("1", (2,))]
        assert list(plist.state_dict()) == ["0", "1"] and len(plist) == 2


def test_integer_tensors_are_refused_as_pytorch():
    for values in ([1, 2], [True]):
        with pytest.raises(RuntimeError, match="floating point"):
            torch.nn.ParameterList([torch.tensor(values)])
        with pytest.raises(cr.DtypeError, match=r"ParameterList: a tensor of dtype .* floating"):
            cr.nn.ParameterList([cr.tensor(values)])
        with pytest.raises(cr.DtypeError, match=r"ParameterDict\['w'\]"):
            cr.nn.ParameterDict({"w": cr.tensor(values)})
    # A float tensor still becomes a Parameter sharing its memory.
    source = cr.zeros(2)
    cr.nn.ParameterList([source])[0].data.add_(1)
    assert source.tolist() == [1.0, 1.0]


def test_copies_keep_the_order_and_the_attributes():
    def copied(M):
        pdict = M.nn.ParameterDict({"a": M.ones(1)})
        pdict.extra = M.nn.Parameter(M.ones(2))
        pdict["b"] = M.ones(3)
        plist = M.nn.ParameterList([M.ones(1)])
        plist.extra = M.nn.Parameter(M.ones(2))
        plist.append(M.ones(3))
        again = pickle.loads(pickle.dumps(plist))
        deep = copy.deepcopy(pdict)
        return _names(deep), list(deep.keys()), _names(again), len(again)
    _both(copied)


def test_half_and_double_convert_every_entry():
    for M in LIBRARIES:
        plist = M.nn.ParameterList([M.ones(3), M.ones(1, dtype=M.float64)])
        assert [p.dtype for p in plist.half()] == [M.float16, M.float16]
        assert [p.dtype for p in plist.double()] == [M.float64, M.float64]


def test_state_dicts_load_by_name_whatever_the_order():
    def loaded(M):
        source = M.nn.ParameterDict(OrderedDict([("b", M.full((1,), 5.0)),
                                                 ("a", M.full((2,), 7.0))]))
        target = M.nn.ParameterDict({"a": M.zeros(2), "b": M.zeros(1)})
        target.load_state_dict(source.state_dict())
        return {k: v.tolist() for k, v in target.items()}
    assert _both(loaded) == {"a": [7.0, 7.0], "b": [5.0]}
    values = np.arange(3.0)
    for M in LIBRARIES:
        plist = M.nn.ParameterList([M.zeros(3)])
        plist.extra = M.nn.Parameter(M.zeros(2))
        plist.load_state_dict({"0": M.tensor(values), "extra": M.ones(2)})
        assert plist[0].tolist() == [0.0, 1.0, 2.0] and plist.extra.tolist() == [1.0, 1.0]
