"""Datasets for search and retraining, held in memory as tensors, and batch-level augmentation.

``load(name)`` gives a :class:`Dataset` for ``"mnist1d"`` (generated offline), ``"digits"``
(bundled with scikit-learn), ``"cifar10"`` (local files, read without executing pickled code),
``"synthetic"``, and a user's own data from a path (an ``.npz`` file, a pair of ``.npy`` files,
CSV, an image folder: :mod:`dnas.data.files`); :func:`search_split` cuts a training set into the w
and α halves of DARTS; :class:`Augment` crops, flips and cuts out on the batch's device.
"""

from dnas.data.augment import Augment
from dnas.data.cifar10 import CIFAR10_MEAN, CIFAR10_STD
from dnas.data.dataset import Dataset
from dnas.data.loaders import DATASETS, is_path, load
from dnas.data.split import search_split

__all__ = [
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "DATASETS",
    "Augment",
    "Dataset",
    "is_path",
    "load",
    "search_split",
]
