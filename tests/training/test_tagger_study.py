"""Chapter 9's study (spatialdrop_edu.training.tagger_study): what it runs, how it chooses a rate, what it refuses."""

import json

import pytest

from spatialdrop_edu import training as T

SMALL = dict(seeds=3, encoders=("gru", "conv"), rates=(0.25,), epochs=20, patience=5, train_size=500)


def test_each_encoder_runs_no_dropout_then_every_variant_at_every_rate_over_the_same_seeds():
    study = T.chapter_study("09_sequence_tagging", **{**SMALL, "rates": (0.1, 0.5)})
    (grid,) = study.studies()
    assert grid.trial is T.tagger_trial and grid.seeds == (0, 1, 2) and grid.file == "study.jsonl"
    labels = [(c["encoder"], T.tagger_label(c)) for c in grid.configs]
    variants = [f"{v} {p:.0%}" for v in ("element", "feature", "token", "word_type") for p in (0.1, 0.5)]
    assert labels == [(e, name) for e in ("gru", "conv") for name in ["no dropout", *variants]]
    assert all(
        c == T.tagger_config(**{k: c[k] for k in ("encoder", "dropout", "p")}, train_size=500, epochs=20, patience=5)
        for c in grid.configs
    )
    assert len({json.dumps(c, sort_keys=True) for c in grid.configs}) == len(grid.configs)


def test_the_full_study_has_ten_seeds_three_rates_both_encoders_and_1000_sentences():
    full = T.chapter_study("09_sequence_tagging", scale=True, **SMALL)
    assert (full.seeds, full.rates, full.encoders, full.epochs, full.patience, full.train_size) == (
        10,
        (0.1, 0.25, 0.5),
        ("gru", "conv"),
        60,
        10,
        1000,
    )
    assert len(full.studies()[0].configs) == 2 * (1 + 4 * 3)
    assert full.settings_note() == {
        "seeds": 10,
        "encoders": ["gru", "conv"],
        "rates": [0.1, 0.25, 0.5],
        "epochs": 60,
        "patience": 10,
        "train_size": 1000,
    }


def made_up(study, val, test):
    """Records of every configuration and seed with made-up accuracies: ``val(config)``, ``test(config)``."""
    return [
        {"config": c, "seed": s, "result": {"val_acc": val(c) + 0.001 * s, "test_acc": test(c) + 0.001 * s}}
        for c in study.configs()
        for s in range(study.seeds)
    ]


def test_the_rate_is_chosen_on_validation_per_encoder_and_variant_and_scored_on_test():
    study = T.chapter_study("09_sequence_tagging", **{**SMALL, "rates": (0.1, 0.5)})
    # validation prefers 0.5 for the GRU and 0.1 for the CNN; the test set the other way round
    prefer = {"gru": 0.5, "conv": 0.1}
    records = made_up(
        study,
        val=lambda c: 0.9 + 0.05 * (c["p"] == prefer[c["encoder"]]),
        test=lambda c: 0.9 + 0.05 * (c["p"] not in (0.0, prefer[c["encoder"]])),
    )
    for encoder, rate in prefer.items():
        chosen = study.chosen(records, "test_acc", encoder)
        assert list(chosen) == ["none", "element", "feature", "token", "word_type"]
        assert all(row["encoder"] == encoder for row in chosen.values())
        assert {row["p"] for v, row in chosen.items() if v != "none"} == {rate}
        assert all(row["mean"] == pytest.approx(0.901) for row in chosen.values())  # test only scores the choice


@pytest.mark.parametrize(
    "change, message",
    [
        ({"encoders": ("gru", "lstm")}, "encoders must be distinct names of"),
        ({"encoders": ("gru", "gru")}, "encoders must be distinct names of"),
        ({"encoders": ()}, "encoders must be distinct names of"),
        ({"rates": (0.0,)}, r"rates must be drop rates, floats in \(0, 1\)"),
        ({"rates": (1,)}, r"rates must be drop rates, floats in \(0, 1\)"),
        ({"epochs": 0}, "epochs must be a positive int"),
        ({"seeds": 0}, "seeds must be a positive int"),
    ],
)
def test_bad_settings_are_named(change, message):
    with pytest.raises((ValueError, TypeError), match=message):
        T.chapter_study("09_sequence_tagging", **{**SMALL, **change})


def test_a_tiny_study_runs_every_configuration_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SPATIALDROP_CACHE", str(tmp_path))
    tiny = dict(seeds=1, encoders=("conv",), rates=(0.5,), epochs=1, patience=1, train_size=20)
    run = T.run_chapter_study(T.chapter_study("09_sequence_tagging", **tiny), device="cpu", progress=False)
    records = run.records["grid"]
    assert [T.tagger_label(r["config"]) for r in records] == [
        "no dropout",
        "element 50%",
        "feature 50%",
        "token 50%",
        "word_type 50%",
    ]
    assert all(r["result"]["epochs_run"] == 1 and 0 <= r["result"]["test_acc_rare"] <= 1 for r in records)
    assert not (run.folder / "meta.json").exists()


def test_a_difference_pairs_each_seed_of_the_two_chosen_configurations():
    study = T.chapter_study("09_sequence_tagging", **{**SMALL, "rates": (0.1, 0.5)})
    # validation prefers 0.5 for every variant; feature's test accuracy is element's + 0.01 at every seed
    records = made_up(
        study,
        val=lambda c: 0.9 + 0.05 * (c["p"] == 0.5),
        test=lambda c: 0.9 + 0.01 * (c["dropout"] == "feature") + 0.02 * (c["p"] == 0.1),
    )
    row = study.difference(records, "test_acc", "conv", "feature", "element")
    assert (row["encoder"], row["dropout"], row["p"], row["n"]) == ("conv", "feature", 0.5, 3)
    assert row["values"] == pytest.approx([0.01] * 3)
    versus_none = study.difference(records, "test_acc", "gru", "token")
    assert versus_none["values"] == pytest.approx([0.0] * 3)  # token at 0.5 scores as no dropout
