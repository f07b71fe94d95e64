"""softmax, log_softmax and softmin called without a dim take PyTorch's deprecated implicit
choice (dim 0 for 0-, 1- and 3-D inputs, else dim 1) with its warning; F.softmin once took the
last dim, a different number on 3-D and 4-D inputs."""
import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("shape", [(), (5,), (2, 3), (2, 3, 4), (2, 3, 2, 2)], ids=str)
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_implicit_dim_as_pytorch(name, shape):
    values = np.arange(float(np.prod(shape))).reshape(shape) / 7
    results = []
    for m in (torch, cr):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = getattr(m.nn.functional, name)(m.tensor(values))
        assert any("Implicit dimension" in str(w.message) for w in caught)
        results.append(np.asarray(out.tolist(), dtype=float))
    np.testing.assert_allclose(results[1], results[0], rtol=1e-6)
