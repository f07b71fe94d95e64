"""Neural-network building blocks: Parameter, Module, layers, losses and initialisers.

    from chainrule import nn
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    loss = nn.functional.cross_entropy(model(images), labels)
"""
from . import functional, init, utils
from .activations import (CELU, ELU, GELU, SELU, Hardsigmoid, Hardswish, Hardtanh, Identity,
                          LeakyReLU, LogSigmoid, LogSoftmax, Mish, ReLU, ReLU6, Sigmoid, SiLU,
                          Softmax, Softmin, Softplus, Softsign, Tanh, Tanhshrink, Threshold)
from .conv_layers import (AdaptiveAvgPool2d, BatchNorm1d, BatchNorm2d, Conv1d, Conv2d, Conv3d,
                          ConvTranspose1d, ConvTranspose2d, ConvTranspose3d, Dropout2d, GroupNorm,
                          LayerNorm)
from .attention import MultiheadAttention
from .distance import CosineSimilarity, PairwiseDistance
from .embedding import Embedding
from .embedding_bag import EmbeddingBag
from .fold_layers import Fold, Unfold
from .functional import l2_penalty
from .hooks import BackwardHookError, RemovableHandle
from .lazy import (LazyBatchNorm1d, LazyBatchNorm2d, LazyConv1d, LazyConv2d, LazyConv3d,
                   LazyLinear, LazyModuleError, LazyModuleMixin, UninitializedParameter)
from .layers import Dropout, Flatten, Linear, Unflatten
from .more_losses import (CosineEmbeddingLoss, GaussianNLLLoss, HingeEmbeddingLoss,
                          MarginRankingLoss, MultiLabelSoftMarginLoss, PoissonNLLLoss,
                          SoftMarginLoss, TripletMarginLoss)
from .more_layers import (GLU, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, PixelShuffle,
                          PixelUnshuffle, PReLU, RMSNorm)
from .padding_layers import (CircularPad1d, CircularPad2d, CircularPad3d, ConstantPad1d,
                             ConstantPad2d, ConstantPad3d, ReflectionPad1d, ReflectionPad2d,
                             ReflectionPad3d, ReplicationPad1d, ReplicationPad2d,
                             ReplicationPad3d, ZeroPad1d, ZeroPad2d, ZeroPad3d)
from .losses import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss,
                     MSELoss, MulticlassHingeLoss, MultiMarginLoss, NLLLoss, SmoothL1Loss)
from .more_pool_layers import AdaptiveMaxPool1d, AdaptiveMaxPool2d, LPPool1d, LPPool2d
from .pool_layers import (AvgPool1d, AvgPool2d, AvgPool3d, MaxPool1d, MaxPool2d, MaxPool3d,
                          MaxUnpool1d, MaxUnpool2d, MaxUnpool3d)
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer,
                          TransformerEncoder, TransformerEncoderLayer)
from .shrink_layers import Hardshrink, RReLU, Softmax2d, Softshrink
from .more_dropout import AlphaDropout, Dropout1d, Dropout3d, FeatureAlphaDropout
from .small_layers import AdaptiveAvgPool1d, Bilinear, ChannelShuffle, LocalResponseNorm
from .resample_layers import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d
from .module import (IncompatibleKeys, Module, ModuleDict, ModuleList, Parameter,
                     ParameterDict, ParameterList, Sequential, StateDictError)

__all__ = [
    "Parameter", "Module", "Sequential", "ModuleList", "ModuleDict", "ParameterList",
    "ParameterDict", "StateDictError",
    "IncompatibleKeys", "RemovableHandle", "BackwardHookError",
    "Linear", "ReLU", "Sigmoid", "Tanh", "LeakyReLU", "Flatten", "Unflatten", "Dropout", "Identity",
    "GELU", "SiLU", "ELU", "SELU", "CELU", "Softplus", "LogSigmoid", "Hardtanh", "ReLU6",
    "Hardsigmoid", "Hardswish", "Mish", "Softsign", "Tanhshrink", "Threshold", "Softmax",
    "LogSoftmax", "Softmin",
    "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
    "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
    "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d", "AdaptiveAvgPool2d",
    "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "LPPool1d", "LPPool2d",
    "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d",
    "BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "Dropout2d",
    "LazyLinear", "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyBatchNorm1d", "LazyBatchNorm2d",
    "LazyModuleMixin", "LazyModuleError", "UninitializedParameter",
    "CrossEntropyLoss", "NLLLoss", "MulticlassHingeLoss", "MultiMarginLoss", "MSELoss", "L1Loss",
    "SmoothL1Loss", "HuberLoss", "KLDivLoss", "BCELoss", "BCEWithLogitsLoss",
    "l2_penalty", "functional", "init", "utils",
    "Embedding", "EmbeddingBag", "CosineSimilarity", "Unfold", "Fold",
    "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell",
    "MultiheadAttention",
    "TransformerEncoderLayer", "TransformerDecoderLayer", "TransformerEncoder",
    "TransformerDecoder", "Transformer",
    "PReLU", "GLU", "PixelShuffle", "PixelUnshuffle", "RMSNorm", "InstanceNorm1d",
    "InstanceNorm2d", "InstanceNorm3d", "PairwiseDistance",
    "ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
    "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d",
    "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d",
    "MarginRankingLoss", "SoftMarginLoss", "HingeEmbeddingLoss", "CosineEmbeddingLoss",
    "PoissonNLLLoss", "GaussianNLLLoss", "TripletMarginLoss", "MultiLabelSoftMarginLoss",
    "Hardshrink", "Softshrink", "AdaptiveAvgPool1d",
    "Softmax2d", "Dropout1d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout",
    "Bilinear", "ChannelShuffle", "LocalResponseNorm", "RReLU",
]
