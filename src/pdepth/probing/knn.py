"""k-nearest-neighbour probes: neighbour search (pynndescent or exact), self-exclusion by index, majority vote.

A training point never votes for itself: its own *index* is excluded (not any point at distance 0: the data hold exact
duplicates). The exact search leaves it out of its candidates; with pynndescent we ask for k+1 neighbours and drop it,
or, when the approximate search missed the point itself, the farthest of the k+1.
"""

import contextlib
import functools
import logging
import warnings
from dataclasses import dataclass, fields, replace

import numpy as np
import torch

from pdepth import schema
from pdepth.config.jobs import ProbeOptions

log = logging.getLogger(__name__)


# Support points per multiply, padded to a multiple of this: at 13,500 points the float32 multiply ran at 113-123
# GFLOP/s, at 13,504 at 161-169 (2 threads, benchmarks/knn_crossover.py's machine).
SUPPORT_ALIGNMENT = 64
# Support points per top-k in the transposed pass of among_themselves (a tile of tile x chunk floats: 4 MB at the
# default chunk); 128 to 1,024 ran alike.
TRANSPOSED_TILE = 512


@dataclass
class Neighbours:
    """Neighbour indices into the support set, nearest first; -1 marks a slot the search left empty."""

    indices: np.ndarray  # (n, k) int64
    distances: np.ndarray  # (n, k) float32


class ExactSupport:
    """The support set of a brute-force Euclidean k-NN search in torch, laid out once for every search against it.

    The support is padded to a multiple of :data:`SUPPORT_ALIGNMENT` points that are never chosen (‖s‖² = inf; were
    one ever in a top k, it comes back as -1) and kept transposed as a contiguous right operand: the multiply runs at
    the machine's rate then (docs/benchmarks.md)."""

    def __init__(self, support: np.ndarray, k: int, device: str | torch.device = "cpu"):
        if k > len(support):
            raise ValueError(f"{k} neighbours from {len(support)} support points: ask for at most as many as there are")
        self.points = torch.as_tensor(np.asarray(support), dtype=torch.float32, device=device)
        self.n, self.k, pad = len(self.points), k, -len(self.points) % SUPPORT_ALIGNMENT
        self.squares = torch.cat([(self.points * self.points).sum(1), torch.full((pad,), torch.inf, device=device)])
        self.transposed = self.points.new_zeros(self.points.shape[1], self.n + pad)  # contiguous: ~6% faster
        self.transposed[:, : self.n] = self.points.T

    def queries(self, queries: np.ndarray, chunk: int = 2048) -> Neighbours:
        """The k nearest support points of each query, ``chunk`` queries at a time (memory: chunk x support).

        Per chunk one multiply gives ‖s‖² − 2 q·s, which orders a query's candidates as the squared distance does
        (‖q‖² is the same for all of them), and a top-k picks the nearest; ‖q‖² is added to those k only."""
        buffer = torch.empty(min(chunk, len(queries)) * len(self.squares), device=self.squares.device)
        indices, distances = [torch.empty((0, self.k), dtype=torch.int64)], [torch.empty((0, self.k))]
        for start in range(0, len(queries), chunk):
            q = torch.as_tensor(np.asarray(queries[start : start + chunk]), dtype=torch.float32, device=self.device)
            partial = torch.addmm(
                self.squares, q, self.transposed, beta=1, alpha=-2, out=self._rows(buffer, len(q), len(self.squares))
            )
            values, idx = torch.topk(partial, self.k, dim=1, largest=False, sorted=True)
            indices.append(idx.cpu())
            distances.append((values + (q * q).sum(1, keepdim=True)).cpu())
        return self._neighbours(torch.cat(indices), torch.cat(distances), None)

    def among_themselves(self, chunk: int = 2048) -> Neighbours:
        """The k nearest other support points of each support point, itself excluded by index (not every point at
        distance 0: the data hold exact duplicates).

        Each pair's product is computed once: chunk i's rows are multiplied by the support from its own first point
        on (the block left of it came from the earlier chunks). Its rows take their top k from that product; the
        points right of the chunk take theirs from its transpose, merged into their running k best. Half the
        multiply of the search against every support point, for a second top-k over those products."""
        device, n, k = self.device, self.n, self.k
        if k >= n:
            raise ValueError(f"{k} neighbours of each of {n} support points among the others: ask for fewer than {n}")
        best = torch.full((n, k), torch.inf, device=device)
        best_idx = torch.full((n, k), -1, dtype=torch.int64, device=device)
        buffer = torch.empty(min(chunk, n) * len(self.squares), device=device)
        tile = torch.empty(TRANSPOSED_TILE * min(chunk, n), device=device)
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            products = torch.addmm(  # −2 a·b for a in the chunk, b from its first point on
                self.squares[start:],
                self.points[start:stop],
                self.transposed[:, start:],
                beta=0,
                alpha=-2,
                out=self._rows(buffer, stop - start, len(self.squares) - start),
            )
            for left in range(stop, n, TRANSPOSED_TILE):  # rows b right of the chunk: ‖a‖² − 2 a·b over the a
                right = min(n, left + TRANSPOSED_TILE)
                by_b = torch.add(
                    products[:, left - start : right - start].T,
                    self.squares[start:stop],
                    out=tile[: (right - left) * (stop - start)].view(right - left, stop - start),
                )
                values, idx = torch.topk(by_b, min(k, stop - start), dim=1, largest=False, sorted=False)
                best[left:right], best_idx[left:right] = _merged(
                    best[left:right], best_idx[left:right], values, idx + start
                )
            products.add_(self.squares[start:])  # rows a of the chunk: ‖b‖² − 2 a·b
            products.diagonal().fill_(torch.inf)  # the point itself
            values, idx = torch.topk(products, min(k, products.shape[1]), dim=1, largest=False, sorted=False)
            best[start:stop], best_idx[start:stop] = _merged(
                best[start:stop], best_idx[start:stop], values, idx + start
            )
        return self._neighbours(best_idx.cpu(), (best + self.squares[:n, None]).cpu(), torch.arange(n))

    @property
    def device(self) -> torch.device:
        return self.points.device

    @staticmethod
    def _rows(buffer: torch.Tensor, rows: int, width: int) -> torch.Tensor:
        """The first rows x width floats of ``buffer`` as a contiguous matrix (one buffer for every chunk)."""
        return buffer[: rows * width].view(rows, width)

    def _neighbours(self, idx: torch.Tensor, squared: torch.Tensor, own: torch.Tensor | None) -> Neighbours:
        """Squared distances to distances; a padding point (only where ‖s‖² overflowed float32 or a point holds NaN)
        or a row's own index (fewer real candidates than k) is an empty slot."""
        empty = (idx >= self.n) | (idx < 0)
        if own is not None:
            empty |= idx == own[:, None]
        idx[empty], squared[empty] = -1, torch.inf
        return Neighbours(idx.numpy().astype(np.int64), squared.clamp_min_(0).sqrt_().numpy().astype(np.float32))


def _merged(values, indices, new_values, new_indices):
    """The k smallest of two candidate lists per row (k = the first list's width), nearest first."""
    values, order = torch.topk(torch.cat([values, new_values], 1), values.shape[1], dim=1, largest=False, sorted=True)
    return values, torch.gather(torch.cat([indices, new_indices], 1), 1, order)


def exact_neighbours(
    support: np.ndarray, queries: np.ndarray, k: int, chunk: int = 2048, device: str | torch.device = "cpu"
) -> Neighbours:
    """Brute-force Euclidean k-NN of ``queries`` in ``support`` (:meth:`ExactSupport.queries`)."""
    return ExactSupport(support, k, device).queries(queries, chunk)


def drop_self(neighbours: Neighbours, self_index: np.ndarray) -> Neighbours:
    """From k+1 neighbours of support points, remove each query's own index (or, if absent, its farthest)."""
    is_self = neighbours.indices == self_index[:, None]
    keep = ~is_self
    keep[~is_self.any(1), -1] = False
    n, k_plus = neighbours.indices.shape
    return Neighbours(
        neighbours.indices[keep].reshape(n, k_plus - 1), neighbours.distances[keep].reshape(n, k_plus - 1)
    )


def vote(neighbour_labels: np.ndarray, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Majority vote of each row of neighbour labels (nearest first; -1 = empty slot).

    Returns (votes (n, C) counts, predicted class (n,)). Tie-break: among the classes with the most votes, the class of
    the nearest neighbour that belongs to one of them (deterministic, and the usual k-NN convention).
    """
    n = len(neighbour_labels)
    valid = neighbour_labels >= 0
    rows = np.repeat(np.arange(n), valid.sum(1))
    votes = np.bincount(rows * num_classes + neighbour_labels[valid], minlength=n * num_classes).reshape(n, -1)
    is_top = votes == votes.max(1, keepdims=True)
    candidate = np.take_along_axis(is_top, np.where(valid, neighbour_labels, 0), axis=1) & valid
    first = candidate.argmax(1)
    pred = neighbour_labels[np.arange(n), first]
    return votes, pred


@dataclass(frozen=True)
class ProbeSettings(ProbeOptions):
    """The ``probe`` block of the config (:meth:`defaults` gives the config's defaults), and where the search runs."""

    n_jobs: int = 1
    device: str = "cpu"
    start_pynndescent: bool = True  # False: every probe exact, pynndescent's start-up not worth paying (planned)
    # pdepth.probe_model's plan (docs/benchmarks.md, measured on the repository's 2-core machine): the exact search's
    # work (examples x support x dims) per second and thread, and the seconds numba's compilation of pynndescent
    # costs a process with its disk cache warm (a fresh environment's first process pays 115-167 s, once).
    exact_rate: float = 4.5e10
    pynndescent_startup: float = 20.0

    @classmethod
    def defaults(cls, **changes) -> "ProbeSettings":
        """The settings of the config's defaults (pdepth.schema), with ``changes``."""
        names = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in schema.defaults("probe").items() if key in names} | changes)

    def backend_for(self, examples: int, support_size: int, dims: int) -> str:
        """The search used for a probe of ``examples`` against ``support_size`` training examples in ``dims``."""
        on_gpu = not str(self.device).startswith("cpu")
        small = float(examples) * support_size * dims <= self.exact_work
        return "exact" if on_gpu or small or not self.start_pynndescent else self.backend

    def planned(self, examples: int, support_size: int, dims: list[int]) -> "ProbeSettings":
        """These settings for one model's probes of these ``dims`` (pdepth.probe_model): pynndescent only if the
        time it saves on the probes above ``exact_work``, each counted as its work beyond that bound at
        ``exact_rate`` per thread, wins back its start-up (``pynndescent_startup``). The plan reads the sizes and the
        threads only, never what the process has compiled: the same call on the same machine searches the same way."""
        if self.backend != "pynndescent" or not self.exact_work or not str(self.device).startswith("cpu"):
            return self  # exact_work 0: pynndescent wherever it can run
        beyond = sum(max(0.0, float(examples) * support_size * dim - self.exact_work) for dim in dims)
        saved = beyond / (self.exact_rate * max(1, self.n_jobs))
        return replace(self, start_pynndescent=saved > self.pynndescent_startup)

    def searches(self, examples: int, support_size: int, dims: list[int]) -> str:
        """What searched a model's probes of these ``dims``: one name, or one per probe where they differ."""
        used = [self.backend_for(examples, support_size, dim) for dim in dims]
        return used[0] if len(set(used)) == 1 else "per probe: " + ", ".join(used)

    def pynndescent_params(self) -> dict:
        """NNDescent's arguments; unset ones are left to pynndescent's own defaults."""
        params = {
            "n_neighbors": self.k + 1,
            "metric": "euclidean",
            "random_state": self.random_state,
            "n_trees": self.n_trees,
            "n_iters": self.n_iters,
            "n_jobs": self.n_jobs,
            "low_memory": True,
        }
        return {key: value for key, value in params.items() if value is not None}


def check_support(k: int, support_size: int) -> None:
    """A training point's k neighbours exclude itself, so the support needs more than k points (pynndescent would
    otherwise return fewer neighbours, and the exact search fail)."""
    if support_size <= k:
        raise ValueError(
            f"k={k} needs more than k training examples (in_train) to vote, got {support_size}: lower k or mark more "
            "examples as trained on"
        )


def training_and_query_neighbours(
    embedding: np.ndarray, in_train: np.ndarray, settings: ProbeSettings
) -> tuple[Neighbours, Neighbours]:
    """k neighbours, within this seed's training split, of (training points without themselves, all other points)."""
    train_idx = np.flatnonzero(in_train)
    k = settings.k
    check_support(k, len(train_idx))
    finite = np.isfinite(embedding).all(axis=1)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise ValueError(
            f"{len(bad)} example(s) have NaN or infinite values (the first: example {bad[0]}); their neighbours would "
            "be arbitrary: check the inputs, or the model's outputs for them"
        )
    support = np.ascontiguousarray(embedding[train_idx], dtype=np.float32)
    queries = np.ascontiguousarray(embedding[~in_train], dtype=np.float32)
    backend = settings.backend_for(len(embedding), len(support), embedding.shape[1])
    if backend == "exact":  # each training pair's distance once, itself excluded by index
        exact = ExactSupport(support, k, settings.device)
        return exact.among_themselves(settings.exact_chunk), exact.queries(queries, settings.exact_chunk)
    if backend != "pynndescent":
        raise ValueError(f"unknown k-NN backend {settings.backend!r}")
    from pynndescent import NNDescent  # numba compilation: import only where used

    cache_pynndescent_compilation()
    with uncacheable_quietly():  # k + 1 neighbours of the training points, which drop themselves
        index = NNDescent(support, **settings.pynndescent_params())
        graph = Neighbours(*(np.asarray(a) for a in index.neighbor_graph))  # built anyway: reused for training
        outside = (
            Neighbours(*index.query(queries, k=k, epsilon=settings.query_epsilon))
            if len(queries)
            else Neighbours(np.empty((0, k), np.int64), np.empty((0, k), np.float32))
        )
    return drop_self(graph, np.arange(len(support))), outside


@contextlib.contextmanager
def uncacheable_quietly():
    """Silence, while pynndescent runs, numba's warning for each function it cannot cache (expected: see below)."""
    import numba

    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Cannot cache compiled function", category=numba.core.errors.NumbaWarning
        )
        yield


@functools.cache
def cache_pynndescent_compilation() -> None:
    """Let numba cache on disk what pynndescent compiles uncached (``cache=False``), once per process.

    A fresh process's first NNDescent (5,000 x 784, 2 CPU cores) took 64 s without this cache and 25 s with it (every
    probe job after a venv's first). What cannot be cached (functions holding dynamic globals, or taking the distance
    function as an argument) is still compiled, as before. Cached code computes the same neighbours. This changes
    pynndescent's functions for the rest of the process (their compiled code is read from and written to numba's
    cache, in pynndescent's ``__pycache__``): a global change, kept because it is what makes probing affordable, and
    harmless to other users of pynndescent, whose results are the same.
    """
    import numba
    from numba.core.caching import NullCache
    from pynndescent import distances, pynndescent_, rp_trees, search, utils

    for module in (pynndescent_, utils, rp_trees, distances, search):
        for function in vars(module).values():
            if isinstance(function, numba.core.dispatcher.Dispatcher) and isinstance(function._cache, NullCache):
                function.enable_caching()


def vote_dtype(k: int) -> np.dtype:
    """The smallest unsigned integer type that holds a count of k votes (uint8 up to k = 255)."""
    return np.min_scalar_type(k)


def classify(
    inside: Neighbours, outside: Neighbours, in_train: np.ndarray, labels: np.ndarray, num_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Votes (N, C) counts (:func:`vote_dtype`) and k-NN class (N,) of every example from its neighbours' labels."""
    train_labels = labels[in_train]
    votes = np.zeros((len(labels), num_classes), dtype=vote_dtype(inside.indices.shape[1]))
    pred = np.zeros(len(labels), dtype=np.int16)
    for mask, neighbours in ((in_train, inside), (~in_train, outside)):
        if not mask.any():
            continue
        neighbour_labels = np.where(neighbours.indices >= 0, train_labels[neighbours.indices.clip(0)], -1)
        votes[mask], pred[mask] = vote(neighbour_labels, num_classes)
    return votes, pred


def probe(
    embedding: np.ndarray, in_train: np.ndarray, labels: np.ndarray, num_classes: int, settings: ProbeSettings
) -> tuple[np.ndarray, np.ndarray]:
    """Classify every example with the k-NN probe built on this seed's training split of one layer.

    Returns (votes (N, C) counts, knn_pred (N,)).
    """
    inside, outside = training_and_query_neighbours(embedding, in_train, settings)
    return classify(inside, outside, in_train, labels, num_classes)
