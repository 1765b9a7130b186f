"""The training chapters' studies as the package describes them (spatialdrop_edu.training.chapter_studies) are the
studies the chapters ran before they moved there, at the small scale and at full scale, and a full run writes the
shipped meta.json and the shipped run files.

``old_chapter_6``, ``old_chapter_7`` and ``old_chapter_8`` are the notebooks' cells as they were (settings, study
and meta cells of book/06_train_mnist1d.ipynb, 07_train_images.ipynb and 08_unet_copycat.ipynb), transcribed
literally, with ``T`` the training toolkit and the trial, the study file and the executor passed in. A trial that
looks every run up in the shipped results stands in for training, so a full study takes seconds: run the new way,
it must ask for exactly the shipped runs and write the shipped ``meta.json`` (provenance aside: these runs are made
here, now).
"""

import concurrent.futures
import dataclasses
import functools
import json
import random
from pathlib import Path

import pytest

from spatialdrop_edu import training as T
from spatialdrop_edu.training import chapter_studies
from spatialdrop_edu.training.results import META_FIELDS

CH06 = dict(seeds=5, rates=(0.1, 0.3), epochs=60, patience=10, train_size=500)
CH07 = dict(
    dataset="patches",
    data_root="data/fashion_mnist",
    seeds=5,
    rates=(0.1, 0.3),
    weight_decays=(0.1, 1.0),
    augments=("hflip", "dihedral"),
    patiences=(3, 8),
    epochs=20,
    train_per_class=15,
    val_per_class=30,
)
CH08 = dict(
    seeds=5,
    epochs=8,
    patience=None,
    train_patches=400,
    patch=16,
    sigma=0.2,
    p=0.3,
    rates=(0.3,),
    mc_passes=8,
    lr_schedule="constant",
)
CH09 = dict(seeds=3, encoders=("gru", "conv"), rates=(0.25,), epochs=20, patience=5, train_size=500)
#: The chapters' parameters cells, as the notebooks set them.
PARAMETERS = {"06_train_mnist1d": CH06, "07_train_images": CH07, "08_unet_copycat": CH08, "09_sequence_tagging": CH09}
#: What a run made here records differently from the shipped ones: what ran it, and when.
PROVENANCE = {name for name, _ in META_FIELDS} | {"finished"}


def as_parameters(parameters):
    """A chapter's parameters as its notebook names them: ``SEEDS``, ``RATES``, ..."""
    return {name.upper(): value for name, value in parameters.items()}


# -- the notebooks' cells as they were -------------------------------------------------------------------------


def old_chapter_6(SCALE, *, SEEDS, RATES, EPOCHS, PATIENCE, TRAIN_SIZE):
    """Chapter 6's cells 5, 16 and 17: ``(trial name, configs, seeds, file)`` of every study, and meta's notes."""
    if SCALE:
        SEEDS, RATES, EPOCHS, PATIENCE = 10, (0.05, 0.1, 0.2, 0.3, 0.5), 300, 30
    VARIANTS = ["element", "spatial", "dropblock"]

    def configs_for(rates, variants=VARIANTS, **setting):
        base = dict(train_size=TRAIN_SIZE, epochs=EPOCHS, patience=PATIENCE, **setting)
        return [T.mnist1d_config(**base)] + [T.mnist1d_config(dropout=v, p=p, **base) for v in variants for p in rates]

    configs = configs_for(RATES)
    FACTORS = {
        "after the first block only": dict(placement="early"),
        "after the last block only": dict(placement="late"),
        "64 channels": dict(channels=64),
    }
    factor_configs = (
        [
            c
            for setting in FACTORS.values()
            for c in configs_for(RATES, ("element", "spatial"), **setting)
            if c["dropout"] != "none" or "channels" in setting
        ]
        if SCALE
        else []
    )
    studies = [("mnist1d_trial", configs, range(SEEDS), "study.jsonl")]
    notes = None
    if SCALE:
        studies.append(("mnist1d_trial", factor_configs, range(SEEDS), "study.jsonl"))
        studies.append(
            ("mnist1d_readme_trial", [T.mnist1d_readme_config()], range(5), "readme_protocol.jsonl"),
        )
        notes = dict(
            settings={
                "seeds": SEEDS,
                "rates": list(RATES),
                "epochs": EPOCHS,
                "patience": PATIENCE,
                "train_size": TRAIN_SIZE,
            },
            factors=FACTORS,
            readme_protocol={"seeds": 5, **T.mnist1d_readme_config()},
        )
    return studies, notes


def old_chapter_8(SCALE, *, SEEDS, EPOCHS, PATIENCE, TRAIN_PATCHES, PATCH, SIGMA, P, RATES, MC_PASSES, LR_SCHEDULE):
    """Chapter 8's cells 5, 25 and 26: ``(trial name, configs, seeds, file)`` of every study, and meta's notes."""
    from spatialdrop_edu.layers.dropblock import rate_for_drop_fraction

    VAL_PATCHES, TEST_PATCHES = 200, 400
    if SCALE:
        SEEDS, EPOCHS, PATIENCE, RATES = 8, 60, 10, (0.1, 0.3, 0.5)
        TRAIN_PATCHES, VAL_PATCHES, TEST_PATCHES, MC_PASSES = 1500, 400, 1000, 16
        LR_SCHEDULE = "cosine"
    VARIANTS = ["element", "spatial", "dropblock"]
    BLOCK = 3

    def config_for(dropout="none", rate=0.0, schedule=None):
        p = rate
        if dropout == "dropblock":
            p = round(rate_for_drop_fraction(rate, BLOCK, (PATCH, PATCH)), 4)
        return T.denoising_config(
            dropout=dropout,
            p=p,
            block_size=BLOCK,
            placement="top",
            patch=PATCH,
            stride=PATCH,
            sigma=SIGMA,
            epochs=EPOCHS,
            patience=PATIENCE,
            max_train=TRAIN_PATCHES,
            max_val=VAL_PATCHES,
            max_test=TEST_PATCHES,
            mc_passes=MC_PASSES,
            lr_schedule=schedule or LR_SCHEDULE,
        )

    configs = [config_for()] + [config_for(v, rate) for rate in RATES for v in VARIANTS]
    studies, notes = [], None
    if SCALE:
        schedule_configs = [
            config_for(dropout, rate, schedule)
            for dropout, rate in (("none", 0.0), ("spatial", P))
            for schedule in ("constant", "cosine")
        ]
        studies.append(("denoising_trial", schedule_configs, range(4), "schedules.jsonl"))
    studies.append(("denoising_trial", configs, range(SEEDS), "study.jsonl"))
    if SCALE:
        notes = dict(
            settings={
                "seeds": SEEDS,
                "epochs": EPOCHS,
                "patience": PATIENCE,
                "rates": list(RATES),
                "train_patches": TRAIN_PATCHES,
                "patch": PATCH,
                "sigma": SIGMA,
                "mc_passes": MC_PASSES,
                "lr_schedule": LR_SCHEDULE,
            },
        )
    return studies, notes


def old_chapter_7(
    SCALE,
    trial,
    study_path,
    executor=None,
    *,
    DATASET,
    DATA_ROOT,
    SEEDS,
    RATES,
    WEIGHT_DECAYS,
    AUGMENTS,
    PATIENCES,
    EPOCHS,
    TRAIN_PER_CLASS,
    VAL_PER_CLASS,
):
    """Chapter 7's cells 5, 14, 15, 16 (``share``, ``label``), 23 and 44 (``write_meta``'s notes), run: what the
    study ran (``records_a``, ``records_b``, ``records_c``), every record with the replays, the choices, the notes."""
    from spatialdrop_edu.layers.dropblock import expected_drop_fraction, rate_for_drop_fraction

    if SCALE:
        SEEDS, EPOCHS, TRAIN_PER_CLASS, VAL_PER_CLASS = 10, 60, 25, 100
        RATES = (0.05, 0.1, 0.2, 0.3, 0.5)
        WEIGHT_DECAYS = (0.03, 0.1, 0.3, 1.0, 3.0)
        AUGMENTS = ("hflip", "flips", "rot90", "dihedral")
        PATIENCES = (2, 4, 8, 16, 32)
    BASE = dict(
        optimizer="adamw",
        dataset=DATASET,
        data_root=DATA_ROOT if DATASET == "fashion_mnist" else None,
        epochs=EPOCHS,
        train_per_class=TRAIN_PER_CLASS,
        val_per_class=VAL_PER_CLASS,
    )

    def config(**settings):
        return T.patch_config(**BASE, **settings)

    VARIANTS, PLACES = ["element", "spatial", "dropblock"], ["early", "late"]
    MAP_SIDE, BLOCK = {"early": 16, "late": 4}, 3

    def drop_rate(variant, share, placement):
        if variant != "dropblock":
            return share
        side = MAP_SIDE[placement]
        return round(rate_for_drop_fraction(share, BLOCK, (side, side)), 4)

    baseline = config()
    configs_a = [baseline] + [
        config(dropout=v, p=drop_rate(v, r, w), placement=w, block_size=BLOCK)
        for w in PLACES
        for v in VARIANTS
        for r in RATES
    ]
    records_a = T.run_study(trial, configs_a, range(SEEDS), study_path, executor=executor, progress=False)

    def share(row):
        if row["dropout"] == "dropblock":
            side = MAP_SIDE[row["placement"]]
            return expected_drop_fraction(row["p"], row["block_size"], (side, side))
        return row["p"]

    def label(row):
        parts = []
        if row["dropout"] != "none":
            parts.append(f"{row['dropout']} {row['placement']} {share(row):.0%}")
        if row["weight_decay"]:
            parts.append(f"weight decay {row['weight_decay']:g}")
        if row["augment"] != "none":
            parts.append(f"augment {row['augment']}")
        if row["patience"] is not None:
            on = "accuracy" if row.get("stop_on") == "val_acc" else "loss"
            parts.append(f"early stopping on validation {on} (patience {row['patience']})")
        return " + ".join(parts) or "no regularisation"

    NAMES = {"element": "Dropout", "spatial": "SpatialDropout2d"}
    NAMES["dropblock"] = "DropBlock2d"
    alone = {
        f"{NAMES[v]} {w}": [c for c in configs_a if c["dropout"] == v and c["placement"] == w]
        for v in VARIANTS
        for w in PLACES
    }
    alone["weight decay"] = [config(weight_decay=w) for w in WEIGHT_DECAYS]
    alone["augmentation"] = [config(augment=a) for a in AUGMENTS]
    records_b = T.run_study(
        trial,
        alone["weight decay"] + alone["augmentation"],
        range(SEEDS),
        study_path,
        executor=executor,
        progress=False,
    )
    ES_LOSS = "early stopping on validation loss"
    ES_ACC = "early stopping on validation accuracy"

    def stopped(runs, monitor):
        return [record for k in PATIENCES for record in T.early_stopping_records(runs, k, monitor=monitor)]

    def runs_of(config):
        return [r for r in records_a if r["config"] == config]

    records = records_a + records_b
    for method, monitor in ((ES_LOSS, "val_loss"), (ES_ACC, "val_acc")):
        records += stopped(runs_of(baseline), monitor)
        alone[method] = [{**baseline, "patience": k, "stop_on": monitor} for k in PATIENCES]
    val = {label(r): r for r in T.summarize(records, "val_acc")}

    def choose(candidates):
        return max(candidates, key=lambda c: val[label(c)]["mean"])

    chosen = {method: choose(cs) for method, cs in alone.items()}
    spatial = choose(alone["SpatialDropout2d early"] + alone["SpatialDropout2d late"])

    def with_spatial(**settings):
        where = spatial["placement"]
        return config(dropout="spatial", p=spatial["p"], placement=where, **settings)

    combined = {
        "SpatialDropout2d + augmentation": [with_spatial(augment=a) for a in AUGMENTS],
    }
    records_c = T.run_study(
        trial,
        [c for cs in combined.values() for c in cs],
        range(SEEDS),
        study_path,
        executor=executor,
        progress=False,
    )
    records += records_c + stopped(runs_of(spatial), "val_loss")
    combined[f"SpatialDropout2d + {ES_LOSS}"] = [{**spatial, "patience": k, "stop_on": "val_loss"} for k in PATIENCES]
    val = {label(r): r for r in T.summarize(records, "val_acc")}
    chosen.update({method: choose(cs) for method, cs in combined.items()})
    notes = dict(
        chosen={m: label(c) for m, c in chosen.items()},
        settings={
            "seeds": SEEDS,
            "rates": list(RATES),
            "weight_decays": list(WEIGHT_DECAYS),
            "optimizer": BASE["optimizer"],
            "augments": list(AUGMENTS),
            "patiences": list(PATIENCES),
            "epochs": EPOCHS,
            "train_per_class": TRAIN_PER_CLASS,
            "val_per_class": VAL_PER_CLASS,
        },
    )
    trained = {"a": records_a, "b": records_b, "c": records_c}
    return trained, records, chosen, notes, {**alone, **combined}


# -- stand-ins for training -------------------------------------------------------------------------------------


def made_up_patch_trial(config, seed, *, device=None):
    """A patch run's result, made up from its key: curves of a few values, so that means tie and choices are close."""
    draw = random.Random(T.run_key(config, seed))
    epochs = config["epochs"]
    curves = {
        "train_loss": [round(draw.random(), 4) for _ in range(epochs)],
        "train_acc": [draw.choice((0.6, 0.8, 1.0)) for _ in range(epochs)],
        "val_loss": [draw.choice((0.5, 0.6, 0.7)) for _ in range(epochs)],
        "val_acc": [draw.choice((0.5, 0.6, 0.7)) for _ in range(epochs)],
        "test_acc": [round(draw.random(), 4) for _ in range(epochs)],
    }
    return {
        "test_acc": curves["test_acc"][-1],
        "val_acc": curves["val_acc"][-1],
        "kept_epoch": epochs,
        "epochs_run": epochs,
        "wall_time": 0.25,
        "curves": curves,
    }


def shipped_records(chapter):
    """The records of each shipped run file of ``chapter``, by run key."""
    folder = T.shipped_results(chapter)
    return {p.name: T.load_runs(p) for p in sorted(Path(str(folder)).glob("*.jsonl"))}


def replaying(files, order):
    """A trial that gives each run its shipped result, the files' in ``order`` (a run both in chapter 8's
    schedules and in its grid: the first time from the former), and a KeyError for a run never shipped."""
    results = {}
    for name in order:
        for key, record in files[name].items():
            results.setdefault(key, []).append(record["result"])

    def trial(config, seed, *, device=None):
        return json.loads(json.dumps(results[T.run_key(config, seed)].pop(0)))

    return trial


def studies_of(study):
    return [(s.trial.__name__, list(s.configs), list(s.seeds), s.file) for s in study.studies()]


def results_of(records):
    return [(r["config"], r["seed"], r["result"]) for r in records]


# -- the studies -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [False, True], ids=["small", "full"])
@pytest.mark.parametrize("chapter, old", [("06_train_mnist1d", old_chapter_6), ("08_unet_copycat", old_chapter_8)])
def test_chapters_6_and_8_run_the_studies_they_ran_before(chapter, old, scale):
    study = T.chapter_study(chapter, scale=scale, **PARAMETERS[chapter])
    studies, notes = old(scale, **as_parameters(PARAMETERS[chapter]))
    assert studies_of(study) == [(t, c, list(s), f) for t, c, s, f in studies]
    if scale:
        assert json.dumps(study.meta_notes()) == json.dumps(notes)  # the same notes, the same order
    grid = {s.name: s for s in study.studies()}["grid"]
    assert grid.configs[0]["dropout"] == "none" and grid.file == "study.jsonl"


@pytest.mark.parametrize("scale", [False, True], ids=["small", "full"])
def test_chapter_7_trains_replays_and_chooses_as_it_did_before(scale, tmp_path, monkeypatch):
    """Its third study follows from the first two's validation accuracy: both ways must make the same choices from
    the same (made-up) results, ties included, and train the same combinations."""
    monkeypatch.setenv("SPATIALDROP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SPATIALDROP_RESULTS", str(tmp_path / "results"))
    monkeypatch.setattr(T, "patch_trial", made_up_patch_trial)
    old_path = tmp_path / "old" / "study.jsonl"
    trained, records, chosen, notes, candidates = old_chapter_7(
        scale, made_up_patch_trial, old_path, **as_parameters(CH07)
    )
    run = T.run_chapter_study(T.chapter_study("07_train_images", scale=scale, **CH07), progress=False)
    assert list(run.records) == ["dropout", "regularisers", "early stopping", "combined", "combined early stopping"]
    for old, new in zip(trained.values(), ("dropout", "regularisers", "combined")):
        assert results_of(run.records[new]) == results_of(old)
    assert results_of(run.all_records) == results_of(records)  # replays included, in the same order
    assert list(run.chosen.items()) == list(chosen.items())
    val = {run.study.label(r): r["mean"] for r in T.summarize(run.all_records, "val_acc")}
    best = {m: val[run.study.label(c)] for m, c in chosen.items()}
    tied = [m for m, cs in candidates.items() if sum(val[run.study.label(c)] == best[m] for c in cs) > 1]
    assert tied  # made-up results that tie: the first of the best is chosen, both ways
    assert run.folder == (tmp_path / "results" / "07_train_images" if scale else T.study_cache("07_train_images"))
    meta = run.folder / "meta.json"
    assert meta.is_file() == scale  # only the full study writes meta.json
    if scale:
        written = json.loads(meta.read_text())
        assert json.dumps({k: written[k] for k in notes}) == json.dumps(notes)


@pytest.mark.parametrize("chapter", list(PARAMETERS))
def test_a_full_run_makes_the_shipped_runs_and_writes_the_shipped_meta(chapter, tmp_path, monkeypatch):
    """The full study, run the new way with every run's shipped result in place of training: every run it asks
    for was shipped, every shipped run is asked for, and meta.json is the shipped one (provenance aside), byte for
    byte: the same settings, choices and companions, the same keys in the same order."""
    files = shipped_records(chapter)
    study = T.chapter_study(chapter, scale=True, **PARAMETERS[chapter])
    trial = replaying(files, dict.fromkeys(s.file for s in study.studies()))
    for name in ("mnist1d_trial", "mnist1d_readme_trial", "patch_trial", "denoising_trial", "tagger_trial"):
        monkeypatch.setattr(T, name, trial)
    monkeypatch.setenv("SPATIALDROP_RESULTS", str(tmp_path))
    run = T.run_chapter_study(study, workers=1, progress=False)
    assert run.folder == tmp_path / chapter
    written = {p.name: T.load_runs(p) for p in sorted(run.folder.glob("*.jsonl"))}
    assert set(written) == set(files)
    for name, runs in files.items():
        assert {k: r["result"] for k, r in written[name].items()} == {k: r["result"] for k, r in runs.items()}, name
    text = (run.folder / "meta.json").read_text()
    stored = json.loads(T.shipped_results(chapter).joinpath("meta.json").read_text())
    assert list(json.loads(text)) == list(stored)
    mine = {k: v for k, v in json.loads(text).items() if k not in PROVENANCE}
    theirs = {k: v for k, v in stored.items() if k not in PROVENANCE}
    assert json.dumps(mine, indent=1) == json.dumps(theirs, indent=1)


@pytest.mark.parametrize("chapter", list(PARAMETERS))
def test_the_meta_settings_built_the_new_way_are_the_shipped_ones(chapter):
    """What a full run writes beside its records, built without running: the shipped meta.json's notes, in order
    (chapter 7's choices are its runs': from the shipped ones, recomputed as the chapter reads them)."""
    study = T.chapter_study(chapter, scale=True, **PARAMETERS[chapter])
    stored = json.loads(T.shipped_results(chapter).joinpath("meta.json").read_text())
    chosen = None
    if chapter == "07_train_images":
        records = list(T.load_runs(T.shipped_results(chapter).joinpath("study.jsonl")).values())
        picked = study.choose_from(study.replayed(records, study.patiences))
        by_label = {study.label(c): c for c in (r["config"] for r in study.replayed(records, study.patiences))}
        chosen = {m: by_label[name] for m, name in picked.items()}
    notes = study.meta_notes(chosen)
    assert json.dumps(notes["settings"]) == json.dumps(stored["settings"])
    if chosen:  # in the order they were made: the full run's (the test above)
        assert notes.pop("chosen") == stored["chosen"]
    assert json.dumps(notes) == json.dumps({k: stored[k] for k in notes})


def test_the_full_settings_replace_only_what_the_full_study_sets():
    small = T.chapter_study("07_train_images", **{**CH07, "dataset": "fashion_mnist"})
    full = T.chapter_study("07_train_images", scale=True, **{**CH07, "dataset": "fashion_mnist"})
    assert not small.scale and full.scale and full.dataset == "fashion_mnist"
    assert full == dataclasses.replace(small, scale=True, **T.PatchStudy.FULL)
    assert full.config()["data_root"] == "data/fashion_mnist" and small.config()["train_per_class"] == 15
    assert T.chapter_study("07_train_images", **CH07).config()["data_root"] is None
    for chapter, kind in T.CHAPTER_STUDIES.items():
        fields = {f.name for f in dataclasses.fields(kind)}
        assert set(kind.FULL) <= fields and kind.CHAPTER == chapter


def test_chapter_study_checks_its_arguments():
    with pytest.raises(ValueError, match=r"chapter must be one of '06_train_mnist1d', .*got '05_beyond'"):
        T.chapter_study("05_beyond", **CH06)
    with pytest.raises(TypeError, match="chapter must be"):
        T.chapter_study(6, **CH06)
    with pytest.raises(ValueError, match="seeds must be a positive int"):
        T.chapter_study("06_train_mnist1d", **{**CH06, "seeds": 0})
    with pytest.raises(TypeError, match=r"scale must be True or False \(True: the full study\), got 'yes'"):
        T.Mnist1dStudy(**CH06, scale="yes")
    with pytest.raises(TypeError, match="rate"):
        T.chapter_study("06_train_mnist1d", rate=0.1, **CH06)
    with pytest.raises(TypeError, match="study must be a chapter's study"):
        T.run_chapter_study({"chapter": "06_train_mnist1d"})
    with pytest.raises(ValueError, match="workers must be a positive int"):
        T.run_chapter_study(T.chapter_study("06_train_mnist1d", **CH06), workers=0)


class InlineExecutor:
    """An executor that runs each job when it is submitted, and says when it was shut down and how."""

    def __init__(self, workers):
        self.workers, self.submitted, self.shutdowns = workers, 0, []

    def submit(self, fn, *args):
        future = concurrent.futures.Future()
        future.set_result(fn(*args))
        self.submitted += 1
        return future

    def shutdown(self, wait=True, **how):
        self.shutdowns.append({"wait": wait, **how})


def made_up_mnist1d_trial(config, seed, *, device=None):
    return {"test_acc": 0.5, "wall_time": 0.5, "device": device}


def test_the_full_study_runs_side_by_side_then_shuts_its_workers_down(tmp_path, monkeypatch):
    pools = []
    monkeypatch.setattr(chapter_studies, "study_executor", lambda n: pools.append(InlineExecutor(n)) or pools[-1])
    monkeypatch.setattr(T, "mnist1d_trial", made_up_mnist1d_trial)
    monkeypatch.setattr(T, "mnist1d_readme_trial", made_up_mnist1d_trial)
    monkeypatch.setenv("SPATIALDROP_RESULTS", str(tmp_path))
    study = T.chapter_study("06_train_mnist1d", scale=True, **CH06)
    run = T.run_chapter_study(study, device="cpu", workers=3, progress=False)
    (pool,) = pools
    assert pool.workers == 3 and pool.submitted == 47 * 10 + 5 and pool.shutdowns == [{"wait": True}]
    assert [len(r) for r in run.records.values()] == [160, 310, 5]
    assert {r["result"]["device"] for r in run.all_records} == {"cpu"}  # the device reaches every trial
    again = T.run_chapter_study(study, device="cpu", workers=3, progress=False)  # everything is there: resumed
    assert pools[-1].submitted == 0 and results_of(again.all_records) == results_of(run.all_records)

    def failing(config, seed, *, device=None):
        raise RuntimeError("a run failed")

    monkeypatch.setattr(T, "mnist1d_trial", failing)
    with pytest.raises(RuntimeError, match="a run failed"):
        T.run_chapter_study(dataclasses.replace(study, epochs=7), workers=2, progress=False)
    assert pools[-1].shutdowns == [{"wait": False, "cancel_futures": True}]


def test_the_small_study_runs_here_into_the_cache_and_writes_no_meta(tmp_path, monkeypatch):
    monkeypatch.setenv("SPATIALDROP_CACHE", str(tmp_path))
    monkeypatch.setattr(chapter_studies, "study_executor", pytest.fail)  # no workers for the small study
    monkeypatch.setattr(T, "mnist1d_trial", made_up_mnist1d_trial)
    run = T.run_chapter_study(T.chapter_study("06_train_mnist1d", **CH06), workers=4, progress=False)
    assert run.folder == T.study_cache("06_train_mnist1d") and run.folder.is_relative_to(tmp_path)
    assert list(run.records) == ["grid"] and len(run.records["grid"]) == 7 * 5 and not run.chosen
    assert (run.folder / "study.jsonl").is_file() and not (run.folder / "meta.json").exists()


@pytest.mark.parametrize("chapter", list(PARAMETERS))
def test_the_full_study_is_read_back_with_every_run_file(chapter):
    full = T.read_full_study(chapter)
    folder = T.shipped_results(chapter)
    assert full.meta == json.loads(folder.joinpath("meta.json").read_text())
    assert set(full.records) == {name.removesuffix(".jsonl") for name in full.meta["files"]}
    for name, records in full.records.items():
        assert records == list(T.load_runs(folder.joinpath(f"{name}.jsonl")).values())
    assert T.read_full_study("01_dropout") is None


def test_chapter_7_reads_its_full_study_back_with_the_choices_the_full_run_made():
    study = T.chapter_study("07_train_images", scale=True, **CH07)
    full = T.read_full_study("07_train_images")
    records = study.replayed(full.records["study"], full.meta["settings"]["patiences"])
    assert len(records) == 440 + 2 * 5 * 10 * (1 + 5 * 2)  # no regularisation and spatial dropout, replayed
    assert study.choose_from(records) == full.meta["chosen"]
    also = {"none", f"SpatialDropout2d + {study.ES_ACC}"}  # replayed, not a method of its own
    assert {study.method_of(r["config"]) for r in records} == set(full.meta["chosen"]) | also


def test_labels_name_dropout_by_the_share_it_drops():
    study = T.chapter_study("07_train_images", **CH07)
    configs = study.dropout_configs()
    assert [study.label(c) for c in configs if c["dropout"] == "dropblock"] == [
        "dropblock early 10%",
        "dropblock early 30%",
        "dropblock late 10%",
        "dropblock late 30%",
    ]
    assert all(abs(study.share(c) - r) < 1e-3 for c, r in zip(configs[1:], 2 * 3 * list(study.rates)))
    partner = functools.reduce(lambda a, b: b, (c for c in configs if c["dropout"] == "spatial"))
    (augmented,) = study.combined(partner).values()
    assert [study.label(c) for c in augmented] == [
        "spatial late 30% + augment hflip",
        "spatial late 30% + augment dihedral",
    ]
