"""Device names as PyTorch spells them: the CPU is chainrule's one device, every constructor
takes device=, and a GPU device is refused with a clear error, never silently ignored."""
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr

CONSTRUCTORS = {
    "tensor": lambda **kw: cr.tensor([1.0, 2.0], **kw),
    "as_tensor": lambda **kw: cr.as_tensor(np.ones(2), **kw),
    "zeros": lambda **kw: cr.zeros(2, 3, **kw),
    "ones": lambda **kw: cr.ones(2, 3, **kw),
    "empty": lambda **kw: cr.empty(2, **kw),
    "full": lambda **kw: cr.full((2,), 3.0, **kw),
    "arange": lambda **kw: cr.arange(4, **kw),
    "linspace": lambda **kw: cr.linspace(0, 1, 5, **kw),
    "eye": lambda **kw: cr.eye(3, **kw),
    "rand": lambda **kw: cr.rand(2, **kw),
    "randn": lambda **kw: cr.randn(2, **kw),
    "normal": lambda **kw: cr.normal(0.0, 1.0, (2,), **kw),
    "randint": lambda **kw: cr.randint(0, 5, (3,), **kw),
    "zeros_like": lambda **kw: cr.zeros_like(cr.ones(2), **kw),
    "ones_like": lambda **kw: cr.ones_like(cr.ones(2), **kw),
    "empty_like": lambda **kw: cr.empty_like(cr.ones(2), **kw),
    "full_like": lambda **kw: cr.full_like(cr.ones(2), 7.0, **kw),
    "rand_like": lambda **kw: cr.rand_like(cr.ones(2), **kw),
    "randn_like": lambda **kw: cr.randn_like(cr.ones(2), **kw),
    "randint_like": lambda **kw: cr.randint_like(cr.ones(2), 5, **kw),
    "new_zeros": lambda **kw: cr.ones(2).new_zeros(3, **kw),
    "new_ones": lambda **kw: cr.ones(2).new_ones(3, **kw),
    "new_full": lambda **kw: cr.ones(2).new_full((3,), 2.0, **kw),
    "new_tensor": lambda **kw: cr.ones(2).new_tensor([1.0], **kw),
}


@pytest.mark.parametrize("name", sorted(CONSTRUCTORS))
@pytest.mark.parametrize("where", [None, "cpu", "cpu:0", cr.device("cpu")],
                         ids=["None", "cpu", "cpu:0", "device"])
def test_every_constructor_accepts_the_cpu(name, where):
    made = CONSTRUCTORS[name](device=where)
    assert made.device == cr.device("cpu")
    assert made.device.type == "cpu"


@pytest.mark.parametrize("name", sorted(CONSTRUCTORS))
@pytest.mark.parametrize("where", ["cuda", "cuda:0", cr.device("cuda", 1), "mps", 0],
                         ids=["cuda", "cuda:0", "device", "mps", "ordinal"])
def test_every_constructor_refuses_a_gpu_and_names_itself(name, where):
    with pytest.raises(RuntimeError, match=rf"{name}\(device=.*CPU only"):
        CONSTRUCTORS[name](device=where)
    with pytest.raises(cr.DeviceError):
        CONSTRUCTORS[name](device=where)


def test_device_objects_print_and_compare_as_pytorchs():
    torch = pytest.importorskip("torch")
    for spec in [("cpu",), ("cuda",), ("cuda:1",), ("cuda", 2), ("cpu", 0)]:
        ours, theirs = cr.device(*spec), torch.device(*spec)
        assert repr(ours) == repr(theirs)
        assert str(ours) == str(theirs)
        assert (ours.type, ours.index) == (theirs.type, theirs.index)
    assert (cr.device("cpu") == "cpu") == (torch.device("cpu") == "cpu")
    assert cr.device("cpu") != cr.device("cuda")
    assert cr.device(cr.device("cuda:1")) == cr.device("cuda", 1)
    assert len({cr.device("cpu"), cr.device("cpu")}) == 1
    assert cr.zeros(1).device == cr.device("cpu")
    assert repr(cr.zeros(1).device) == repr(torch.zeros(1).device)


@pytest.mark.parametrize("bad", ["gpu", "cuda:x", "cuda:-1", "cpu:0:1"])
def test_a_misspelt_device_is_refused(bad):
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError):
        torch.device(bad)
    with pytest.raises(RuntimeError, match="device"):
        cr.device(bad)


def test_cuda_answers_as_pytorch_without_a_gpu():
    assert cr.cuda.is_available() is False
    assert cr.cuda.device_count() == 0
    cr.cuda.manual_seed(0)
    cr.cuda.manual_seed_all(0)
    chosen = cr.device("cuda" if cr.cuda.is_available() else "cpu")
    assert cr.ones(2, device=chosen).device == chosen


def test_the_default_device_is_the_cpu():
    cr.set_default_device("cpu")
    cr.set_default_device(cr.device("cpu"))
    cr.set_default_device(None)
    assert cr.get_default_device() == cr.device("cpu")
    with pytest.raises(cr.DeviceError, match="set_default_device"):
        cr.set_default_device("cuda")


def test_tensor_to_follows_pytorchs_overloads():
    torch = pytest.importorskip("torch")
    values = [[1.5, -2.0], [0.0, 3.25]]
    ours, theirs = cr.tensor(values), torch.tensor(values)
    for args, kwargs in [(("cpu",), {}), ((cr.float64,), {}), (("cpu", cr.float64), {}),
                         ((), {"dtype": cr.int64}), ((), {"device": "cpu"}),
                         ((cr.device("cpu"), cr.float16), {})]:
        torch_args = [torch.float64 if a is cr.float64 else torch.float16 if a is cr.float16
                      else torch.device("cpu") if isinstance(a, cr.device) else a for a in args]
        torch_kwargs = {k: torch.int64 if v is cr.int64 else v for k, v in kwargs.items()}
        got, want = ours.to(*args, **kwargs), theirs.to(*torch_args, **torch_kwargs)
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        assert str(got.dtype) == str(want.dtype).replace("torch.", "")
        assert (got is ours) == (want is theirs)
    other = cr.zeros(1, dtype=cr.float64)
    assert ours.to(other).dtype == cr.float64
    assert ours.to(ours) is ours
    assert ours.to("cpu", copy=True) is not ours
    assert ours.cpu() is ours


def test_to_keeps_the_graph_and_copy_makes_new_memory():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x.to(cr.float64) * x.to("cpu")).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.detach().numpy())
    copied = x.to("cpu", copy=True)
    assert not np.shares_memory(copied.detach().numpy(), x.detach().numpy())


@pytest.mark.parametrize("call", [lambda t: t.cuda(), lambda t: t.cuda(0),
                                  lambda t: t.to("cuda"), lambda t: t.to("cuda:0", cr.float64),
                                  lambda t: t.to(cr.device("cuda")), lambda t: t.to(0)])
def test_moving_a_tensor_to_a_gpu_raises(call):
    with pytest.raises(cr.DeviceError, match="CPU only"):
        call(cr.ones(2))


def test_to_refuses_two_dtypes():
    with pytest.raises(TypeError):
        cr.ones(2).to(cr.float64, cr.float32)


def test_module_to_takes_devices_dtypes_and_tensors():
    m = cr.nn.Linear(3, 2)
    weight = m.weight
    assert m.to("cpu") is m and m.to(cr.device("cpu")) is m
    m.to(cr.device("cpu"), cr.float64)
    assert m.weight is weight and m.weight.dtype == cr.float64
    m.to(cr.zeros(1, dtype=cr.float32))
    assert m.weight.dtype == cr.float32
    m.to(dtype=cr.float64)
    assert m.bias.dtype == cr.float64
    with pytest.raises(cr.DeviceError, match="Module.to"):
        m.to("cuda")
    with pytest.raises(TypeError):
        m.to(cr.int64)


def test_randint_accepts_requires_grad_false_and_refuses_true():
    torch = pytest.importorskip("torch")
    assert not cr.randint(0, 3, (2,), requires_grad=False).requires_grad
    with pytest.raises(RuntimeError):
        torch.randint(0, 3, (2,), requires_grad=True)
    with pytest.raises(RuntimeError):
        cr.randint(0, 3, (2,), requires_grad=True)


def test_size_is_pytorchs():
    torch = pytest.importorskip("torch")
    x, t = cr.zeros(2, 3, 4), torch.zeros(2, 3, 4)
    assert repr(x.shape) == repr(t.shape).replace("torch.", "cr.")
    assert repr(x.size()) == repr(t.size()).replace("torch.", "cr.")
    assert x.shape == t.shape == (2, 3, 4)
    assert isinstance(x.shape, tuple) and isinstance(x.shape, cr.Size)
    for index in [slice(1, None), slice(None, -1), slice(0, 0)]:
        assert type(x.shape[index]) is cr.Size and x.shape[index] == t.shape[index]
    assert x.shape[0] == 2 and type(x.shape[0]) is int
    assert x.shape.numel() == t.shape.numel() == 24
    assert cr.Size([]).numel() == torch.Size([]).numel() == 1
    assert repr(cr.zeros(()).shape) == "cr.Size([])"
    assert type(x.shape + (5,)) is cr.Size and x.shape + (5,) == (2, 3, 4, 5)
    assert str(x.shape) == str(t.shape).replace("torch.", "cr.")  # print(x.shape) as PyTorch's
    assert f"shape {x.shape}" == "shape (2, 3, 4)"  # messages keep reading "shape (2, 3, 4)"
    assert cr.zeros(x.shape).shape == x.shape
    assert hash(x.shape) == hash((2, 3, 4))
    with pytest.raises(TypeError):
        cr.Size([2.5])


def test_importing_chainrule_loads_no_gpu_library():
    code = ("import sys, chainrule\nchainrule.cuda.is_available()\n"
            "print([m for m in ('torch', 'cupy', 'chainrule.nn') if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.strip() == "[]", result.stderr


def test_device_as_a_context_and_the_tensor_device_queries():
    torch = pytest.importorskip("torch")
    with cr.device("cpu"):
        assert cr.zeros(1).device == cr.device("cpu")
    with pytest.raises(cr.DeviceError):
        with cr.device("cuda"):
            pass
    ours, theirs = cr.zeros(1), torch.zeros(1)
    assert ours.get_device() == theirs.get_device() == -1
    assert ours.is_cpu == theirs.is_cpu and ours.is_cuda == theirs.is_cuda


def test_module_cpu_and_cuda():
    torch = pytest.importorskip("torch")
    ours, theirs = cr.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    assert ours.cpu() is ours and theirs.cpu() is theirs
    with pytest.raises(cr.DeviceError, match="Module.cuda"):
        ours.cuda()
