"""Searchable layers: drop-in ``torch.nn`` layers whose sizes may be :class:`dnas.ValueChoice`.

Widths, kernel sizes and expansion ratios are searched with weights shared across values (a
narrower layer is the first channels of the widest, a smaller kernel the centre of the largest);
the relaxation installed by ``method=`` mixes the values, and :func:`dnas.fix` turns each layer into
the plain ``torch.nn`` layer of the chosen size.

    Conv1d, Conv2d           in/out channels and kernel size (depthwise via groups=in_channels)
    Linear                   in/out features
    BatchNorm1d, BatchNorm2d num_features
    InvertedResidual         MobileNetV2 block: widths, kernel size, expansion ratio
"""

from dnas.nn.conv import Conv1d, Conv2d
from dnas.nn.inverted_residual import InvertedResidual
from dnas.nn.linear import Linear
from dnas.nn.norm import BatchNorm1d, BatchNorm2d

__all__ = ["BatchNorm1d", "BatchNorm2d", "Conv1d", "Conv2d", "InvertedResidual", "Linear"]
