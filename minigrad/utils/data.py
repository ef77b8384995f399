"""`minigrad.utils.data`: datasets, samplers and the DataLoader, as `torch.utils.data`.

A dataset answers `len(ds)` and `ds[i]`. A sampler says in which order to visit the
indices, a BatchSampler groups them, and the DataLoader fetches each group of samples and
lets `default_collate` merge them into batch tensors:

    loader = DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True)
    for X_batch, y_batch in loader: ...

Everything runs in the main process: minigrad has no worker processes.
"""
import bisect
import collections.abc as abc
import copy
import itertools
import math
import warnings

import numpy as np

from .. import creation, dtypes as _dt
from ..tensor import Tensor, stack

__all__ = ["Dataset", "TensorDataset", "ConcatDataset", "Subset", "random_split",
           "Sampler", "SequentialSampler", "RandomSampler", "BatchSampler",
           "default_collate", "default_convert", "DataLoader"]


# ------------------------------------------------------------------------ datasets

class Dataset:
    """A map-style dataset: a subclass defines `__getitem__(index)`, returning one sample,
    and `__len__()`. `a + b` chains two datasets into a ConcatDataset, as in PyTorch."""

    def __getitem__(self, index):
        raise NotImplementedError(
            f"{type(self).__name__} must define __getitem__(self, index) to return a sample")

    def __len__(self):
        # a TypeError, as len() gives in PyTorch, whose Dataset has no __len__ at all
        raise TypeError(f"{type(self).__name__} must define __len__(self) to return the "
                        "number of samples: the samplers and DataLoader need it")

    def __add__(self, other):
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Tensors cut into rows: `ds[i]` is the tuple `(t[i] for t in tensors)`, as in PyTorch."""

    def __init__(self, *tensors):
        sizes = [t.size(0) for t in tensors]
        if len(set(sizes)) > 1:
            # AssertionError, as PyTorch raises (an `assert` would vanish under python -O)
            raise AssertionError(
                f"Size mismatch between tensors: TensorDataset got first dimensions {sizes}; "
                "every tensor needs one row per sample, so their first dimensions must agree")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].size(0)


class ConcatDataset(Dataset):
    """The samples of several datasets one after another, as in PyTorch;
    `cumulative_sizes[k]` is the index where dataset k ends."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable: "
                                 "give ConcatDataset a list of at least one dataset")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        # PyTorch's error types: ValueError below -len, IndexError from len up
        if index < -len(self):
            raise ValueError(f"index {index}: absolute value of index should not exceed "
                             f"dataset length ({len(self)})")
        if index >= len(self):
            raise IndexError(f"index {index} is out of range for a ConcatDataset of "
                             f"length {len(self)}")
        index %= len(self)
        k = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[k - 1] if k else 0
        return self.datasets[k][index - start]


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order: `subset[i]` is
    `dataset[indices[i]]`, and a list of positions asks the dataset for several at once,
    as in PyTorch."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index):
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self):
        return len(self.indices)


def random_split(dataset, lengths, generator=None):
    """Split `dataset` into non-overlapping Subsets of the given `lengths`, its indices
    shuffled by `generator` (a minigrad.Generator) or else the global generator.

    Fractions that sum to 1 become `floor(fraction * len(dataset))` samples each, and the
    samples those floors leave over go one at a time to the splits in turn, from the first
    (round-robin), as in PyTorch: 10 samples split [0.33, 0.33, 0.34] give [4, 3, 3].
    """
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        lengths = _lengths_from_fractions(lengths, len(dataset))
    _check_lengths(lengths, len(dataset))
    order = creation.generator(generator).permutation(len(dataset)).tolist()
    ends = itertools.accumulate(lengths)
    return [Subset(dataset, order[end - n:end]) for end, n in zip(ends, lengths)]


def _lengths_from_fractions(fractions, size):
    for i, fraction in enumerate(fractions):
        if not 0 <= fraction <= 1:
            raise ValueError(f"Fraction at index {i} is not between 0 and 1 (it is "
                             f"{fraction}); give fractions that sum to 1, or whole lengths")
    lengths = [math.floor(size * fraction) for fraction in fractions]
    for i in range(size - sum(lengths)):
        lengths[i % len(lengths)] += 1
    for i, n in enumerate(lengths):
        if n == 0:
            warnings.warn(f"Length of split at index {i} is 0. This might result in an "
                          "empty dataset.", stacklevel=3)
    return lengths


def _check_lengths(lengths, size):
    if sum(lengths) != size:
        raise ValueError(
            f"Sum of input lengths does not equal the length of the input dataset! The "
            f"lengths {list(lengths)} sum to {sum(lengths)}, the dataset has {size} samples; "
            "give lengths that add up to it, or fractions that sum to 1")
    for n in lengths:
        if not isinstance(n, (int, np.integer)):
            raise TypeError(f"random_split: the length {n!r} is not a whole number of "
                            "samples; give integers, or fractions that sum to 1")
        if n < 0:   # PyTorch accepts these and returns overlapping splits
            raise ValueError(f"random_split: the length {n} is negative; lengths count "
                             "samples, so each must be 0 or more")


# ------------------------------------------------------------------------ samplers

class Sampler:
    """The base of samplers, as `torch.utils.data.Sampler`: an iterable of dataset
    indices (of lists of indices, for a batch sampler), usually with a `__len__`."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__(self) "
                                  "to yield dataset indices")


class SequentialSampler(Sampler):
    """The indices 0, 1, ..., len(data_source) - 1, the same every epoch."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """The indices in a random order, drawn afresh every time it is iterated (every
    epoch) from `generator`, or else the global generator (seeded by manual_seed).

    As in PyTorch: without replacement, `num_samples` beyond len(data_source) is made of
    further whole permutations; with replacement, every index is drawn independently.
    The order differs from PyTorch's for the same seed: the numbers are NumPy's.
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(replacement, bool):
            raise TypeError("replacement should be a boolean value, but got "
                            f"replacement={replacement!r}; pass True or False")
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError("num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples!r} (is the dataset empty?)")

    @property
    def num_samples(self):
        # looked up at each use, as in PyTorch: the dataset may change size
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n, rng = len(self.data_source), creation.generator(self.generator)
        if self.replacement:
            yield from rng.integers(0, n, size=self.num_samples).tolist()
            return
        whole, rest = divmod(self.num_samples, n)
        for _ in range(whole):
            yield from rng.permutation(n).tolist()
        yield from rng.permutation(n)[:rest].tolist()

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of `sampler` into lists of `batch_size`; a shorter last list is
    kept unless `drop_last`, as in PyTorch."""

    def __init__(self, sampler, batch_size, drop_last):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(
                "batch_size should be a positive integer value, but got "
                f"batch_size={batch_size!r} (to load samples one by one, unbatched, give "
                "DataLoader batch_size=None)")
        if not isinstance(drop_last, bool):
            raise ValueError("drop_last should be a boolean value, but got "
                             f"drop_last={drop_last!r}; pass True or False")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self):
        indices = iter(self.sampler)
        while batch := list(itertools.islice(indices, self.batch_size)):
            if len(batch) == self.batch_size or not self.drop_last:
                yield batch

    def __len__(self):
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size


# ------------------------------------------------------------------------- collate

_CANNOT_COLLATE = ("default_collate: batch must contain tensors, numpy arrays, numbers, "
                   "dicts or lists; found {}. Give DataLoader a collate_fn that can batch it")


def default_collate(batch):
    """Merge a list of samples into one batch, by PyTorch's rules.

    Tensors are stacked along a new first dimension; NumPy arrays become tensors and are
    stacked; NumPy scalars keep their dtype; Python ints give an int64 tensor (bools a
    bool one) and Python floats a *float64* tensor, not the float32 of `tensor([...])`;
    strings and bytes are left as they are. Dicts are collated key by key and sequences
    position by position: lists, dicts and namedtuples keep their type, but plain tuples
    become lists (PyTorch keeps that for backwards compatibility).
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(batch)
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in "SUO":
            raise TypeError(_CANNOT_COLLATE.format(elem.dtype.str))
        return stack([Tensor(array) for array in batch])
    if isinstance(elem, (np.bool_, np.number)):   # before float: np.float64 is a float
        return Tensor(np.asarray(batch))
    if isinstance(elem, float):
        return creation.tensor(batch, dtype=_dt.float64)
    if isinstance(elem, int):
        return creation.tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, abc.Mapping):
        return _like(elem, {key: default_collate([d[key] for d in batch]) for key in elem})
    if isinstance(elem, abc.Sequence):
        if any(len(sample) != len(elem) for sample in batch):
            raise RuntimeError(
                "each element in list of batch should be of equal size, but the samples "
                f"have lengths {[len(sample) for sample in batch]}; make them equal (pad "
                "them), or give DataLoader a collate_fn that handles them")
        return _like(elem, [default_collate(samples) for samples in zip(*batch)])
    raise TypeError(_CANNOT_COLLATE.format(type(elem)))


def default_convert(data):
    """What DataLoader does to each sample when batch_size=None (no batching), as in
    PyTorch: NumPy arrays (sharing memory) and scalars become tensors, containers are
    converted inside, and everything else, Python numbers included, is left as it is."""
    if isinstance(data, np.ndarray) and data.dtype.kind not in "SUO":
        return Tensor(data)
    if isinstance(data, (np.bool_, np.number)):
        return Tensor(np.asarray(data))
    if isinstance(data, abc.Mapping):
        return _like(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, abc.Sequence) and not isinstance(data, (str, bytes)):
        return _like(data, [default_convert(item) for item in data])
    return data


def _like(elem, parts):
    """`parts` (a dict or list) in a container of `elem`'s type, where PyTorch keeps it:
    namedtuples and mutable mappings and sequences keep their type, tuples become lists."""
    if isinstance(elem, tuple):
        return type(elem)(*parts) if hasattr(elem, "_fields") else parts
    if isinstance(elem, (abc.MutableMapping, abc.MutableSequence)):
        clone = copy.copy(elem)
        for key in (parts if isinstance(parts, dict) else range(len(parts))):
            clone[key] = parts[key]
        return clone
    try:
        return type(elem)(parts)
    except TypeError:
        return parts


# ---------------------------------------------------------------------- DataLoader

class DataLoader:
    """Iterates over `dataset` in batches, as `torch.utils.data.DataLoader`.

    Every epoch (every `for batch in loader`), the sampler gives the indices (in order, or
    a fresh random permutation when `shuffle=True`, drawn from `generator` or else the
    global generator), the batch sampler groups them by `batch_size` (dropping a short
    last batch if `drop_last`), and `collate_fn` (default_collate) merges the samples.
    `batch_size=None` turns batching off: samples come one by one through default_convert.
    `len(loader)` is the number of batches: ceil(len(dataset) / batch_size), floor with
    drop_last.

    Unlike PyTorch, minigrad always loads data in the main process: `num_workers` must
    stay 0. `drop_last` and `generator` are keyword-only here (PyTorch has other
    arguments between them, which minigrad lacks).
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None,
                 batch_sampler=None, num_workers=0, collate_fn=None, *, drop_last=False,
                 generator=None):
        _check_workers(num_workers)
        _check_options(batch_size, shuffle, sampler, batch_sampler, drop_last)
        if batch_sampler is not None:
            batch_size, drop_last = None, False
        if sampler is None:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert
        self.dataset, self.num_workers, self.generator = dataset, num_workers, generator
        self.batch_size, self.drop_last = batch_size, drop_last
        self.sampler, self.batch_sampler, self.collate_fn = sampler, batch_sampler, collate_fn

    def __iter__(self):
        if self.batch_sampler is None:
            for index in self.sampler:
                yield self.collate_fn(self.dataset[index])
        else:
            for indices in self.batch_sampler:
                yield self.collate_fn([self.dataset[i] for i in indices])

    def __len__(self):
        return len(self.sampler if self.batch_sampler is None else self.batch_sampler)


def _check_workers(num_workers):
    if num_workers < 0:
        raise ValueError("num_workers option should be non-negative; "
                         "use num_workers=0 to disable multiprocessing.")
    if num_workers > 0:
        raise NotImplementedError(
            f"DataLoader(num_workers={num_workers}): minigrad loads data in the main "
            "process, with no worker processes; pass num_workers=0 (the default)")


def _check_options(batch_size, shuffle, sampler, batch_sampler, drop_last):
    """PyTorch's ValueErrors for DataLoader options that contradict each other."""
    if sampler is not None and shuffle:
        raise ValueError("sampler option is mutually exclusive with shuffle: the sampler "
                         "decides the order; leave shuffle=False")
    if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None
                                      or drop_last):
        raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                         "shuffle, sampler, and drop_last: the batch sampler makes the "
                         "batches; leave those at their defaults")
    if batch_sampler is None and batch_size is None and drop_last:
        raise ValueError("batch_size=None option disables auto-batching and is mutually "
                         "exclusive with drop_last; give a batch_size, or drop_last=False")
