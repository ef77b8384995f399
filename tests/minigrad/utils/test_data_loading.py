"""minigrad.utils.data against torch.utils.data.

Most tests are programs written once with PyTorch's names, `program(T)` with `T` being
`torch` or `minigrad`, that must give the same batches (types, shapes, dtypes, values) or
raise the same kind of exception. Shuffling draws different random numbers from
PyTorch's, so it is tested by its properties instead.
"""
import collections
import pathlib
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

import minigrad
from mgtest import assert_same_outcome

ROOT = pathlib.Path(__file__).parents[3]
Point = collections.namedtuple("Point", "x y")


def plain(value):
    """A batch as nested lists that record each container's type, so that a tuple where
    PyTorch gives a list (or an OrderedDict where it gives a dict) fails the comparison."""
    if isinstance(value, collections.abc.Mapping):
        return [type(value).__name__] + [[key, plain(value[key])] for key in value]
    if isinstance(value, (list, tuple)):
        return [type(value).__name__] + [plain(item) for item in value]
    return value


def batches(T, dataset, **options):
    loader = T.utils.data.DataLoader(dataset, **options)
    return [len(loader), [plain(batch) for batch in loader]]


def rows(T, n=10):
    """A TensorDataset of n rows: an int64 column, a float32 matrix, a float64 column."""
    return T.utils.data.TensorDataset(T.arange(n), T.arange(3 * n).reshape(n, 3).float(),
                                      T.arange(n).double() / 2)


def raises_same(program, kind):
    """Both libraries raise exactly `kind` (mgtest accepts any Exception for kinds it
    does not list, such as AssertionError)."""
    t_error, m_error = assert_same_outcome(program)
    assert type(t_error) is kind, f"PyTorch raised {type(t_error).__name__}"
    assert type(m_error) is kind, f"minigrad raised {type(m_error).__name__}: {m_error}"
    return m_error


def test_importing_utils_imports_data():
    code = "import minigrad.utils as u; print(u.data.DataLoader.__name__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT)
    assert done.stdout.strip() == "DataLoader", done.stderr


# ---------------------------------------------------------------- unshuffled loading

@pytest.mark.parametrize("batch_size", [1, 3, 4, 10, 11])
@pytest.mark.parametrize("drop_last", [False, True])
def test_unshuffled_batches_and_len(batch_size, drop_last):
    assert_same_outcome(lambda T: batches(T, rows(T), batch_size=batch_size,
                                          drop_last=drop_last))


def test_default_batch_size_is_one():
    assert_same_outcome(lambda T: batches(T, rows(T, 3)))


def test_batch_size_none_gives_samples_unbatched():
    assert_same_outcome(lambda T: batches(T, rows(T, 4), batch_size=None))


def test_batch_size_none_leaves_numbers_and_converts_arrays():
    samples = [(1.5, np.arange(3, dtype=np.float32), np.float64(2), "a"),
               (2.5, np.arange(3, dtype=np.float32), np.float64(3), "b")]
    assert_same_outcome(lambda T: batches(T, samples, batch_size=None))


def test_a_list_is_a_dataset():
    assert_same_outcome(lambda T: batches(T, [3, 1, 4, 1, 5], batch_size=2))


def test_custom_dataset_of_dicts():
    def program(T):
        class Squares(T.utils.data.Dataset):
            def __getitem__(self, i):
                return {"x": T.tensor([i, i + 1.0]), "y": i * i, "name": f"n{i}"}

            def __len__(self):
                return 5
        return batches(T, Squares(), batch_size=2)
    assert_same_outcome(program)


def test_explicit_samplers():
    def program(T):
        D = T.utils.data
        data = rows(T, 7)
        by_sampler = batches(T, data, batch_size=3, sampler=[6, 0, 5, 1])
        by_batches = batches(T, data, batch_sampler=[[0, 1], [4], [6, 5, 3]])
        sequential = D.BatchSampler(D.SequentialSampler(data), 3, drop_last=False)
        dropping = D.BatchSampler(range(7), batch_size=3, drop_last=True)
        return [by_sampler, by_batches, list(sequential), len(sequential), list(dropping),
                len(dropping), list(D.SequentialSampler(data)), len(D.SequentialSampler(data))]
    assert_same_outcome(program)


def test_custom_collate_fn_gets_the_list_of_samples():
    def program(T):
        return batches(T, rows(T, 5), batch_size=2, collate_fn=lambda samples: len(samples))
    assert_same_outcome(program)


def test_shuffled_batches_have_the_same_shapes_dtypes_and_contents():
    def program(T):
        loader = T.utils.data.DataLoader(rows(T), batch_size=4, shuffle=True)
        epoch = list(loader)
        shapes = [[tuple(t.shape) for t in batch] for batch in epoch]
        index = T.cat([batch[0] for batch in epoch])
        return [len(loader), shapes, sorted(index.tolist()), epoch[0][1].dtype,
                epoch[0][2].dtype]
    assert_same_outcome(program)


# ------------------------------------------------------------------------ collate

COLLATE_CASES = {
    "python floats are float64": lambda T: [1.0, 2.5],
    "python ints are int64": lambda T: [1, 2],
    "bools": lambda T: [True, False],
    "int first, then a float": lambda T: [1, 2.5],
    "float first, then an int": lambda T: [2.5, 1],
    "tensors are stacked": lambda T: [T.tensor([1.0, 2.0]), T.tensor([3.0, 4.0])],
    "0-d tensors": lambda T: [T.tensor(1), T.tensor(2)],
    "float64 tensors": lambda T: [T.zeros(2, 3, dtype=T.float64)] * 2,
    "float32 arrays": lambda T: [np.ones(2, np.float32), np.zeros(2, np.float32)],
    "float64 arrays": lambda T: [np.ones((2, 2)), np.zeros((2, 2))],
    "int64 arrays": lambda T: [np.arange(3), np.arange(3, 6)],
    "0-d arrays": lambda T: [np.array(1.0), np.array(2.0)],
    "numpy float32 scalars": lambda T: [np.float32(1), np.float32(2)],
    "numpy float64 scalars": lambda T: [np.float64(1), np.float64(2)],
    "numpy int64 scalars": lambda T: [np.int64(1), np.int64(2)],
    "numpy bools": lambda T: [np.bool_(True), np.bool_(False)],
    "strings stay a list": lambda T: ["a", "b", "c"],
    "bytes stay a list": lambda T: [b"a", b"b"],
    "tuples become lists": lambda T: [(T.tensor([1.0]), 2, "a"), (T.tensor([3.0]), 4, "b")],
    "lists stay lists": lambda T: [[1, 2.0], [3, 4.0]],
    "dicts key by key": lambda T: [{"x": T.ones(2), "y": 1}, {"x": T.zeros(2), "y": 2}],
    "nested dict of tuples": lambda T: [{"a": (1, 2.0)}, {"a": (3, 4.0)}],
    "OrderedDict keeps its type": lambda T: [collections.OrderedDict(a=1, b=2.0)] * 2,
    "namedtuple keeps its type": lambda T: [Point(1, 2.0), Point(3, 4.0)],
    "range becomes a list": lambda T: [range(2), range(2)],
    "tuple of (array, label)": lambda T: [(np.ones(3, np.float32), 0),
                                          (np.zeros(3, np.float32), 1)],
}


@pytest.mark.parametrize("case", COLLATE_CASES)
def test_default_collate(case):
    assert_same_outcome(lambda T: plain(T.utils.data.default_collate(COLLATE_CASES[case](T))))


def test_python_floats_collate_to_float64():
    batch = minigrad.utils.data.default_collate([0.5, 1.5])
    assert batch.dtype == minigrad.float64
    assert torch.utils.data.default_collate([0.5, 1.5]).dtype == torch.float64


@pytest.mark.parametrize("case", COLLATE_CASES)
def test_default_convert(case):
    sample = COLLATE_CASES[case]
    assert_same_outcome(lambda T: plain(T.utils.data.default_convert(sample(T))))


COLLATE_ERRORS = {
    "sequences of different lengths": ([[1, 2], [3]], RuntimeError),
    "tuples of different lengths": ([(1, 2), (3,)], RuntimeError),
    "tensors of different shapes": (None, RuntimeError),
    "an object": ([object()], TypeError),
    "None": ([None, None], TypeError),
    "an array of strings": ([np.array(["a"]), np.array(["b"])], TypeError),
}


@pytest.mark.parametrize("case", COLLATE_ERRORS)
def test_default_collate_errors(case):
    batch, kind = COLLATE_ERRORS[case]

    def program(T):
        return T.utils.data.default_collate(batch or [T.zeros(2), T.zeros(3)])
    t_error, m_error = assert_same_outcome(program)
    assert isinstance(t_error, kind) and isinstance(m_error, kind)


def test_collate_errors_say_what_to_do():
    collate = minigrad.utils.data.default_collate
    with pytest.raises(RuntimeError, match=r"lengths \[2, 1\].*collate_fn"):
        collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="NoneType.*collate_fn"):
        collate([None])


# ----------------------------------------------------------------------- datasets

def test_tensor_dataset_indexing():
    assert_same_outcome(lambda T: [len(rows(T)), plain(rows(T)[3]), plain(rows(T)[-1]),
                                   plain(rows(T)[2:5])])


def test_tensor_dataset_sizes_must_agree():
    error = raises_same(lambda T: T.utils.data.TensorDataset(T.zeros(3), T.zeros(4, 2)),
                        AssertionError)
    assert "[3, 4]" in str(error)


def test_tensor_dataset_index_out_of_range():
    assert_same_outcome(lambda T: rows(T)[10])


def test_subset_indexing():
    def program(T):
        subset = T.utils.data.Subset(rows(T), [7, 2, 9, 0])
        return [len(subset), plain(subset[0]), plain(subset[-1]), plain(subset[[1, 3]]),
                batches(T, subset, batch_size=3)]
    assert_same_outcome(program)


def test_subset_index_out_of_range():
    assert_same_outcome(lambda T: T.utils.data.Subset(rows(T), [1, 2])[2])


@pytest.mark.parametrize("index", [0, 9, 10, 12, -1, -3, -13])
def test_concat_dataset_indexing(index):
    def program(T):
        D = T.utils.data
        both = D.ConcatDataset([rows(T), D.TensorDataset(T.arange(100, 103),
                                                         T.ones(3, 3), T.zeros(3).double())])
        return [len(both), both.cumulative_sizes, plain(both[index])]
    assert_same_outcome(program)


@pytest.mark.parametrize("index", [13, 20, -14])
def test_concat_dataset_index_out_of_range(index):
    def program(T):
        return T.utils.data.ConcatDataset([rows(T), rows(T, 3)])[index]
    assert_same_outcome(program)


def test_concat_dataset_needs_a_dataset():
    raises_same(lambda T: T.utils.data.ConcatDataset([]), AssertionError)


def test_adding_datasets_concatenates_them():
    def program(T):
        both = rows(T, 3) + rows(T, 2)
        return [type(both).__name__, len(both), batches(T, both, batch_size=2)]
    assert_same_outcome(program)


def test_dataset_without_getitem_or_len():
    def no_getitem(T):
        class Empty(T.utils.data.Dataset):
            pass
        return Empty()[0]

    def no_len(T):
        class Empty(T.utils.data.Dataset):
            pass
        return len(Empty())
    raises_same(no_getitem, NotImplementedError)
    raises_same(no_len, TypeError)


# ------------------------------------------------------------------- random_split

SPLITS = {
    "integers": (10, [3, 7]),
    "tuple of integers": (10, (5, 0, 5)),
    "numpy integers": (10, [np.int64(4), 6]),
    "fractions": (10, [0.3, 0.7]),
    "remainder round-robin": (10, [0.33, 0.33, 0.34]),
    "thirds": (10, [1 / 3] * 3),
    "tenths": (10, [0.1] * 10),
    "halves of an odd length": (7, [0.5, 0.5]),
    "small fractions": (5, [0.15, 0.15, 0.7]),
    "one fraction": (4, [1.0]),
}


@pytest.mark.parametrize("case", SPLITS)
def test_random_split_lengths(case):
    n, lengths = SPLITS[case]

    def program(T):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            parts = T.utils.data.random_split(rows(T, n), lengths)
        return [[len(part) for part in parts], [str(w.message) for w in caught]]
    assert_same_outcome(program)


def test_random_split_warns_of_an_empty_split():
    def program(T):
        with pytest.warns(UserWarning, match="index 0 is 0") as caught:
            T.utils.data.random_split(rows(T), [0.0, 1.0])
        return [str(w.message) for w in caught]
    assert_same_outcome(program)


@pytest.mark.parametrize("lengths, kind", [([3, 8], ValueError), ([0.5, 0.6], ValueError),
                                           ([1.1, -0.1], ValueError), ([], ValueError),
                                           ([2.5, 7.5], TypeError)])
def test_random_split_bad_lengths(lengths, kind):
    raises_same(lambda T: T.utils.data.random_split(rows(T), lengths), kind)


def test_random_split_refuses_negative_lengths():
    # PyTorch accepts [-1, 11] and returns splits of 9 and 1 samples; minigrad refuses
    with pytest.raises(ValueError, match="negative"):
        minigrad.utils.data.random_split(rows(minigrad), [-1, 11])


def test_random_split_partitions_the_dataset():
    D = minigrad.utils.data
    parts = D.random_split(list(range(20)), [0.25, 0.75],
                           generator=minigrad.Generator().manual_seed(3))
    taken = [parts[k][i] for k in range(2) for i in range(len(parts[k]))]
    assert sorted(taken) == list(range(20))
    again = D.random_split(list(range(20)), [5, 15], generator=minigrad.Generator().manual_seed(3))
    assert [p.indices for p in again] == [p.indices for p in parts]
    assert parts[0].indices + parts[1].indices != list(range(20))


# ---------------------------------------------------------------- DataLoader options

BAD_OPTIONS = {
    "negative num_workers": dict(num_workers=-1),
    "shuffle and sampler": dict(shuffle=True, sampler=[0, 1]),
    "batch_sampler and batch_size": dict(batch_sampler=[[0]], batch_size=2),
    "batch_sampler and drop_last": dict(batch_sampler=[[0]], drop_last=True),
    "batch_sampler and shuffle": dict(batch_sampler=[[0]], shuffle=True),
    "batch_size None and drop_last": dict(batch_size=None, drop_last=True),
    "batch_size 0": dict(batch_size=0),
    "batch_size as a float": dict(batch_size=2.0),
    "drop_last not a bool": dict(drop_last=1),
}


@pytest.mark.parametrize("case", BAD_OPTIONS)
def test_contradicting_options(case):
    raises_same(lambda T: T.utils.data.DataLoader(rows(T), **BAD_OPTIONS[case]), ValueError)


def test_random_sampler_arguments():
    raises_same(lambda T: T.utils.data.RandomSampler(rows(T), replacement=1), TypeError)
    raises_same(lambda T: T.utils.data.RandomSampler(rows(T), num_samples=0), ValueError)
    raises_same(lambda T: T.utils.data.DataLoader([], shuffle=True), ValueError)
    assert_same_outcome(lambda T: [len(T.utils.data.RandomSampler(rows(T), num_samples=25)),
                                   len(T.utils.data.DataLoader(rows(T), batch_size=4,
                                                               shuffle=True))])


def test_workers_are_refused_with_a_reason():
    with pytest.raises(NotImplementedError, match="main process.*num_workers=0"):
        minigrad.utils.data.DataLoader(rows(minigrad), num_workers=2)


# ------------------------------------------------------------------------ shuffling

def epoch(loader):
    return minigrad.cat([batch[0] for batch in loader]).tolist()


def shuffled(n=20, generator=None, batch_size=6):
    return minigrad.utils.data.DataLoader(rows(minigrad, n), batch_size=batch_size,
                                          shuffle=True, generator=generator)


def test_every_epoch_is_a_permutation_and_epochs_differ():
    loader = shuffled(generator=minigrad.Generator().manual_seed(0))
    orders = [epoch(loader) for _ in range(3)]
    for order in orders:
        assert sorted(order) == list(range(20))
    assert orders[0] != list(range(20))
    assert orders[0] != orders[1] != orders[2]


def test_generators_seeded_alike_give_the_same_order():
    first = shuffled(generator=minigrad.Generator().manual_seed(7))
    second = shuffled(generator=minigrad.Generator().manual_seed(7), batch_size=4)
    other = shuffled(generator=minigrad.Generator().manual_seed(8))
    assert [epoch(first) for _ in range(2)] == [epoch(second) for _ in range(2)]
    assert epoch(shuffled(generator=minigrad.Generator().manual_seed(7))) != epoch(other)


def test_manual_seed_makes_the_unseeded_loader_reproducible():
    loader = shuffled()
    minigrad.manual_seed(11)
    first = [epoch(loader), epoch(loader)]
    minigrad.manual_seed(11)
    assert [epoch(loader), epoch(loader)] == first
    assert first[0] != first[1]


def test_shuffled_rows_stay_together():
    for ints, floats, halves in shuffled(generator=minigrad.Generator().manual_seed(1)):
        np.testing.assert_array_equal(floats.numpy()[:, 0], 3 * ints.numpy())
        np.testing.assert_array_equal(halves.numpy(), ints.numpy() / 2)


def test_random_sampler_with_more_samples_than_the_dataset():
    sampler = minigrad.utils.data.RandomSampler(range(4), num_samples=10,
                                                generator=minigrad.Generator().manual_seed(2))
    drawn = list(sampler)
    assert len(drawn) == len(sampler) == 10
    assert sorted(drawn[:4]) == sorted(drawn[4:8]) == [0, 1, 2, 3]
    assert set(drawn[8:]) <= {0, 1, 2, 3} and len(set(drawn[8:])) == 2


def test_random_sampler_with_replacement():
    sampler = minigrad.utils.data.RandomSampler(range(3), replacement=True, num_samples=50,
                                                generator=minigrad.Generator().manual_seed(4))
    drawn = list(sampler)
    assert len(drawn) == 50 and set(drawn) == {0, 1, 2}
