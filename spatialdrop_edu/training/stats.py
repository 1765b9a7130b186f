r"""Statistics of per-seed values: Student's t, 95% intervals, paired comparisons, verdicts, Holm's correction.

A study reports each configuration's mean over seeds with a 95% confidence interval (:func:`mean_ci`)

.. math::

    \bar x \pm t_{0.975,\, n-1} \frac{s}{\sqrt n},

where :math:`s` is the sample standard deviation and :math:`t_{0.975,\,n-1}` the quantile of
Student's t distribution with :math:`n - 1` degrees of freedom (:func:`t_quantile`, from
``scipy.stats``).

Comparing: :func:`paired_difference` compares two configurations seed by seed, :func:`verdict` says where one
interval lies, and :func:`holm` corrects a family of comparisons read together (Holm's step-down method over their
:func:`p_value`). The tables these read are :mod:`~spatialdrop_edu.training.tables`'.
"""

from __future__ import annotations

import math

__all__ = [
    "mean_ci",
    "t_quantile",
    "t_cdf",
    "paired_difference",
    "verdict",
    "p_value",
    "holm",
]


# -- Student's t -----------------------------------------------------------------------------------


def t_cdf(t: float, df: float) -> float:
    """The cumulative distribution function of Student's t with ``df`` degrees of freedom (``scipy.stats.t``).

    Examples::

        >>> t_cdf(0.0, 5)
        0.5
        >>> round(t_cdf(2.776445, 4), 6)
        0.975
    """
    if not df > 0:
        raise ValueError(f"df must be positive (degrees of freedom), got {df!r}.")
    from scipy import stats

    return float(stats.t.cdf(t, df))


def t_quantile(q: float, df: float) -> float:
    """The ``q`` quantile of Student's t with ``df`` degrees of freedom (``scipy.stats.t``).

    Args:
        q: a probability in ``(0, 1)``.
        df: degrees of freedom, positive.

    Examples::

        >>> round(t_quantile(0.975, 4), 4), round(t_quantile(0.975, 9), 4)
        (2.7764, 2.2622)
        >>> round(t_quantile(0.975, 1), 3)
        12.706
    """
    if not 0.0 < q < 1.0:
        raise ValueError(f"q must be a probability in (0, 1), got {q!r}.")
    if not df > 0:
        raise ValueError(f"df must be positive (degrees of freedom), got {df!r}.")
    from scipy import stats

    return float(stats.t.ppf(q, df))


def mean_ci(values, level: float = 0.95) -> tuple[float, float]:
    r"""Mean and half-width of the Student's t confidence interval of the mean.

    The half-width is :math:`t_{(1+\text{level})/2,\,n-1}\, s / \sqrt{n}` with :math:`s` the sample
    standard deviation (``n - 1`` in its denominator); it is NaN for a single value.

    Examples::

        >>> mean, half = mean_ci([0.70, 0.72, 0.74, 0.71, 0.73])
        >>> round(mean, 3), round(half, 4)   # s = 0.0158, t = 2.776, n = 5
        (0.72, 0.0196)
    """
    values = [float(v) for v in values]
    n = len(values)
    if n == 0:
        raise ValueError("values must hold at least one number.")
    mean = sum(values) / n
    if n == 1:
        return mean, float("nan")
    s = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return mean, t_quantile(0.5 + level / 2.0, n - 1) * s / math.sqrt(n)


# -- comparing ------------------------------------------------------------------------------------


def paired_difference(a: dict, b: dict, level: float = 0.95) -> tuple[float, float]:
    """The mean of ``b - a`` seed by seed, and the half-width of its interval: two rows of a study's table.

    Only the seeds both rows ran count. Runs with the same seed share the data split, the initial
    weights and the batch order, so the pairs remove what the seed does to both (see
    :func:`~spatialdrop_edu.training.tables.paired_differences`, which compares every configuration with one baseline).

    Args:
        a: a row of :func:`~spatialdrop_edu.training.tables.summarize` (its ``"seeds"`` and ``"values"``).
        b: another row of the same metric.
        level: the confidence level of the interval.

    Raises:
        ValueError: fewer than two seeds in common.

    Examples::

        >>> a = {"seeds": [0, 1, 2], "values": [0.50, 0.60, 0.70]}
        >>> b = {"seeds": [2, 1, 0], "values": [0.75, 0.62, 0.56]}
        >>> mean, half = paired_difference(a, b)
        >>> round(mean, 3), round(half, 3)
        (0.043, 0.052)
    """
    theirs = dict(zip(a["seeds"], a["values"]))
    diffs = [v - theirs[s] for s, v in zip(b["seeds"], b["values"]) if s in theirs]
    if len(diffs) < 2:
        raise ValueError(f"a and b must share at least two seeds to be paired, got {len(diffs)} in common.")
    return mean_ci(diffs, level)


def verdict(row: dict) -> str:
    """What a row's interval says of its difference: ``"better"``, ``"worse"`` or ``"within the noise"``.

    ``row`` is a row of :func:`~spatialdrop_edu.training.tables.paired_differences` (or any row with
    ``"low"`` and ``"high"``): the difference is resolved only when its whole interval lies on one side of 0.

    Examples::

        >>> verdict({"low": 0.01, "high": 0.05}), verdict({"low": -0.02, "high": 0.03})
        ('better', 'within the noise')
    """
    if row["low"] > 0:
        return "better"
    if row["high"] < 0:
        return "worse"
    return "within the noise"


def p_value(row: dict) -> float:
    """The two-sided p-value of Student's one-sample t-test that a row's mean difference is 0.

    ``row`` is a row of :func:`~spatialdrop_edu.training.tables.paired_differences` (its ``"values"`` are the
    per-seed differences): the p-value is below ``1 - level`` exactly when the row's interval excludes 0, i.e. when
    :func:`verdict` resolves it. Identical values give 0 (when they are not all 0) or 1.

    Examples::

        >>> round(p_value({"values": [0.02, 0.03, 0.01, 0.04, 0.02]}), 4)
        0.0093
        >>> p_value({"values": [0.0, 0.0]}), p_value({"values": [0.1, 0.1]})
        (1.0, 0.0)
    """
    values = [float(v) for v in row["values"]]
    n = len(values)
    if n < 2:
        raise ValueError(f"row['values'] must hold at least two differences for a t-test, got {n}.")
    mean = sum(values) / n
    s = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    if s == 0.0:
        return 1.0 if mean == 0.0 else 0.0
    t = abs(mean) / (s / math.sqrt(n))
    return 2.0 * (1.0 - t_cdf(t, n - 1))


def holm(rows, alpha: float = 0.05) -> list[str]:
    """Verdicts for a family of comparisons read together, corrected for multiplicity by Holm's method.

    Reading many intervals at once, some exclude 0 by chance: at level 95%, one comparison in
    twenty does when nothing differs. Holm's step-down method (Holm, 1979) keeps the chance of
    *any* false "better" or "worse" in the family below ``alpha``: sort the p-values
    (:func:`~spatialdrop_edu.training.stats.p_value`), compare the smallest with ``alpha / m``, the next with
    ``alpha / (m - 1)``, and so on, and stop at the first that fails; the comparisons before it are resolved.

    Args:
        rows: rows of :func:`~spatialdrop_edu.training.tables.paired_differences`, the family
            (every comparison that was read).
        alpha: the family-wise error rate.

    Returns:
        The verdicts in the rows' order, ``"better"`` or ``"worse"`` (by the sign of the mean)
        where resolved and ``"within the noise"`` elsewhere.

    Examples::

        >>> rows = [{"values": [0.02, 0.03, 0.01, 0.04, 0.02]},   # p = 0.009
        ...         {"values": [0.02, 0.0, 0.03, 0.01, 0.02]},    # p = 0.035
        ...         {"values": [0.01, -0.005, 0.02, 0.015, 0.0]}] # p = 0.16
        >>> holm(rows)   # alone, the second one's interval excludes 0
        ['better', 'within the noise', 'within the noise']
    """
    rows = list(rows)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be a probability in (0, 1), got {alpha!r}.")
    p = [p_value(r) for r in rows]
    verdicts = ["within the noise"] * len(rows)
    for rank, i in enumerate(sorted(range(len(rows)), key=p.__getitem__)):
        if p[i] > alpha / (len(rows) - rank):
            break
        mean = sum(rows[i]["values"]) / len(rows[i]["values"])
        verdicts[i] = "better" if mean > 0 else "worse"
    return verdicts
