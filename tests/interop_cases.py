"""A network of every layer that chainrule, PyTorch and the ONNX export all have, with options
away from their defaults; ``every_layer(cr.nn)`` and ``every_layer(torch.nn)`` build the same
network in each library (the constructors take the same names). Inputs: (N, 24)."""


def every_layer(t):
    return t.Sequential(
        t.Unflatten(1, (2, 12)),
        t.Conv1d(2, 4, 3, stride=1, padding=2, dilation=2, bias=False),
        t.BatchNorm1d(4, eps=1e-3, momentum=0.2),
        t.ELU(alpha=0.5),
        t.Unflatten(2, (3, 4)),
        t.Conv2d(4, 6, (3, 3), stride=(1, 2), padding=(1, 1), groups=2),
        t.BatchNorm2d(6, affine=False, momentum=None),
        t.Sequential(t.LeakyReLU(0.2), t.Dropout2d(0.3)),
        t.ConvTranspose2d(6, 4, 2, stride=2, padding=1, output_padding=1),
        t.GroupNorm(2, 4, eps=1e-4),
        t.GELU(approximate="tanh"),
        t.MaxPool2d(3, stride=2, padding=1, dilation=1),
        t.AvgPool2d(2, stride=1, padding=1, count_include_pad=False),
        t.AdaptiveAvgPool2d((2, 3)),
        t.LayerNorm([2, 3], eps=1e-6, bias=False),
        t.Flatten(),
        t.Linear(24, 16), t.SiLU(), t.Mish(), t.Softsign(), t.LogSigmoid(), t.SELU(), t.ReLU6(),
        t.Hardsigmoid(), t.Hardswish(), t.Tanhshrink(), t.CELU(alpha=1.5),
        t.Softplus(beta=2.0, threshold=5.0), t.Hardtanh(-0.5, 0.7), t.Threshold(0.1, -2.0),
        t.Tanh(), t.Sigmoid(), t.ReLU(), t.Dropout(0.25), t.Identity(),
        t.Linear(16, 6, bias=False), t.Softmax(dim=1), t.LogSoftmax(dim=-1), t.Softmin(dim=1))


def more_options(t):
    """The options every_layer leaves at one value: padding="same", an exact GELU, average
    pooling with a divisor, batch norm on (N, C) input, global pooling, Linear on 3-d input,
    a partial Flatten, implicit softmax dims."""
    return t.Sequential(
        t.Unflatten(1, (3, 4, 4)),
        t.Conv2d(3, 4, 3, padding="same", dilation=2), t.GELU(),
        t.AvgPool2d(3, stride=1, padding=1, divisor_override=5),
        t.Conv2d(4, 4, 3, padding="valid"),
        t.Flatten(2, 3),               # (N, 4, 4)
        t.Linear(4, 5),                # on 3-d input: (N, 4, 5)
        t.Softmax(),                   # dim None on 3-d input: dim 0, as PyTorch
        t.Unflatten(2, (5, 1)),        # (N, 4, 5, 1)
        t.AdaptiveAvgPool2d(1),
        t.Flatten(),
        t.BatchNorm1d(4), t.Softplus(), t.LogSoftmax())


def volumes(t):
    """The 3-d layers on (N, 2, 4, 6, 6) volumes, fed flat: inputs (N, 288)."""
    return t.Sequential(
        t.Unflatten(1, (2, 4, 6, 6)),
        t.Conv3d(2, 4, 3, padding=1, stride=(1, 2, 2), bias=False),
        t.MaxPool3d(2, stride=1, padding=1, dilation=1), t.ReLU(),
        t.AvgPool3d((2, 2, 2), stride=2, padding=1, count_include_pad=False),
        t.Conv3d(4, 2, (1, 2, 2), groups=2), t.AvgPool3d(1, divisor_override=2),
        t.Flatten())


def unfolding(t):
    """Unfold and fold (im2col and back, overlapping blocks summed) on (N, 2, 3, 4) images,
    fed flat: inputs (N, 24)."""
    return t.Sequential(
        t.Unflatten(1, (2, 3, 4)), t.Unfold((2, 2), padding=1, stride=(1, 2)),  # (N, 8, 12)
        t.Fold((3, 4), (2, 2), padding=1, stride=(1, 2)), t.Flatten())          # (N, 24)


def lines_and_upsampling(t):
    """The 1-d layers, the transposed 1-d and 3-d convolutions, ceil_mode max pooling and the
    resizing layers in every mode, on (N, 3, 16) lines, then volumes, images and lines again,
    fed flat: inputs (N, 48)."""
    return t.Sequential(
        t.Unflatten(1, (3, 16)),
        t.ConvTranspose1d(3, 4, 3, stride=2, padding=1, output_padding=1),  # (N, 4, 32)
        t.MaxPool1d(3, stride=2, padding=1, ceil_mode=True),                # (N, 4, 16)
        t.AvgPool1d(2, stride=2, padding=1, count_include_pad=False),       # (N, 4, 9)
        t.Flatten(), t.Linear(36, 96), t.Unflatten(1, (2, 2, 3, 8)),
        t.ConvTranspose3d(2, 2, (2, 3, 2), stride=(1, 2, 2), padding=(0, 1, 1), groups=2,
                          dilation=(1, 1, 2), bias=False),                  # (N, 2, 3, 5, 15)
        t.MaxPool3d(2, stride=2, ceil_mode=True),                           # (N, 2, 2, 3, 8)
        t.Upsample(scale_factor=(1.5, 2.0, 0.7), mode="trilinear"),         # (N, 2, 3, 6, 5)
        t.Upsample(size=(3, 5, 8), mode="nearest-exact"),                   # (N, 2, 3, 5, 8)
        t.Flatten(1, 2),                                                    # (N, 6, 5, 8)
        t.UpsamplingBilinear2d(scale_factor=1.3),                           # (N, 6, 6, 10)
        t.Upsample(size=(5, 7), mode="bicubic", align_corners=False),
        t.UpsamplingNearest2d(size=(7, 9)),
        t.MaxPool2d((2, 3), stride=(2, 2), ceil_mode=True, dilation=(1, 2)),  # (N, 6, 4, 3)
        t.Flatten(2), t.Upsample(scale_factor=1.5, mode="linear", recompute_scale_factor=True),
        t.Upsample(size=7, mode="area"),                                     # (N, 6, 7)
        t.Flatten())


def with_indices(t):
    """The pooling layers that return indices and the unpooling layers that take them: pairs
    (a MaxPool with return_indices=True, its MaxUnpool) and the input shape of each. A
    Sequential cannot pass indices from one layer to the next, so these are run pair by pair."""
    return [((t.MaxPool1d(3, stride=2, padding=1, return_indices=True), t.MaxUnpool1d(3, 2, 1)),
             (2, 3, 9)),
            ((t.MaxPool2d(2, return_indices=True, ceil_mode=True), t.MaxUnpool2d(2)),
             (2, 3, 5, 6)),
            ((t.MaxPool3d((1, 2, 2), stride=(1, 2, 1), return_indices=True),
              t.MaxUnpool3d((1, 2, 2), stride=(1, 2, 1))), (1, 2, 3, 4, 5))]


def recurrent(t):
    """The layers that take indices or return states, which a Sequential cannot chain: an
    Embedding, then the recurrent layers and cells, each with options away from its defaults.
    Run one by one (tests/test_rnn.py, tests/test_embedding.py)."""
    return [t.Embedding(9, 4, padding_idx=2, max_norm=3.0, norm_type=1.5, scale_grad_by_freq=True),
            t.RNN(4, 5, num_layers=2, nonlinearity="relu", bias=False, batch_first=True,
                  dropout=0.25, bidirectional=True),
            t.LSTM(4, 3, num_layers=2, bidirectional=True), t.GRU(4, 3, batch_first=True),
            t.RNNCell(4, 3, nonlinearity="relu"), t.LSTMCell(4, 3, bias=False), t.GRUCell(4, 3)]


def attention(t):
    """The attention layers, which take several inputs (query, key, value; target and memory),
    each with options away from its defaults. Run one by one (tests/test_attention.py)."""
    return [t.MultiheadAttention(8, 2, dropout=0.25, bias=False, add_bias_kv=True,
                                 add_zero_attn=True, kdim=3, vdim=5, batch_first=True),
            t.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation="gelu",
                                      layer_norm_eps=1e-4, norm_first=True),
            t.TransformerDecoderLayer(8, 2, 12, activation=t.GELU("tanh"), batch_first=True,
                                      bias=False),
            t.TransformerEncoder(t.TransformerEncoderLayer(8, 2, 16), 2, norm=t.LayerNorm(8)),
            t.TransformerDecoder(t.TransformerDecoderLayer(8, 2, 16, batch_first=True), 2),
            t.Transformer(8, 2, 1, 2, 16, activation="gelu", norm_first=True)]


# Converted both ways and exported to ONNX (PairwiseDistance refused, two inputs):
# tests/test_more_nn_layers.py.
MORE_LAYERS = {"PReLU", "GLU", "PixelShuffle", "PixelUnshuffle", "RMSNorm", "InstanceNorm1d",
               "InstanceNorm2d", "InstanceNorm3d", "PairwiseDistance"} | {
    f"{kind}Pad{n}d" for kind in ("Zero", "Constant", "Reflection", "Replication", "Circular")
    for n in (1, 2, 3)}
# Converted both ways and exported to ONNX (Bilinear refused, two inputs):
# tests/test_small_export.py.
SMALL_LAYERS = {"Hardshrink", "Softshrink", "Softmax2d", "RReLU", "Dropout1d", "Dropout3d",
                "AlphaDropout", "FeatureAlphaDropout", "AdaptiveAvgPool1d", "ChannelShuffle",
                "LocalResponseNorm", "Bilinear"}
# The layers of nn/more_pool_layers.py and EmbeddingBag: tests/test_new_pool_export.py
POOL_LAYERS = {"AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "LPPool1d", "LPPool2d", "EmbeddingBag"}
