"""ctckit: building blocks for CTC sequence recognition in PyTorch.

Only the light core is imported here; subpackages (``ctckit.nn``,
``ctckit.data``, ``ctckit.decode``, ``ctckit.training``) load on first use.

Example:
    >>> import ctckit
    >>> len(ctckit.hw3p2_vocabulary())
    41
"""

from ctckit.errors import CTCKitError
from ctckit.vocab import Vocabulary, hw3p2_vocabulary

__version__ = "0.1.0"

__all__ = ["CTCKitError", "Vocabulary", "__version__", "hw3p2_vocabulary"]
