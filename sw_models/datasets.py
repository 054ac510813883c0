"""Built-in datasets that ship with installed packages, so nothing is downloaded at run time.

`digits` is scikit-learn's 8x8 handwritten digits (1797 images), optionally upsampled to 28x28 so
MNIST topologies (Table 8.1's MNISTconv) apply unchanged. It is model_zoo.data's loader (numpy,
no torch), the one the shipped digitsconv was trained on; chapters 4-8 share it.
"""
from __future__ import annotations

from model_zoo.data import digits

__all__ = ["digits"]
