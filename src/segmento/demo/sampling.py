"""Vectorised draws shared by the generator's modules."""

from __future__ import annotations

import numpy as np


def choose_rows(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One column index per row of `weights` (n, k), drawn with that row's weights (not normalised)."""
    cumulative = np.cumsum(weights, axis=1)
    drawn = rng.random(len(weights)) * cumulative[:, -1]
    return (drawn[:, None] >= cumulative[:, :-1]).sum(axis=1)


def chance(rng: np.random.Generator, probability: np.ndarray | float, n: int | None = None) -> np.ndarray:
    """A boolean per row, true with that row's probability."""
    size = n if n is not None else len(probability)
    return rng.random(size) < probability


def poisson(rng: np.random.Generator, rate: np.ndarray) -> np.ndarray:
    """Counts per row, as int64 (numpy's Poisson with a per-row rate)."""
    return rng.poisson(rate).astype(np.int64)


def exponential_us(rng: np.random.Generator, mean_us: float, n: int) -> np.ndarray:
    """Delays in whole seconds (as microseconds), exponentially distributed."""
    return (rng.exponential(mean_us / 1_000_000, size=n).astype(np.int64) + 1) * 1_000_000
