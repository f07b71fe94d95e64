"""Edge cases of the nn layers and their functional forms, each checked against PyTorch:
chainrule gives PyTorch's values, gradients, dtypes and shapes, or raises where PyTorch raises."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16])
def test_embedding_refuses_the_index_dtypes_pytorch_refuses(dtype):
    indices = np.array([[0, 2], [1, 1]], dtype=dtype)
    weight = np.arange(12, dtype=np.float32).reshape(3, 4)
    with pytest.raises(RuntimeError):
        TF.embedding(torch.tensor(indices), torch.tensor(weight))
    with pytest.raises(TypeError, match="embedding"):
        F.embedding(cr.tensor(indices), cr.tensor(weight))


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_embedding_takes_int32_and_int64_indices(dtype):
    indices = np.array([[0, 2], [1, 1]], dtype=dtype)
    weight = np.arange(12, dtype=np.float32).reshape(3, 4)
    expected = TF.embedding(torch.tensor(indices), torch.tensor(weight)).numpy()
    np.testing.assert_array_equal(F.embedding(cr.tensor(indices), cr.tensor(weight)).numpy(),
                                  expected)
