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


CONVOLUTIONS = {  # name: (input shape, weight shape); every weight gives 4 output channels
    "conv1d": ((2, 4, 7), (4, 4, 3)),
    "conv2d": ((2, 4, 7, 6), (4, 4, 3, 3)),
    "conv3d": ((2, 4, 5, 6, 5), (4, 4, 3, 3, 3)),
    "conv_transpose1d": ((2, 4, 7), (4, 4, 3)),
    "conv_transpose2d": ((2, 4, 7, 6), (4, 4, 3, 3)),
    "conv_transpose3d": ((2, 4, 5, 6, 5), (4, 4, 3, 3, 3)),
}


@pytest.mark.parametrize("name", sorted(CONVOLUTIONS))
@pytest.mark.parametrize("bias_shape", [(1,), (4, 1), (8,)])
def test_convolutions_refuse_a_bias_that_only_broadcasts(name, bias_shape):
    input_shape, weight_shape = CONVOLUTIONS[name]
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float32)
              for s in (input_shape, weight_shape, bias_shape)]
    with pytest.raises(RuntimeError, match="bias"):
        getattr(TF, name)(*(torch.tensor(a) for a in arrays))
    with pytest.raises(cr.ShapeError, match="bias"):
        getattr(F, name)(*(cr.tensor(a) for a in arrays))


@pytest.mark.parametrize("name", sorted(CONVOLUTIONS))
def test_convolutions_add_a_bias_of_the_output_channels(name):
    input_shape, weight_shape = CONVOLUTIONS[name]
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s).astype(np.float32)
              for s in (input_shape, weight_shape, (4,))]
    expected = getattr(TF, name)(*(torch.tensor(a) for a in arrays)).numpy()
    got = getattr(F, name)(*(cr.tensor(a) for a in arrays)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_conv_transpose2d_refuses_channels_that_do_not_split_into_groups():
    x = np.ones((1, 4, 5, 5), np.float32)
    weight = np.ones((4, 4, 3, 3), np.float32)
    with pytest.raises(RuntimeError):
        TF.conv_transpose2d(torch.tensor(x), torch.tensor(weight), groups=3)
    with pytest.raises(cr.ShapeError, match="conv_transpose2d.*groups = 3"):
        F.conv_transpose2d(cr.tensor(x), cr.tensor(weight), groups=3)
