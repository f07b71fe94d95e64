"""The table of tests/test_more_math.py: the elementwise functions of more_math.py, each case a
call written once for chainrule and PyTorch (``M``), as in tests/torch_cases.py. Kept apart from
the test so that test_ops.py can count which primitives have a case without importing torch."""
from torch_cases import N_EDGES, Case, E, F, K

GRID = [E(N_EDGES ** 2, layout="grid-a"), E(N_EDGES ** 2, layout="grid-b")]
INTS = [0, 1, -1, 7, -7, 12, -18, 2 ** 31 - 1]
UNARY = {  # name -> (low, high) away from kinks, and the name of the in-place method if any
    "logit": (0.1, 0.9, "logit_"), "sinc": (-2.3, 2.3, "sinc_"), "deg2rad": (-2, 2, "deg2rad_"),
    "rad2deg": (-2, 2, "rad2deg_"), "sgn": (-2, 2, "sgn_"), "erfc": (-3, 3, "erfc_"),
    "positive": (-2, 2, None), "lgamma": (0.2, 6, "lgamma_"), "digamma": (0.2, 6, "digamma_"),
}
BINARY = {  # name -> ranges of a and b, in-place method
    "xlogy": (-2, 2, 0.2, 3, "xlogy_"), "hypot": (-2, 2, -2, 2, "hypot_"),
    "fmax": (-2, 2, -2, 2, None), "fmin": (-2, 2, -2, 2, None),
    "logaddexp2": (-3, 3, -3, 3, None), "float_power": (0.2, 2, -2, 2, "float_power_"),
}


def _in_place_on_view(name, method):
    def fn(M, x):
        y = x * 1
        getattr(y, method)()
        if name == "sgn":
            y = y + x
        z = (x * 1)[1:].t()  # a view of a copy, written in place; x fans out to all three
        getattr(z, method)()
        return y * x, z
    return fn


def _binary_in_place_on_view(method):
    def fn(M, a, b):
        y = (a * 1)[:, 1:]
        getattr(y, method)(b[1:])
        z = a * 1
        getattr(z, method)(b)
        return y * a[:, 1:], z
    return fn


def _op(M, name):
    """M's function; for sgn, sgn plus its input: PyTorch's gradient of sgn alone is a
    ZeroTensor, which has no .numpy() to compare; the sum's gradient is sgn's plus 1."""
    if name == "sgn":
        return lambda x: M.sgn(x) + x
    return getattr(M, name)


CASES = []
for _name, (_low, _high, _method) in UNARY.items():
    CASES += [
        Case(_name, lambda M, x, n=_name: _op(M, n)(x), [F(3, 4, low=_low, high=_high)]),
        Case(_name, lambda M, x, n=_name: getattr(x, n)() + (x if n == "sgn" else 0),
             [F(low=_low, high=_high)]),
        Case(_name, lambda M, x, n=_name: _op(M, n)(x), [F(0, 3, low=_low, high=_high)]),
        Case(_name, lambda M, x, n=_name: _op(M, n)(x) * x + _op(M, n)(x[1:]).sum(),
             [F(3, low=_low, high=_high)]),
        Case(_name, lambda M, x, n=_name: _op(M, n)(x.t()[::2]),
             [F(4, 3, low=_low, high=_high)]),
        Case(_name, lambda M, x, n=_name: _op(M, n)(x), [E(N_EDGES)]),
    ]
    if _method:
        CASES.append(Case(_name, _in_place_on_view(_name, _method),
                          [F(3, 3, low=_low, high=_high)]))
for _name, (_la, _ha, _lb, _hb, _method) in BINARY.items():
    CASES += [
        Case(_name, lambda M, a, b, n=_name: getattr(M, n)(a, b),
             [F(3, 4, low=_la, high=_ha), F(4, low=_lb, high=_hb)]),
        Case(_name, lambda M, a, b, n=_name: getattr(a, n)(b),
             [F(2, 1, low=_la, high=_ha), F(1, 3, low=_lb, high=_hb)]),
        Case(_name, lambda M, a, b, n=_name: getattr(M, n)(a, b),
             [F(3, low=_la, high=_ha, dtype="float32"), F(3, low=_lb, high=_hb, dtype="float64")]),
        Case(_name, lambda M, a, n=_name: (getattr(M, n)(a, a) * a)[1:] +
             getattr(M, n)(a[:2], a[1:]),
             [F(3, low=max(_la, _lb), high=min(_ha, _hb))]),
        Case(_name, lambda M, a, b, n=_name: getattr(M, n)(a.t()[::2], b),
             [F(4, 3, low=_la, high=_ha), F(4, low=_lb, high=_hb)]),
        Case(_name, lambda M, a, b, n=_name: getattr(M, n)(a[:0], b[:0]),
             [F(2, 3, low=_la, high=_ha), F(2, 3, low=_lb, high=_hb)]),
        Case(_name, lambda M, a, b, n=_name: getattr(M, n)(a, b), GRID),
    ]
    if _method:
        CASES.append(Case(_name, _binary_in_place_on_view(_method),
                          [F(3, 3, low=_la, high=_ha), F(3, low=_lb, high=_hb)]))
CASES += [
    Case("lgamma", lambda M, x: M.lgamma(x), [F(3, 4, low=-1.9, high=-1.1)]),
    Case("lgamma", lambda M, x: M.lgamma(x) * M.digamma(x), [F(5, low=3, high=40)],
         covers=("lgamma", "digamma", "trigamma"), twice=False),
    Case("digamma", lambda M, x: M.digamma(x), [F(3, 4, low=-0.9, high=-0.6)]),
    Case("lgamma", lambda M, x: M.lgamma(x), [K([0.0, -0.0, -1.0, -2.0, 1.0, 2.0, 1e306])]),
    Case("digamma", lambda M, x: M.digamma(x), [K([0.0, -0.0, -1.0, -3.0, 1.0, 10.0, 1e18])]),
    Case("logit", lambda M, x: (M.logit(x, eps=0.2), x.logit(0.25)), [F(3, 4, low=0, high=1)]),
    Case("logit", lambda M, x: M.logit(x, 1e-6), [E(N_EDGES)]),
    Case("logit", lambda M, x: M.logit(x, eps=0.1), [K([0.0, 0.1, 0.5, 0.9, 1.0, -1.0])]),
    Case("xlogy", lambda M, x: (M.xlogy(x, 2.5), M.xlogy(2.0, x.abs() + 0.5)), [F(3, 4)]),
    Case("xlogy", lambda M, a, b: M.xlogy(a, b),
         [K([0.0, 0.0, 0.0, 0.0, -0.0, 1.0, 2.0]), K([0.0, float("inf"), float("nan"), -1.0,
                                                     2.0, 0.0, float("inf")])]),
    Case("xlogy", lambda M, a: M.xlogy(a, a * 0), [E(N_EDGES)]),
    Case("float_power", lambda M, x: (M.float_power(x, 2), M.float_power(x, 0.5),
                                      M.float_power(2, x), x.float_power(-1)),
         [F(3, low=0.2, high=2)]),
    Case("float_power", lambda M, x: M.float_power(x, x), [E(N_EDGES)]),
    # Exponents >= 0: PyTorch's gradient for a negative integer exponent is 0 (it takes
    # 2 ** e in integers); chainrule's is 2 ** e (test_ldexp_gradient_is_two_to_the_exponent).
    Case("ldexp", lambda M, x, e: (M.ldexp(x, e), x.ldexp(e)), [F(3, 4), K([3, 1, 0, 2])],
         covers=("ldexp",)),
    Case("ldexp", lambda M, x: M.ldexp(x, M.tensor([2, 5]).reshape(2, 1)), [F(2, 3)]),
    Case("ldexp", lambda M, x, e: M.ldexp(x, e) * x, [F(3, 4), F(4)]),
    Case("ldexp", lambda M, x: M.ldexp(x.detach(), M.tensor([-3, 0, 4, -1030, 1030])), [F(5)]),
    # Values only: PyTorch's gradient takes 2 ** 1024 in int64 (0).
    Case("ldexp", lambda M, x: M.ldexp(x, M.tensor(1024)).detach(), [E(N_EDGES)]),
    Case("frexp", lambda M, x: (*M.frexp(x), *x.frexp()), [F(3, 4, low=-100, high=100)],
         covers=("frexp_mantissa",)),
    Case("frexp", lambda M, x: M.frexp(x)[0] * x + M.frexp(x.t()[1:]).mantissa.sum(),
         [F(3, 3)]),
    # Values only at the edges: PyTorch's float64 gradient takes 2 ** e in float32.
    Case("frexp", lambda M, x: [t.detach() for t in M.frexp(x)], [E(N_EDGES)]),
    Case("frexp", lambda M, x: M.frexp(x * 1e30)[0], [F(4, dtype="float32")]),
    Case("frexp", lambda M, x: M.frexp(x), [F(2, 0)]),
    Case("signbit", lambda M, x: (M.signbit(x), x.signbit()), [E(N_EDGES)], twice=False),
    Case("heaviside", lambda M, x, v: (M.heaviside(x, v), x.heaviside(v[:1])),
         [K([-1.5, 0.0, -0.0, 2.0, float("inf"), float("-inf"), float("nan")]),
          K([0.5, 0.25, 7.0, 1.0, 1.0, 1.0, 1.0])]),
    Case("nextafter", lambda M, a, b: (M.nextafter(a, b), a.nextafter(b.flip(0))),
         [K([0.0, -0.0, 1.0, -1.0, float("inf"), float("nan"), 1e300, 5e-324]),
          K([1.0, -1.0, 2.0, 0.0, 0.0, 1.0, float("inf"), 0.0])]),
    Case("nextafter", lambda M, a, b: M.nextafter(a, b) * a + a.nextafter(b[:1]), [F(3), F(3)]),
    Case("nextafter", lambda M, a, b: (a * 1).nextafter_(b) * 2, [F(3), F(3)]),
    Case("gcd", lambda M, a, b: (M.gcd(a, b), a.lcm(b), M.lcm(a, b.flip(0))),
         [K(INTS), K([6, 0, 4, 14, 21, -8, 12, 3])]),
    Case("gcd", lambda M, a, b: M.gcd(a, b), [K([4, 6], "int32"), K([6, 8], "int16")]),
]
# Refusals, which PyTorch makes too (test_torch_ops._run checks that both refuse).
REFUSALS = [
    Case("gcd", lambda M, a: M.gcd(a, a), [F(3)]),
    Case("hypot", lambda M, a: M.hypot(a, a), [K([3, 4])]),
    Case("heaviside", lambda M, a, b: M.heaviside(a, b), [K([1.0]), K([1.0], "float32")]),
    Case("frexp", lambda M, a: M.frexp(a), [K([1, 2])]),
    Case("positive", lambda M, a: M.positive(a), [K([True])]),
    Case("gcd", lambda M, a: M.gcd(a, 4), [K([3, 4])]),
    Case("float_power_", lambda M, x: (x * 1).float_power_(2), [F(3, dtype="float32")]),
]
# Integer and bool inputs: PyTorch's result dtypes, or its refusals.
INTEGER_FORMS = {
    "logit": lambda M, x: M.logit(x), "sinc": lambda M, x: M.sinc(x),
    "deg2rad": lambda M, x: M.deg2rad(x), "rad2deg": lambda M, x: M.rad2deg(x),
    "sgn": lambda M, x: M.sgn(x), "erfc": lambda M, x: M.erfc(x),
    "positive": lambda M, x: M.positive(x), "signbit": lambda M, x: M.signbit(x),
    "xlogy": lambda M, x: M.xlogy(x, x.flip(0)), "float_power": lambda M, x: M.float_power(x, 2),
    "fmax": lambda M, x: M.fmax(x, x.flip(0)), "fmin": lambda M, x: M.fmin(x, x.flip(0)),
    "ldexp": lambda M, x: M.ldexp(x, x * 0 + 1),
    "heaviside": lambda M, x: M.heaviside(x, x.flip(0)), "gcd": lambda M, x: M.gcd(x, x.flip(0)),
    "lcm": lambda M, x: M.lcm(x, x * 0 + 3), "lgamma": lambda M, x: M.lgamma(x),
    "digamma": lambda M, x: M.digamma(x),
}
for _dtype, _values in (("int64", INTS), ("int32", INTS), ("uint8", [0, 1, 2, 7, 127, 128, 254, 255]),
                        ("bool", [True, False, True, True, False, False, True, False])):
    for _form, _fn in INTEGER_FORMS.items():
        CASES.append(Case(_form, _fn, [K(_values, _dtype)], id=f"{_form}-{_dtype}"))
CASES += REFUSALS
for _case in CASES:
    if _case.name == "digamma":
        _case.twice = False  # its second derivative needs polygamma(2, x), which is refused
for _i, _case in enumerate(CASES):
    _case.id = f"{_case.name}-{_case.id + '-' if _case.id else ''}{_i}"

