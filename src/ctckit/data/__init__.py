"""Data: HW3P2 datasets, the CTC collator, a bucketing batch sampler, masking.

The synthetic-corpus generator lives in :mod:`ctckit.data.synth` and is not
imported here (it needs the ``synth`` extra).

Example:
    >>> from ctckit.data import CTCBatch, collate_ctc
    >>> CTCBatch.__name__
    'CTCBatch'
"""

from ctckit.data.augment import TimeFrequencyMask
from ctckit.data.collate import CTCBatch, collate_ctc
from ctckit.data.dataset import PhonemeDataset, UnlabeledDataset, Utterance
from ctckit.data.sampler import BucketBatchSampler

__all__ = [
    "BucketBatchSampler",
    "CTCBatch",
    "PhonemeDataset",
    "TimeFrequencyMask",
    "UnlabeledDataset",
    "Utterance",
    "collate_ctc",
]
