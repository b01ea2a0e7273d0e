"""Time distributions as fast samplers: a scenario names a family, mean and spread; the engine draws.

Drawing one number at a time from numpy costs about a microsecond; a simulated year draws millions, so
each sampler refills a block of values in one vectorised call and hands them out one by one. The values
and their order depend only on the generator's state, so runs stay reproducible.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from functools import partial

import numpy as np

from sim.scenario.schema import Dist

BLOCK = 4096

Sampler = Callable[[], float]


def lognormal_params(mean: float, cv: float) -> tuple[float, float]:
    """(mu, sigma) of the underlying normal for a lognormal with this mean and coefficient of variation."""
    sigma2 = math.log1p(cv * cv)
    return math.log(mean) - sigma2 / 2, math.sqrt(sigma2)


def _blocks(draw: Callable[[int], np.ndarray]) -> Iterator[float]:
    while True:
        yield from draw(BLOCK).tolist()


def sampler(dist: Dist, rng: np.random.Generator) -> Sampler:
    """A zero-argument callable returning the next draw of ``dist`` (in hours) from ``rng``."""
    mean, cv = dist.mean_h, dist.cv
    if dist.family == "fixed":
        return partial(next, itertools.repeat(float(mean)))
    if dist.family == "exponential":
        return exponential(mean, rng)
    if dist.family == "lognormal":
        mu, sigma = lognormal_params(mean, cv)
        return partial(next, _blocks(lambda n: rng.lognormal(mu, sigma, n)))
    shape = 1.0 / (cv * cv)
    return partial(next, _blocks(lambda n: rng.gamma(shape, mean / shape, n)))


def exponential(mean: float, rng: np.random.Generator) -> Sampler:
    return partial(next, _blocks(lambda n: rng.exponential(mean, n)))


def mean_of(dist: Dist) -> float:
    return dist.mean_h
