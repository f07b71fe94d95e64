"""The library's random number generators, as PyTorch's: ``cr.Generator``, ``cr.manual_seed``,
``cr.randperm`` and ``cr.multinomial``.

Layers, ``nn.init``, Dropout and the random constructors draw from one default Generator,
``cr.default_generator``, unless they are handed their own ``generator=``. ``manual_seed(seed)``
reseeds it, so the same seed followed by the same program gives the same weights, the same
dropout masks and the same run.

    import chainrule as cr
    cr.manual_seed(0)
    model = cr.nn.Linear(784, 10)   # the same weights every time

A Generator draws from NumPy's PCG64, not PyTorch's Mersenne Twister, so a seed gives other
numbers than it gives in PyTorch: the same distributions, not the same bits.
"""
import numbers
import operator
import os

from .backend import xp
from .engine import mode
from .errors import ArgumentError, DtypeError, GradientError
from .public import public
from .tensor import Tensor

# torch.Generator() starts from this seed until manual_seed is called.
DEFAULT_SEED = 67280421310721
_SEED_RANGE = (-2**63, 2**64 - 1)
# A PCG64 state: its 128-bit state and increment, whether a 32-bit half is buffered, and it.
_STATE_BYTES = 16 + 16 + 1 + 4


class Generator:
    """A source of random numbers, as ``torch.Generator``: ``manual_seed``, ``seed``,
    ``initial_seed``, ``get_state``/``set_state``; pass it as ``generator=`` to ``rand``,
    ``randn``, ``randint``, ``normal``, ``randperm``, ``multinomial``, ``nn.init``, Dropout,
    ``random_split`` and ``DataLoader``. Unseeded, it starts from PyTorch's default seed, so
    two fresh generators give the same numbers. NumPy's Generator methods (``g.normal(...)``)
    draw from the same stream.

    >>> g = cr.Generator().manual_seed(42)
    >>> a = cr.rand(3, generator=g)
    >>> b = cr.rand(3, generator=cr.Generator().manual_seed(42))
    >>> bool((a == b).all()), g.initial_seed()
    (True, 42)
    """

    def __init__(self, device="cpu"):
        from .device import check_device
        self.device = check_device(device, "Generator")
        self.manual_seed(DEFAULT_SEED)

    def manual_seed(self, seed):
        """Reseed and return this generator; negative seeds wrap modulo 2**64 as in PyTorch.

        >>> cr.Generator().manual_seed(-1).initial_seed()
        18446744073709551615
        """
        self._seed = _check_seed(seed, "Generator.manual_seed") % 2**64
        self._stream = None
        return self

    @property
    def _numpy(self):
        # NumPy's Generator, made on the first draw after seeding: numpy.random costs about
        # as much to import as the rest of chainrule, and `import chainrule` draws nothing.
        if self._stream is None:
            self._stream = xp.random.default_rng(self._seed)
        return self._stream

    def seed(self):
        """Reseed from the operating system's entropy and return the new seed.

        >>> g = cr.Generator()
        >>> g.seed() == g.initial_seed()
        True
        """
        self.manual_seed(int.from_bytes(os.urandom(8), "little"))
        return self._seed

    def initial_seed(self):
        """The seed this generator was last seeded with.

        >>> cr.Generator().initial_seed()
        67280421310721
        """
        return self._seed

    def get_state(self):
        """The generator's state as a uint8 tensor (for ``set_state``, or ``cr.save``).

        >>> g = cr.Generator().manual_seed(0)
        >>> state = g.get_state()
        >>> first = cr.rand(2, generator=g)
        >>> bool((cr.rand(2, generator=g.set_state(state)) == first).all())
        True
        """
        state = self._numpy.bit_generator.state
        raw = (state["state"]["state"].to_bytes(16, "little")
               + state["state"]["inc"].to_bytes(16, "little")
               + bytes([state["has_uint32"]]) + state["uinteger"].to_bytes(4, "little"))
        return Tensor._make(xp.frombuffer(raw, dtype=xp.uint8).copy(), None)

    def set_state(self, new_state):
        """Restore a state from ``get_state`` and return this generator.

        >>> cr.Generator().set_state(cr.zeros(3, dtype=cr.uint8))
        Traceback (most recent call last):
            ...
        ValueError: Generator.set_state: expected a uint8 tensor of 37 bytes from get_state(), ...
        """
        if not isinstance(new_state, Tensor) or new_state.dtype != xp.uint8:
            raise TypeError(f"Generator.set_state: the state must be a uint8 tensor from "
                            f"get_state(), got {_describe(new_state)}")
        if new_state.shape != (_STATE_BYTES,):
            raise ValueError(f"Generator.set_state: expected a uint8 tensor of {_STATE_BYTES} "
                             f"bytes from get_state(), got shape {tuple(new_state.shape)}")
        raw = bytes(new_state.numpy())
        if raw[32] > 1:
            raise ValueError("Generator.set_state: this is not a state from get_state() "
                             "(byte 32 must be 0 or 1)")
        self._numpy.bit_generator.state = {
            "bit_generator": "PCG64",
            "state": {"state": int.from_bytes(raw[:16], "little"),
                      "inc": int.from_bytes(raw[16:32], "little")},
            "has_uint32": raw[32], "uinteger": int.from_bytes(raw[33:], "little")}
        return self

    def __getattr__(self, name):
        # NumPy's drawing methods (random, normal, integers, bit_generator, ...), so code that
        # was handed a NumPy Generator keeps working with this one.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._numpy, name)

    def __repr__(self):
        return f"<chainrule.Generator seeded {self._seed}>"


def _describe(value):
    dtype = getattr(value, "dtype", None)
    return f"{type(value).__name__}" + (f" of dtype {dtype}" if dtype is not None else "")


def _check_seed(seed, where):
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{where}: seed must be an int, got {type(seed).__name__} {seed!r}")
    seed = operator.index(seed)
    if not _SEED_RANGE[0] <= seed <= _SEED_RANGE[1]:
        raise ValueError(f"{where}: seed {seed} is outside [-2**63, 2**64 - 1]")
    return seed


class _DefaultGenerator(Generator):
    """The library's default Generator, ``cr.default_generator`` (``torch.default_generator``):
    layers, init, Dropout and the random constructors draw from it when given no generator,
    and ``manual_seed`` reseeds it. Until then it is seeded from fresh OS entropy. Calling it,
    ``cr.default_generator()``, returns it too (the spelling of earlier chainrule versions).

    >>> cr.manual_seed(3) is cr.default_generator, cr.default_generator.initial_seed()
    (True, 3)
    """

    def __call__(self):
        return self


def manual_seed(seed):
    """Reseed the library's default generator and return it (``cr.default_generator``).

    >>> _ = cr.manual_seed(0)
    >>> a = cr.rand(2)
    >>> _ = cr.manual_seed(0)
    >>> bool((cr.rand(2) == a).all())
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__} {seed!r}")
    if operator.index(seed) < 0:
        raise ValueError(f"manual_seed: seed must be >= 0, got {seed}")
    return default_generator.manual_seed(seed)


default_generator = _DefaultGenerator()
default_generator.seed()


def seed():
    """Reseed the default generator from the operating system's entropy; return the seed.

    >>> s = cr.seed()
    >>> cr.initial_seed() == s
    True
    """
    return default_generator.seed()


def initial_seed():
    """The seed the default generator was last seeded with.

    >>> _ = cr.manual_seed(7)
    >>> cr.initial_seed()
    7
    """
    return default_generator.initial_seed()


def get_rng_state():
    """The default generator's state, as a uint8 tensor (for ``set_rng_state`` or a checkpoint).

    >>> state = cr.get_rng_state()
    >>> a = cr.rand(2)
    >>> cr.set_rng_state(state)
    >>> bool((cr.rand(2) == a).all())
    True
    """
    return default_generator.get_state()


def set_rng_state(new_state):
    """Restore the default generator's state from ``get_rng_state``.

    >>> cr.set_rng_state(cr.get_rng_state())
    """
    default_generator.set_state(new_state)


def resolve(generator=None):
    """The NumPy Generator behind ``generator`` (a chainrule Generator or a NumPy Generator),
    or behind the library's default generator if it is None."""
    if generator is None:
        return default_generator._numpy
    if isinstance(generator, Generator):
        return generator._numpy
    if not isinstance(generator, xp.random.Generator):
        raise TypeError(f"generator must be a chainrule.Generator (for example "
                        f"cr.Generator().manual_seed(0)) or a numpy.random.Generator, got "
                        f"{type(generator).__name__}")
    return generator


def rrelu_slopes(generator, x, lower, upper):
    """rrelu's multiplier in training for the array ``x``: a slope drawn from U(lower, upper)
    where x <= 0, 1 elsewhere (NaN keeps 1), drawn in double for every element, as PyTorch,
    then rounded to x's dtype. Drawn here, like every dropout's mask, so that cr.compile
    replays it as a fresh draw at each call.

    >>> from chainrule.random import rrelu_slopes
    >>> rrelu_slopes(cr.Generator().manual_seed(0), np.array([-1.0, 2.0]), 0.1, 0.3)
    array([0.22739234, 1.        ])
    """
    slopes = resolve(generator).uniform(lower, upper, size=x.shape)
    return xp.where(x <= 0, slopes, 1.0).astype(x.dtype)


def dropout_mask(generator, shape, p, dtype):
    """Inverted dropout's multiplier, an array of ``shape`` and ``dtype``: 1 / (1 - p) where a
    uniform draw from ``generator`` is at least ``p``, else 0. Every dropout draws its mask
    here, so that cr.compile replays it as a fresh draw at each call, from the same generator
    and in the same order as eager code would.

    >>> from chainrule.random import dropout_mask
    >>> dropout_mask(cr.Generator().manual_seed(0), (2, 3), 0.5, np.dtype("float32"))
    array([[2., 0., 0.],
           [0., 2., 2.]], dtype=float32)
    """
    dtype = xp.dtype(dtype)
    keep = resolve(generator).random(shape) >= p
    return keep.astype(dtype) / dtype.type(1 - p)


# Tensor's in-place random fills live here with the generators, and are set on Tensor below, so
# that tensor.py does not import this module (which makes Tensors for get_state and randperm).
def uniform_(self, a=0.0, b=1.0, *, generator=None):
    """Fill with uniform values in [a, b), in place, from the library's generator.

    >>> x = cr.empty(1000).uniform_(-1, 1)
    >>> bool((x >= -1).all() and (x < 1).all())
    True
    """
    if a > b:
        raise ArgumentError(f"uniform_: expects a [from, to) range, got from={a} > to={b}")
    return _fill(self, resolve(generator).uniform(a, b, self._data.shape), "uniform_")


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    """Fill with normal values, in place, from the library's generator.

    >>> cr.empty(2, 3).normal_(0.0, 0.01).shape
    cr.Size([2, 3])
    """
    if std < 0:
        raise ArgumentError(f"normal_: std must be >= 0, got {std}")
    return _fill(self, resolve(generator).normal(mean, std, self._data.shape), "normal_")


def _fill(tensor, values, name="fill"):
    if tensor.is_leaf and tensor.requires_grad and mode.enabled:
        raise GradientError("a leaf tensor that requires grad cannot be refilled in place "
                            "outside `with cr.no_grad():` (as in PyTorch)")
    draw = xp.asarray(values).astype(tensor.dtype, copy=False)
    # Recorded as an op in a graph: the old values get a zero gradient, as PyTorch's fills.
    return tensor._inplace(lambda t, _: _where(True, draw, t), None, name)


def exponential_(self, lambd=1.0, *, generator=None):
    """Fill with draws from the exponential distribution of rate ``lambd`` (> 0), in place.

    >>> x = cr.empty(2, 3, dtype=cr.float64).exponential_(2.0)
    >>> x.shape, x.dtype, bool((x >= 0).all())
    (cr.Size([2, 3]), dtype('float64'), True)
    """
    _continuous(self, "exponential_", "Exponential")
    if not lambd > 0:
        raise ArgumentError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    return _fill(self, resolve(generator).exponential(1 / float(lambd), self._data.shape),
                 "exponential_")


def geometric_(self, p, *, generator=None):
    """Fill with draws from the geometric distribution: the number of Bernoulli(``p``)
    trials up to and including the first success (1, 2, ...), ``0 < p < 1``; in place.

    >>> x = cr.empty(1000, dtype=cr.int32).geometric_(0.5, generator=cr.Generator().manual_seed(0))
    >>> x.dtype, int(x.min()) >= 1
    (dtype('int32'), True)
    """
    if self.dtype == xp.bool_:
        raise DtypeError('"geometric_" is not implemented for bool tensors (as in PyTorch)')
    if not 0 < p < 1:
        raise ArgumentError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    return _fill(self, resolve(generator).geometric(float(p), self._data.shape), "geometric_")


def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    """Fill with draws from the Cauchy distribution of location ``median`` and scale
    ``sigma`` (> 0), in place.

    >>> cr.empty(4).cauchy_(0.0, 2.0).dtype
    dtype('float32')
    """
    _continuous(self, "cauchy_", "Cauchy")
    if not sigma > 0:
        raise ArgumentError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    draw = median + sigma * resolve(generator).standard_cauchy(self._data.shape)
    return _fill(self, draw, "cauchy_")


def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    """Fill with exp(N(``mean``, ``std``^2)) draws, ``std`` > 0, in place (``mean`` and
    ``std`` are those of the logarithm, as PyTorch's).

    >>> x = cr.empty(3).log_normal_(0.0, 0.5)
    >>> x.shape, bool((x > 0).all())
    (cr.Size([3]), True)
    """
    _continuous(self, "log_normal_", "Log-normal")
    if not std > 0:
        raise ArgumentError(f"log_normal_ expects std > 0.0, but found std={std}")
    return _fill(self, resolve(generator).lognormal(mean, std, self._data.shape), "log_normal_")


def random_(self, *args, generator=None, **kwargs):
    """``random_(from, to=None)``, ``random_(to)``, ``random_()``: fill with integers drawn
    uniformly from [``from``, ``to`` - 1], in place, as PyTorch. ``random_(to)`` is [0, to - 1];
    ``random_()`` is [0, the dtype's largest integer] for integer dtypes and [0, 2^mantissa]
    for floating ones (2^24 for float32, 2^53 for float64), every value exact;
    ``random_(from, None)`` runs from ``from`` to that same top.

    >>> x = cr.empty(1000, dtype=cr.int64).random_(-3, 3)
    >>> x.dtype, int(x.min()) >= -3, int(x.max()) <= 2
    (dtype('int64'), True, True)
    """
    if "from" in kwargs:  # `from` is a Python keyword: random_(**{"from": 1, "to": None})
        if "to" not in kwargs:
            raise TypeError("random_(): 'from' given by keyword needs 'to' too (as PyTorch)")
        args = (kwargs.pop("from"),) + args
    if "to" in kwargs:
        args = (args[0] if args else 0, kwargs.pop("to"))
    if kwargs or len(args) > 2:
        raise TypeError(f"random_() takes (from, to=None), (to) or (), got {len(args)} "
                        f"positional arguments and {sorted(kwargs)}")
    top = _top(self.dtype)
    if len(args) == 1:
        args = (0, args[0])
    low = _int_arg(args[0], "from", "random_") if args else 0
    high = top if len(args) < 2 or args[1] is None else _int_arg(args[1], "to", "random_") - 1
    if low > high:
        raise ArgumentError(f"random_ expects 'from' to be less than 'to', but got "
                            f"from={low} >= to={high + 1}")
    if self.dtype.kind in "iub":
        bottom = 0 if self.dtype.kind in "ub" else int(xp.iinfo(self.dtype).min)
        if low < bottom or low > top:
            raise ArgumentError(f"random_: from={low} is out of bounds for {self.dtype}")
        if high > top:
            raise ArgumentError(f"random_: to - 1 = {high} is out of bounds for {self.dtype}")
    draw = resolve(generator).integers(low, high, self._data.shape, dtype=xp.int64,
                                       endpoint=True)
    return _fill(self, draw, "random_")


def _top(dtype):
    """The top of ``random_()``'s default range: the largest integer the dtype holds exactly."""
    if dtype.kind == "f":
        return 2 ** (xp.finfo(dtype).nmant + 1)
    if dtype.kind == "b":
        return 1
    return int(xp.iinfo(dtype).max)


def _continuous(tensor, name, distribution):
    if tensor.dtype.kind != "f":
        raise DtypeError(f"{name}: the {distribution} distribution is continuous, so the tensor "
                         f"must be floating point, got {tensor.dtype} (as in PyTorch)")


def _where(condition, a, b):
    from .ops import where
    return where(condition, a, b)


_FILLS = (uniform_, normal_, exponential_, geometric_, cauchy_, log_normal_, random_)
for _f in _FILLS:
    _f.__qualname__ = f"Tensor.{_f.__name__}"
    setattr(Tensor, _f.__name__, _f)


def _int_arg(value, name, where):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{where}(): argument '{name}' must be int, not {type(value).__name__}")
    return operator.index(value)


@public
def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    """A random permutation of ``0 .. n-1`` (int64 unless ``dtype``), as ``torch.randperm``.

    >>> sorted(cr.randperm(5, generator=cr.Generator().manual_seed(0)).tolist())
    [0, 1, 2, 3, 4]
    """
    from .device import check_device
    from .dtypes import as_dtype
    n = _int_arg(n, "n", "randperm")
    check_device(device, "randperm")
    if n < 0:
        raise RuntimeError(f"randperm: n must be non-negative, got {n}")
    dtype = xp.dtype(xp.int64) if dtype is None else as_dtype(dtype)
    if dtype == xp.bool_:
        raise NotImplementedError("randperm: not implemented for dtype bool")
    if dtype.kind in "iu" and n > 0 and n - 1 > xp.iinfo(dtype).max:
        raise RuntimeError(f"randperm: n = {n} does not fit dtype {dtype} (values up to {n - 1})")
    if dtype.kind == "f" and n - 1 > 2 ** (xp.finfo(dtype).nmant + 1):
        raise RuntimeError(f"randperm: n = {n} is more than dtype {dtype} can count exactly")
    if requires_grad and dtype.kind != "f":
        raise RuntimeError(f"randperm: only floating point tensors can require gradients, "
                           f"got dtype {dtype}")
    out = Tensor._make(resolve(generator).permutation(n).astype(dtype), None)
    return out.requires_grad_() if requires_grad else out


@public(method=True)
def multinomial(input, num_samples, replacement=False, *, generator=None):
    """Draw ``num_samples`` category indices (int64) from each row of weights ``input`` (1-D
    or 2-D, non-negative, not all zero), as ``torch.multinomial``; without ``replacement`` each
    category is drawn at most once per row.

    >>> g = cr.Generator().manual_seed(0)
    >>> cr.multinomial(cr.tensor([0.0, 1.0, 0.0]), 2, generator=g)
    tensor([1, 0], dtype=int64)
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"multinomial(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    num_samples = _int_arg(num_samples, "num_samples", "multinomial")
    probs = input.detach().numpy()
    shape = tuple(input.shape)
    if probs.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape {shape}")
    if probs.dtype.kind != "f":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{probs.dtype}")
    if num_samples <= 0:
        raise RuntimeError(f"multinomial: cannot sample n_sample <= 0 samples (got "
                           f"{num_samples})")
    categories = probs.shape[-1]
    if not replacement and num_samples > categories:
        raise RuntimeError(f"multinomial: cannot sample n_sample > prob_dist.size(-1) samples "
                           f"without replacement ({num_samples} > {categories}, shape {shape})")
    if categories > 2**24:
        raise RuntimeError(f"multinomial: number of categories cannot exceed 2^24 (got "
                           f"{categories})")
    rows = probs.reshape(shape[0] if probs.ndim == 2 else 1, categories).astype(xp.float64)
    if not xp.isfinite(rows).all() or (rows < 0).any():
        raise RuntimeError(f"multinomial: probability tensor contains either `inf`, `nan` or "
                           f"element < 0 (shape {shape})")
    if (rows.sum(axis=1) <= 0).any():
        raise RuntimeError(f"multinomial: invalid multinomial distribution (sum of "
                           f"probabilities <= 0) in a row of shape {shape}")
    rng = resolve(generator)
    if replacement:
        cumulative = rows.cumsum(axis=1)
        cumulative /= cumulative[:, -1:]
        draws = rng.random((len(rows), num_samples))
        # Each row's last cumulative weight is exactly 1 and every draw below it, so a draw
        # lands in a category of positive weight, never past the end.
        picks = xp.array([xp.searchsorted(c, d, side="right") for c, d in zip(cumulative, draws)]
                         ).reshape(len(rows), num_samples)
    else:
        # Sampling without replacement one draw at a time is the same as ranking the keys
        # log(p) - log(E), E exponential (the Gumbel top-k trick); zero weights come last.
        with xp.errstate(divide="ignore"):
            keys = xp.log(rows) - xp.log(rng.standard_exponential(rows.shape))
        picks = xp.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    picks = picks.astype(xp.int64).reshape(shape[:-1] + (num_samples,))
    return Tensor._make(picks, None)


__all__ = ["Generator", "manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state",
           "default_generator", "resolve", "randperm", "multinomial"]
