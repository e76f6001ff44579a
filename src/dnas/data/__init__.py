"""Datasets for search and retraining, held in memory as tensors, and batch-level augmentation.

``load(name)`` gives a :class:`Dataset` for ``"mnist1d"`` (generated offline), ``"digits"``
(bundled with scikit-learn), ``"cifar10"`` (local files, read without executing pickled code) and
``"synthetic"``; :func:`search_split` cuts a training set into the w and α halves of DARTS;
:class:`Augment` crops, flips and cuts out on the batch's device.
"""

from dnas.data.augment import Augment
from dnas.data.cifar10 import CIFAR10_MEAN, CIFAR10_STD
from dnas.data.dataset import Dataset
from dnas.data.loaders import DATASETS, load
from dnas.data.split import search_split

__all__ = ["CIFAR10_MEAN", "CIFAR10_STD", "DATASETS", "Augment", "Dataset", "load", "search_split"]
