"""`minigrad.nn`: layers and models, with the names and weight layouts of `torch.nn`.

One file per kind, as in PyTorch: `module` (Module, Parameter), `container`, `layers`
(Linear), `conv`, `pooling`, `activation`, `batchnorm`, `normalization`, `sparse`
(Embedding), `rnn`, `attention` (MultiheadAttention, the Transformer encoder) and
`loss`; the functions they call are in `functional`, their ops in `minigrad/ops/`.
"""
from . import functional, init, utils
from .activation import (
    ELU,
    GELU,
    Hardtanh,
    LeakyReLU,
    LogSoftmax,
    Mish,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from .attention import MultiheadAttention, Transformer, TransformerEncoder, TransformerEncoderLayer
from .batchnorm import BatchNorm1d, BatchNorm2d
from .container import (
    Dropout,
    Flatten,
    Identity,
    ModuleDict,
    ModuleList,
    ParameterDict,
    ParameterList,
    Sequential,
    Unflatten,
)
from .conv import Conv1d, Conv2d
from .layers import Linear
from .loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from .module import Module, Parameter
from .normalization import GroupNorm, LayerNorm, RMSNorm
from .pooling import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AvgPool1d,
    AvgPool2d,
    MaxPool1d,
    MaxPool2d,
)
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from .sparse import Embedding

__all__ = [
    "functional", "init", "utils", "Module", "Parameter",
    # containers and plumbing
    "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict", "Identity",
    "Flatten", "Unflatten", "Dropout",
    # layers
    "Linear", "Conv1d", "Conv2d", "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
    "BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "RMSNorm", "Embedding",
    "RNNBase", "RNN", "GRU", "LSTM", "RNNCellBase", "RNNCell", "GRUCell", "LSTMCell",
    "MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder", "Transformer",
    # activations
    "ReLU", "ReLU6", "Tanh", "Sigmoid", "GELU", "SiLU", "Mish", "LeakyReLU", "ELU",
    "Softplus", "Hardtanh", "Softmax", "LogSoftmax",
    # losses
    "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "CrossEntropyLoss", "NLLLoss",
    "BCELoss", "BCEWithLogitsLoss", "KLDivLoss",
]
