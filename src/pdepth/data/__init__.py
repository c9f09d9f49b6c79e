"""Datasets: locating raw files, verifying them, and the prepared on-disk format.

Importing this package registers every dataset (Fashion-MNIST, CIFAR-10, CIFAR-100, SVHN) in ``registry.DATASETS``.
"""

from pdepth.data import cifar, fmnist, svhn  # noqa: F401 (registration)
