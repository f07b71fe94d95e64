"""PyTorch modules in and out: ``from_torch`` builds the equivalent chainrule model with its
weights, ``to_torch`` the reverse. torch is imported only inside them: chainrule never needs it.

Both directions read one table: for each layer that both libraries have, the constructor
options, which have the same names in both (``in_features``, ``kernel_size``, ``eps``, ...).
Weights and buffers then go across through ``state_dict``, whose keys and layouts are the same.
"""
from collections import OrderedDict

# State dicts hold host memory whatever the compute backend is, as in chainrule.serialize.
import numpy as np

from ..errors import ChainruleError

INSTALL_HINT = "pip install torch (chainrule does not need it; only this conversion does)"


class ConversionError(ChainruleError, ValueError):
    """A model cannot be converted: a layer or option that the other library lacks.

    >>> cr.interop.from_torch("not a module")
    Traceback (most recent call last):
        ...
    chainrule.interop.torch_modules.ConversionError: from_torch: expected a torch.nn.Module, got str
    """


def _conv_options(m):
    return dict(in_channels=m.in_channels, out_channels=m.out_channels,
                kernel_size=tuple(m.kernel_size), stride=tuple(m.stride),
                padding=m.padding if isinstance(m.padding, str) else tuple(m.padding),
                dilation=tuple(m.dilation), groups=m.groups, bias=m.bias is not None,
                padding_mode=m.padding_mode)


def _conv_transpose_options(m):
    return dict(_conv_options(m), output_padding=tuple(m.output_padding))


def _batch_norm_options(m):
    return dict(num_features=m.num_features, eps=m.eps, momentum=m.momentum, affine=m.affine,
                track_running_stats=m.track_running_stats)


def _max_pool_options(m):
    return dict(kernel_size=m.kernel_size, stride=m.stride, padding=m.padding,
                dilation=m.dilation, return_indices=m.return_indices, ceil_mode=m.ceil_mode)


def _avg_pool_options(m):
    options = dict(kernel_size=m.kernel_size, stride=m.stride, padding=m.padding,
                   ceil_mode=m.ceil_mode, count_include_pad=m.count_include_pad)
    if type(m).__name__ != "AvgPool1d":  # which has no divisor_override
        options["divisor_override"] = m.divisor_override
    return options


def _max_unpool_options(m):
    return dict(kernel_size=m.kernel_size, stride=m.stride, padding=m.padding)


def _no_options(m):
    return {}


def _recurrent_options(m):
    options = dict(input_size=m.input_size, hidden_size=m.hidden_size, num_layers=m.num_layers,
                   bias=m.bias, batch_first=m.batch_first, dropout=m.dropout,
                   bidirectional=m.bidirectional)
    if type(m).__name__ == "RNN":
        options["nonlinearity"] = m.nonlinearity
    if type(m).__name__ == "LSTM":
        options["proj_size"] = m.proj_size
    return options


def _cell_options(m):
    options = dict(input_size=m.input_size, hidden_size=m.hidden_size, bias=m.bias)
    if type(m).__name__ == "RNNCell":
        options["nonlinearity"] = m.nonlinearity
    return options


def _attention_options(m):
    return dict(embed_dim=m.embed_dim, num_heads=m.num_heads, dropout=m.dropout,
                bias=m.in_proj_bias is not None, add_bias_kv=m.bias_k is not None,
                add_zero_attn=m.add_zero_attn, kdim=m.kdim, vdim=m.vdim,
                batch_first=m.batch_first)


def _transformer_layer_options(m):
    # Either library keeps "relu"/"gelu" as its own function, named so; a module stays one
    # (converted by _convert as an option holding a layer).
    activation = m.activation
    name = getattr(activation, "__name__", None)
    return dict(d_model=m.linear1.in_features, nhead=m.self_attn.num_heads,
                dim_feedforward=m.linear1.out_features, dropout=m.dropout.p,
                activation=name if name in ("relu", "gelu") else activation,
                layer_norm_eps=m.norm1.eps, batch_first=m.self_attn.batch_first,
                norm_first=m.norm_first, bias=m.linear1.bias is not None)


def _transformer_options(m):
    options = _transformer_layer_options(m.encoder.layers[0])
    return dict(options, num_encoder_layers=len(m.encoder.layers),
                num_decoder_layers=len(m.decoder.layers))


def _instance_norm_options(m):
    # PyTorch's bias=True with affine=False makes no bias either.
    return dict(_batch_norm_options(m), bias=m.bias is not None or not m.affine)


def _padding_options(m):
    return dict(padding=tuple(m.padding))


# Layer name -> the constructor options read from a module of either library.
LAYERS = {
    "Linear": lambda m: dict(in_features=m.in_features, out_features=m.out_features,
                             bias=m.bias is not None),
    "Conv1d": _conv_options,
    "Conv2d": _conv_options,
    "Conv3d": _conv_options,
    "ConvTranspose1d": _conv_transpose_options,
    "ConvTranspose2d": _conv_transpose_options,
    "ConvTranspose3d": _conv_transpose_options,
    "MaxPool1d": _max_pool_options,
    "MaxPool2d": _max_pool_options,
    "MaxPool3d": _max_pool_options,
    "AvgPool1d": _avg_pool_options,
    "AvgPool2d": _avg_pool_options,
    "AvgPool3d": _avg_pool_options,
    "MaxUnpool1d": _max_unpool_options,
    "MaxUnpool2d": _max_unpool_options,
    "MaxUnpool3d": _max_unpool_options,
    "Upsample": lambda m: dict(size=m.size, scale_factor=m.scale_factor, mode=m.mode,
                               align_corners=m.align_corners,
                               recompute_scale_factor=m.recompute_scale_factor),
    "UpsamplingNearest2d": lambda m: dict(size=m.size, scale_factor=m.scale_factor),
    "UpsamplingBilinear2d": lambda m: dict(size=m.size, scale_factor=m.scale_factor),
    "AdaptiveAvgPool2d": lambda m: dict(output_size=m.output_size),
    "BatchNorm1d": _batch_norm_options,
    "BatchNorm2d": _batch_norm_options,
    "LayerNorm": lambda m: dict(normalized_shape=tuple(m.normalized_shape), eps=m.eps,
                                elementwise_affine=m.weight is not None, bias=m.bias is not None),
    "GroupNorm": lambda m: dict(num_groups=m.num_groups, num_channels=m.num_channels, eps=m.eps,
                                affine=m.weight is not None),
    "Dropout": lambda m: dict(p=m.p),
    "Dropout2d": lambda m: dict(p=m.p),
    "Flatten": lambda m: dict(start_dim=m.start_dim, end_dim=m.end_dim),
    "Unflatten": lambda m: dict(dim=m.dim, unflattened_size=tuple(m.unflattened_size)),
    "Identity": _no_options,
    "ReLU": _no_options,
    "Sigmoid": _no_options,
    "Tanh": _no_options,
    "LeakyReLU": lambda m: dict(negative_slope=m.negative_slope),
    "GELU": lambda m: dict(approximate=m.approximate),
    "SiLU": _no_options,
    "Mish": _no_options,
    "Softsign": _no_options,
    "LogSigmoid": _no_options,
    "SELU": _no_options,
    "ReLU6": _no_options,
    "Hardsigmoid": _no_options,
    "Hardswish": _no_options,
    "Tanhshrink": _no_options,
    "ELU": lambda m: dict(alpha=m.alpha),
    "CELU": lambda m: dict(alpha=m.alpha),
    "Softplus": lambda m: dict(beta=m.beta, threshold=m.threshold),
    "Hardtanh": lambda m: dict(min_val=m.min_val, max_val=m.max_val),
    "Threshold": lambda m: dict(threshold=m.threshold, value=m.value),
    "Softmax": lambda m: dict(dim=m.dim),
    "LogSoftmax": lambda m: dict(dim=m.dim),
    "Softmin": lambda m: dict(dim=m.dim),
    "Unfold": lambda m: dict(kernel_size=m.kernel_size, dilation=m.dilation, padding=m.padding,
                             stride=m.stride),
    "Fold": lambda m: dict(output_size=m.output_size, kernel_size=m.kernel_size,
                           dilation=m.dilation, padding=m.padding, stride=m.stride),
    "CosineSimilarity": lambda m: dict(dim=m.dim, eps=m.eps),
    "Embedding": lambda m: dict(num_embeddings=m.num_embeddings, embedding_dim=m.embedding_dim,
                                padding_idx=m.padding_idx, max_norm=m.max_norm,
                                norm_type=m.norm_type, scale_grad_by_freq=m.scale_grad_by_freq),
    "RNN": _recurrent_options,
    "LSTM": _recurrent_options,
    "GRU": _recurrent_options,
    "RNNCell": _cell_options,
    "LSTMCell": _cell_options,
    "GRUCell": _cell_options,
    "MultiheadAttention": _attention_options,
    "TransformerEncoderLayer": _transformer_layer_options,
    "TransformerDecoderLayer": _transformer_layer_options,
    # A stack's layer and norm are themselves converted (see _convert); weights come after.
    "TransformerEncoder": lambda m: dict(encoder_layer=m.layers[0], num_layers=len(m.layers),
                                         norm=m.norm, enable_nested_tensor=m.enable_nested_tensor,
                                         mask_check=m.mask_check),
    "TransformerDecoder": lambda m: dict(decoder_layer=m.layers[0], num_layers=len(m.layers),
                                         norm=m.norm),
    "Transformer": _transformer_options,
    "PReLU": lambda m: dict(num_parameters=m.num_parameters, init=m.init),
    "GLU": lambda m: dict(dim=m.dim),
    "PixelShuffle": lambda m: dict(upscale_factor=m.upscale_factor),
    "PixelUnshuffle": lambda m: dict(downscale_factor=m.downscale_factor),
    "RMSNorm": lambda m: dict(normalized_shape=tuple(m.normalized_shape), eps=m.eps,
                              elementwise_affine=m.elementwise_affine),
    "InstanceNorm1d": _instance_norm_options,
    "InstanceNorm2d": _instance_norm_options,
    "InstanceNorm3d": _instance_norm_options,
    "PairwiseDistance": lambda m: dict(p=m.norm, eps=m.eps, keepdim=m.keepdim),
    "Hardshrink": lambda m: dict(lambd=m.lambd), "Softshrink": lambda m: dict(lambd=m.lambd),
    "Softmax2d": _no_options, "RReLU": lambda m: dict(lower=m.lower, upper=m.upper,
                                                      inplace=m.inplace),
    "AdaptiveAvgPool1d": lambda m: dict(output_size=m.output_size),
    **{name: lambda m: dict(p=m.p, inplace=m.inplace)
       for name in ("Dropout1d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout")},
    "Bilinear": lambda m: dict(in1_features=m.in1_features, in2_features=m.in2_features,
                               out_features=m.out_features, bias=m.bias is not None),
    "ChannelShuffle": lambda m: dict(groups=m.groups),
    "LocalResponseNorm": lambda m: dict(size=m.size, alpha=m.alpha, beta=m.beta, k=m.k),
    **{f"AdaptiveMaxPool{n}d": lambda m: dict(output_size=m.output_size,
                                               return_indices=m.return_indices)
       for n in (1, 2)},
    **{f"LPPool{n}d": lambda m: dict(norm_type=m.norm_type, kernel_size=m.kernel_size,
                                     stride=m.stride, ceil_mode=m.ceil_mode) for n in (1, 2)},
    "EmbeddingBag": lambda m: dict(num_embeddings=m.num_embeddings,
                                   embedding_dim=m.embedding_dim, max_norm=m.max_norm,
                                   norm_type=m.norm_type, scale_grad_by_freq=m.scale_grad_by_freq,
                                   mode=m.mode, include_last_offset=m.include_last_offset,
                                   padding_idx=m.padding_idx),
    **{f"{kind}Pad{n}d": _padding_options for kind in ("Zero", "Reflection", "Replication",
                                                       "Circular") for n in (1, 2, 3)},
    **{f"ConstantPad{n}d": lambda m: dict(padding=tuple(m.padding), value=m.value)
       for n in (1, 2, 3)},
}

# PyTorch options that chainrule's layers do not have, and the value that chainrule implies.
TORCH_ONLY_OPTIONS = {"sparse": False}


def _torch():
    try:
        import torch
    except ImportError as error:
        raise ImportError(f"converting to or from PyTorch needs torch: {INSTALL_HINT}") from error
    return torch


def from_torch(module):
    """The chainrule model equivalent to a PyTorch module: a ``torch.nn.Sequential`` (nested
    ones too) of the layers chainrule has, or one such layer, with the same constructor
    options, a copy of its weights and buffers, its dtype and its train/eval mode. Raises
    ConversionError naming the first layer (and its path) that has no chainrule equivalent.

    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
    >>> cr.interop.from_torch(net)
    Sequential(
      (0): Linear(in_features=4, out_features=3, bias=True)
      (1): ReLU()
    )
    """
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        raise ConversionError(f"from_torch: expected a torch.nn.Module, got "
                              f"{type(module).__name__}")
    from .. import nn
    model = _convert(module, "", _torch_layer_name, nn, "from_torch")
    dtype = _float_dtype(module.state_dict().values(), lambda t: t.is_floating_point())
    if dtype is not None:
        model.to(_numpy_dtype(torch, dtype))
    model.load_state_dict(OrderedDict((name, tensor.detach().cpu().numpy())
                                      for name, tensor in module.state_dict().items()))
    _copy_frozen(module, model)
    return model


def to_torch(model):
    """The PyTorch module equivalent to a chainrule model (Sequential, nested ones too, of the
    layers both libraries have), with the same options, a copy of the weights and buffers, the
    same dtype and train/eval mode. Raises ConversionError naming a layer PyTorch lacks.

    >>> net = cr.nn.Sequential(cr.nn.Linear(4, 3), cr.nn.ReLU())
    >>> cr.interop.to_torch(net)
    Sequential(
      (0): Linear(in_features=4, out_features=3, bias=True)
      (1): ReLU()
    )
    """
    from .. import nn
    if not isinstance(model, nn.Module):
        raise ConversionError(f"to_torch: expected a chainrule nn.Module, got "
                              f"{type(model).__name__}")
    torch = _torch()
    module = _convert(model, "", _chainrule_layer_name, torch.nn, "to_torch")
    state = model.state_dict()
    dtype = _float_dtype(state.values(), lambda a: a.dtype.kind == "f")
    if dtype is not None:
        module.to(torch.from_numpy(np.empty(0, dtype=dtype)).dtype)
    module.load_state_dict(OrderedDict((name, torch.from_numpy(tensor.numpy()))
                                       for name, tensor in state.items()))
    _copy_frozen(model, module)
    return module


def _convert(source, path, layer_name, target_nn, operation):
    name = layer_name(source)
    where = f" at {path!r}" if path else ""
    if callable(getattr(source, "has_uninitialized_params", None)):
        raise ConversionError(
            f"{operation}: {type(source).__name__}{where} is a lazy layer that has not seen an "
            f"input yet, so it has no weights to convert; call the model once on an example "
            f"batch first (the layer then becomes its concrete class, which converts)")
    if name == "Sequential":
        children = [(child_name, _convert(child, f"{path}.{child_name}" if path else child_name,
                                          layer_name, target_nn, operation))
                    for child_name, child in source.named_children()]
        converted = target_nn.Sequential(OrderedDict(children))
    elif name in LAYERS:
        _check_torch_only_options(source, name, where, operation)
        options = LAYERS[name](source)
        for key, value in options.items():
            if layer_name(value) is not None:  # an option that is itself a layer
                options[key] = _convert(value, f"{path}.{key}" if path else key, layer_name,
                                        target_nn, operation)
        converted = getattr(target_nn, name)(**options)
        # A layer built of submodules (attention, transformer layers): each keeps its mode.
        inner = dict(converted.named_modules())
        for inner_path, module in source.named_modules():
            if inner_path and inner_path in inner:
                _set_mode(inner[inner_path], module.training)
    else:
        kind = f"{type(source).__module__}.{type(source).__qualname__}"
        raise ConversionError(
            f"{operation}: layer{where} is a {kind}, which has no equivalent in the other "
            f"library; convertible: Sequential and {', '.join(LAYERS)}")
    _set_mode(converted, source.training)
    return converted


def _torch_layer_name(module):
    # The exact class, not isinstance: a subclass may have its own forward (and ReLU6 is a
    # Hardtanh in PyTorch).
    kind = type(module)
    if kind.__module__.startswith("torch.nn.modules."):
        return kind.__name__
    return None


def _chainrule_layer_name(model):
    kind = type(model)
    if kind.__module__.startswith("chainrule.nn."):
        return kind.__name__
    return None


def _check_torch_only_options(module, name, where, operation):
    for option, implied in TORCH_ONLY_OPTIONS.items():
        value = getattr(module, option, implied)
        if value != implied:
            raise ConversionError(f"{operation}: {name}{where} has {option}={value!r}; "
                                  f"chainrule's {name} supports only {option}={implied!r}")


def _copy_frozen(source, target):
    # A frozen parameter (Embedding.from_pretrained's default) stays frozen across.
    targets = dict(target.named_parameters())
    for name, parameter in source.named_parameters():
        if not parameter.requires_grad:
            targets[name].requires_grad_(False)


def _set_mode(module, training):
    # Only this module's own flag: its children were converted with theirs.
    object.__setattr__(module, "training", bool(training))


def _float_dtype(values, is_float):
    for value in values:
        if is_float(value):
            return value.dtype
    return None


def _numpy_dtype(torch, dtype):
    try:
        return torch.empty(0, dtype=dtype).numpy().dtype
    except TypeError as error:  # bfloat16 has no NumPy dtype
        raise ConversionError(f"from_torch: parameters of dtype {dtype} have no NumPy "
                              f"equivalent; convert the module with .float() first") from error
