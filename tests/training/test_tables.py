"""Tables of a study: rows keep their configuration and pair by seed, the validation set alone chooses."""

import pytest

from spatialdrop_edu.training import chosen_on_validation, mean_ci, paired_difference, summarize


def test_rows_keep_their_configuration_and_pair_by_seed():
    recs = [
        {"config": {"p": p}, "seed": s, "result": {"acc": 0.5 + p + 0.01 * s * (1 + p)}}
        for p in (0.0, 0.5)
        for s in (0, 1, 2, 3)
    ]
    rows = summarize(recs, "acc")
    assert [r["config"] for r in rows] == [{"p": 0.0}, {"p": 0.5}]
    m, h = paired_difference(rows[0], rows[1])
    diffs = [0.5 + 0.005 * s for s in range(4)]
    assert m == pytest.approx(sum(diffs) / 4) and h == pytest.approx(mean_ci(diffs)[1])
    # only shared seeds count, in any order
    shuffled = {**rows[1], "seeds": [3, 2, 1, 0, 9], "values": rows[1]["values"][::-1] + [5.0]}
    assert paired_difference(rows[0], shuffled) == pytest.approx((m, h))
    with pytest.raises(ValueError, match="share at least two seeds"):
        paired_difference(rows[0], {"seeds": [0, 7], "values": [0.1, 0.2]})


def test_chosen_on_validation_lets_only_the_validation_metric_choose():
    """The test set scores the choice and never makes it: a rate that is best on test but not on validation is not
    chosen; the baseline is kept as it is; every variant chooses on its own."""
    table = [  # variant, rate, validation, test
        ("none", 0.0, 0.40, 0.40),
        ("a", 0.1, 0.70, 0.90),
        ("a", 0.3, 0.80, 0.60),
        ("b", 0.1, 0.50, 0.50),
        ("b", 0.3, 0.45, 0.70),
    ]
    records = [
        {"config": {"dropout": d, "p": p}, "seed": s, "result": {"val": v + s / 100, "test": t + s / 100}}
        for d, p, v, t in table
        for s in range(3)
    ]
    best = chosen_on_validation(records, "val", "test")
    assert {v: r["p"] for v, r in best.items()} == {"none": 0.0, "a": 0.3, "b": 0.1}
    assert best["a"]["metric"] == "test" and best["a"]["values"] == pytest.approx([0.60, 0.61, 0.62])
    on_test = chosen_on_validation(records, "test", "test")
    assert on_test["a"]["p"] == 0.1 and on_test["b"]["p"] == 0.3
