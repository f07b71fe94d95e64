"""Backpropagation written out by hand, in NumPy only.

cs231n-style layers (``*_forward`` returns ``(out, cache)``, ``*_backward(dout, cache)``
returns the gradients), losses that return ``(loss, dx)``, and the two-layer MLP of d2l 4.7 in
the textbook's notation. Nothing here uses the autograd engine, so the two can check each other.
"""

from .layers import (
    affine_backward,
    affine_forward,
    affine_relu_backward,
    affine_relu_forward,
    dropout_backward,
    dropout_forward,
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    tanh_backward,
    tanh_forward,
)
from .losses import l2_regularization, softmax_loss, svm_loss
from .cnn_layers import (batchnorm_backward, batchnorm_backward_alt, batchnorm_forward,
                         conv_backward_naive,
                         conv_forward_naive, conv_relu_backward, conv_relu_forward,
                         conv_relu_pool_backward, conv_relu_pool_forward, layernorm_backward,
                         layernorm_forward, max_pool_backward_naive, max_pool_forward_naive,
                         spatial_batchnorm_backward, spatial_batchnorm_forward,
                         spatial_groupnorm_backward, spatial_groupnorm_forward)
from .mlp import ForwardPass, TwoLayerMLP

__all__ = [
    "conv_forward_naive", "conv_backward_naive", "max_pool_forward_naive",
    "max_pool_backward_naive", "batchnorm_forward", "batchnorm_backward",
    "batchnorm_backward_alt", "spatial_batchnorm_forward", "spatial_batchnorm_backward",
    "layernorm_forward", "layernorm_backward", "spatial_groupnorm_forward",
    "spatial_groupnorm_backward", "conv_relu_forward", "conv_relu_backward",
    "conv_relu_pool_forward", "conv_relu_pool_backward",
    "affine_forward",
    "affine_backward",
    "relu_forward",
    "relu_backward",
    "sigmoid_forward",
    "sigmoid_backward",
    "tanh_forward",
    "tanh_backward",
    "affine_relu_forward",
    "affine_relu_backward",
    "dropout_forward",
    "dropout_backward",
    "svm_loss",
    "softmax_loss",
    "l2_regularization",
    "TwoLayerMLP",
    "ForwardPass",
]
