"""Backpropagation written out by hand, in NumPy only.

cs231n-style layers (``*_forward`` returns ``(out, cache)``, ``*_backward(dout, cache)``
returns the gradients), losses that return ``(loss, dx)``, and the two-layer MLP of d2l 4.7 in
the textbook's notation; a vanilla RNN with backpropagation through time (rnn.py) and the
"becoming a backprop ninja" layers (ninja.py). Nothing here uses the autograd engine, so the
two can check each other.
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
from .ninja import (batchnorm1d_backward, batchnorm1d_backward_compact, batchnorm1d_forward,
                    cross_entropy_backward, cross_entropy_forward, embedding_backward,
                    embedding_forward, linear_backward, linear_forward)
from .rnn import (clip_grad_norm, rnn_backward, rnn_forward, rnn_loss, rnn_step_backward,
                  rnn_step_forward, temporal_affine_backward, temporal_affine_forward,
                  temporal_softmax_loss)

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
    # backpropagation through time (rnn.py) and the backprop-ninja layers (ninja.py)
    "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
    "temporal_affine_forward", "temporal_affine_backward", "temporal_softmax_loss", "rnn_loss",
    "clip_grad_norm", "embedding_forward", "embedding_backward", "linear_forward",
    "linear_backward", "batchnorm1d_forward", "batchnorm1d_backward",
    "batchnorm1d_backward_compact", "cross_entropy_forward", "cross_entropy_backward",
]
