"""Bounds derived from the distributions the tests sample from."""

import math

SIGMAS = 5.0  # a correct implementation fails a 5-sigma bound about once in 1.7 million runs


def binomial_fraction_bound(p: float, n: int) -> float:
    """Half-width of a SIGMAS interval for the fraction of successes in n Bernoulli(p) trials."""
    return SIGMAS * math.sqrt(p * (1 - p) / n) + 1e-12


def inverted_mean_bound(p: float, n: int) -> float:
    """Half-width for the mean of n independent coins, each 1/(1-p) with prob. 1-p, else 0.

    The mean of one coin is 1 and its variance p / (1 - p).
    """
    return SIGMAS * math.sqrt(p / ((1 - p) * n)) + 1e-12
