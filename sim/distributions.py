"""Time distributions as transforms of a standard normal draw: a scenario names a family, mean and
spread; the engine hands each transform a draw that belongs to one request.

Every time the engine draws (a handling time, a notice delay, a referral's delay) comes from the
request's own sequence of standard normal variates, drawn when it arrives (see ``sim.engine.core``).
A transform maps such a variate ``z`` to hours exactly in distribution: a lognormal is
``exp(mu + sigma * z)``; an exponential or a gamma goes through the upper tail probability
``Q(z) = erfc(z / sqrt 2) / 2``, which is uniform on (0, 1), and its inverse survival function. So the
k-th draw of a request is the same number whichever post draws it and whatever else happened in the
run (common random numbers by purpose), and a draw costs a few arithmetic operations.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

from sim.scenario.schema import Dist

Transform = Callable[[float], float]
"""Hours from one standard normal variate."""

_INV_SQRT2 = 1.0 / math.sqrt(2.0)


def lognormal_params(mean: float, cv: float) -> tuple[float, float]:
    """(mu, sigma) of the underlying normal for a lognormal with this mean and coefficient of variation."""
    sigma2 = math.log1p(cv * cv)
    return math.log(mean) - sigma2 / 2, math.sqrt(sigma2)


def upper_tail(z: float) -> float:
    """P(Z > z) for a standard normal Z: uniform on (0, 1) when z is a standard normal draw."""
    return 0.5 * math.erfc(z * _INV_SQRT2)


def _fixed(mean: float, z: float) -> float:
    return mean


def _lognormal(mu: float, sigma: float, z: float) -> float:
    return math.exp(mu + sigma * z)


def _exponential(mean: float, z: float) -> float:
    return -mean * math.log(0.5 * math.erfc(z * _INV_SQRT2))


def _gamma(shape: float, scale: float, z: float) -> float:
    from scipy import special  # imported when a gamma is first drawn: a third of a second otherwise spent

    return scale * float(special.gammainccinv(shape, 0.5 * math.erfc(z * _INV_SQRT2)))


def transform(dist: Dist) -> Transform:
    """The transform of ``dist``: a callable taking a standard normal variate, returning hours."""
    mean, cv = dist.mean_h, dist.cv
    if dist.family == "fixed":
        return partial(_fixed, float(mean))
    if dist.family == "exponential":
        return exponential(mean)
    if dist.family == "lognormal":
        mu, sigma = lognormal_params(mean, cv)
        return partial(_lognormal, mu, sigma)
    shape = 1.0 / (cv * cv)
    return partial(_gamma, shape, mean / shape)


def exponential(mean: float) -> Transform:
    return partial(_exponential, float(mean))


def scaled(factor: float, inner: Transform) -> Transform:
    """``inner`` multiplied by ``factor`` (a volunteer noticing an alarming message sooner)."""
    if factor == 1.0:
        return inner
    return lambda z: factor * inner(z)


def mean_of(dist: Dist) -> float:
    return dist.mean_h
