"""Where studies live: shipped full results found through the package, a full run's own preferred, meta.json derived
from the records and left alone when nothing changed, and the small study's cache found again after a restart."""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import torch

import spatialdrop_edu
from spatialdrop_edu.training import (
    Mnist1dStudy,
    full_results,
    full_study_cost,
    load_runs,
    local_results,
    run_study,
    shipped_results,
    study_cache,
    study_files,
    study_meta,
    write_meta,
)
from spatialdrop_edu.training.results import META_FIELDS

BOOK = Path(__file__).parents[2] / "book"
CHAPTERS = ("06_train_mnist1d", "07_train_images", "08_unet_copycat", "09_sequence_tagging")


def fake_run(config, seed):
    return {"score": config["a"] + seed, "wall_time": 1.5}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_shipped_study_is_package_data(chapter):
    folder = shipped_results(chapter)
    assert Path(str(folder)).is_relative_to(Path(spatialdrop_edu.__file__).parent)
    assert folder.joinpath("meta.json").is_file() and len(load_runs(folder.joinpath("study.jsonl"))) > 0


def test_a_full_run_beside_the_notebook_is_preferred(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SPATIALDROP_RESULTS", raising=False)
    chapter = CHAPTERS[0]
    assert full_results(chapter) == shipped_results(chapter)
    own = local_results(chapter)
    run_study(fake_run, [{"a": 1}], [0], own / "study.jsonl", progress=False)
    assert full_results(chapter) == shipped_results(chapter)  # no meta.json yet: not a finished study
    write_meta(own)
    assert full_results(chapter).resolve() == (tmp_path / "results" / chapter).resolve()
    monkeypatch.setenv("SPATIALDROP_RESULTS", str(tmp_path / "elsewhere"))
    assert local_results(chapter) == tmp_path / "elsewhere" / chapter
    assert full_results(chapter) == shipped_results(chapter)
    assert full_results("01_dropout") is None
    with pytest.raises(ValueError, match="chapter"):
        full_results("../06_train_mnist1d")


def test_meta_is_derived_from_the_records_and_not_rewritten_when_nothing_was_added(tmp_path):
    path = tmp_path / "study.jsonl"
    run_study(fake_run, [{"a": 1}, {"a": 2}], [0, 1], path, progress=False)
    meta = write_meta(tmp_path, settings={"seeds": 2})
    prov = load_runs(path)['{"a": 1, "seed": 0}']["provenance"]
    assert meta["runs"] == 4 and meta["run_seconds"] == 6 and meta["settings"] == {"seeds": 2}
    assert meta["torch"] == prov["torch"] and meta["cpu_threads"] == prov["threads"]
    assert meta["finished"] == prov["finished"][:10] and meta["platform"] == prov["platform"]
    before = (tmp_path / "meta.json").stat().st_mtime_ns
    os.utime(tmp_path / "meta.json", ns=(before - 10**9, before - 10**9))  # so that a rewrite would show
    run_study(fake_run, [{"a": 1}, {"a": 2}], [0, 1], path, progress=False)  # a full run that adds nothing
    assert write_meta(tmp_path, settings={"seeds": 2}) == meta
    assert (tmp_path / "meta.json").stat().st_mtime_ns == before - 10**9
    run_study(fake_run, [{"a": 3}], [0], path, progress=False)
    assert write_meta(tmp_path, settings={"seeds": 2})["runs"] == 5
    assert json.loads((tmp_path / "meta.json").read_text())["runs"] == 5


def test_meta_lists_what_the_runs_disagree_on():
    records = [
        {"result": {}, "provenance": {"cpu": "A", "threads": 1, "finished": "2026-01-02T00:00:00Z"}},
        {"result": {}, "provenance": {"cpu": "B", "threads": 1, "finished": "2026-03-04T00:00:00Z"}},
        {"result": {}},
    ]  # a run recorded before provenance existed
    meta = study_meta(records)
    assert meta["cpu"] == ["A", "B", None] and meta["cpu_threads"] == [1, None] and meta["finished"] == "2026-03-04"


#: What study_meta derives from the records and the folder; everything else in a meta.json is a chapter's note.
DERIVED = {name for name, _ in META_FIELDS} | {"runs", "run_seconds", "finished", "files"}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_shipped_meta_is_what_the_records_give(chapter):
    folder = shipped_results(chapter)
    stored = json.loads(folder.joinpath("meta.json").read_text())
    notes = {k: v for k, v in stored.items() if k not in DERIVED}
    records = load_runs(folder.joinpath("study.jsonl")).values()
    assert study_meta(records, files=study_files(folder), **notes) == stored
    # every run file is listed, the study's own among them
    assert set(stored["files"]) == {p.name for p in Path(folder).glob("*.jsonl")}
    assert stored["files"]["study.jsonl"] == {"runs": stored["runs"], "run_seconds": stored["run_seconds"]}


def test_chapter_6_meta_names_the_companion_runs_and_the_factor_design():
    stored = json.loads(shipped_results("06_train_mnist1d").joinpath("meta.json").read_text())
    assert stored["files"]["readme_protocol.jsonl"]["runs"] == stored["readme_protocol"]["seeds"] == 5
    assert set(stored["factors"]) == {"after the first block only", "after the last block only", "64 channels"}
    # what a full run writes: the chapter's study, run by the runner, which writes meta.json
    full = Mnist1dStudy(seeds=10, rates=(0.1,), epochs=1, patience=1, train_size=1, scale=True)
    notes = full.meta_notes()
    assert (notes["factors"], notes["readme_protocol"]) == (stored["factors"], stored["readme_protocol"])
    source = "".join(c.source for c in nbformat.read(BOOK / "06_train_mnist1d.ipynb", as_version=4).cells)
    assert "T.run_chapter_study(study" in source


def test_meta_lists_every_run_file_with_its_runs_and_time(tmp_path):
    run_study(fake_run, [{"a": 1}, {"a": 2}], [0], tmp_path / "study.jsonl", progress=False)
    run_study(fake_run, [{"a": 9}], [0, 1, 2], tmp_path / "companion.jsonl", progress=False)
    meta = write_meta(tmp_path, settings={"seeds": 1})
    assert meta["runs"] == 2 and meta["run_seconds"] == 3  # the study itself
    assert meta["files"] == {
        "companion.jsonl": {"runs": 3, "run_seconds": 4},  # 4.5 s, rounded as run_seconds is
        "study.jsonl": {"runs": 2, "run_seconds": 3},
    }


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_full_run_cost_is_read_from_every_file_of_the_study(chapter):
    stored = json.loads(full_results(chapter).joinpath("meta.json").read_text())
    runs = sum(f["runs"] for f in stored["files"].values())
    hours = sum(f["run_seconds"] for f in stored["files"].values()) / 3600
    text = full_study_cost(chapter)
    assert max(len(line) for line in text.splitlines()) <= 80  # fits the page
    line = " ".join(text.split())
    assert f"trains {runs} networks: about {hours:.1f} hours of one CPU core" in line
    assert f"make study CHAPTER={chapter[:2]} WORKERS=<cores>" in line
    source = "".join(c.source for c in nbformat.read(BOOK / f"{chapter}.ipynb", as_version=4).cells)
    assert "print(T.full_study_cost(CHAPTER))" in source  # said before SCALE = True is chosen


def test_the_full_run_cost_of_a_chapter_without_a_study_is_refused_by_name():
    with pytest.raises(ValueError, match=r"chapter must have a full study .*got '01_dropout'"):
        full_study_cost("01_dropout")


SUBPROCESS = """
import json, sys, torch
torch.set_num_threads(1)
from spatialdrop_edu.training import run_study, study_cache
folder = study_cache("06_train_mnist1d")
ran = []
run_study(lambda c, s: ran.append(s) or {"score": s}, [{"a": 1}], [0, 1, 2], folder / "study.jsonl", progress=False)
print(json.dumps({"folder": str(folder), "ran": ran}))
"""


def test_the_small_study_is_found_again_after_a_restart(tmp_path, monkeypatch):
    monkeypatch.setenv("SPATIALDROP_CACHE", str(tmp_path))
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        folder = study_cache("06_train_mnist1d")
        assert folder == study_cache("06_train_mnist1d") and folder.is_relative_to(tmp_path)
        run_study(fake_run, [{"a": 1}], [0, 1], folder / "study.jsonl", progress=False)
        key = json.loads((folder / "key.json").read_text())
        assert key["threads"] == 1 and key["torch"] == torch.__version__ and key["device"] == "cpu"
        assert study_cache("07_train_images") != folder and study_cache("06_train_mnist1d", device="meta") != folder
        torch.set_num_threads(2)
        assert study_cache("06_train_mnist1d") != folder  # other threads, other results: elsewhere
        torch.set_num_threads(1)
        with monkeypatch.context() as patch:
            patch.setenv("ATEN_CPU_CAPABILITY", "default")
            assert study_cache("06_train_mnist1d") != folder  # other pins: elsewhere
    finally:
        torch.set_num_threads(threads)
    # A restarted kernel: a new process with the same environment finds the same folder and its two runs
    out = subprocess.run([sys.executable, "-c", SUBPROCESS], capture_output=True, text=True, check=True)
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert Path(found["folder"]) == folder and found["ran"] == [2]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_chapters_find_their_studies_through_the_package(chapter):
    nb = nbformat.read(BOOK / f"{chapter}.ipynb", as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert f'CHAPTER = "{chapter}"' in code
    # the chapter's study runs where run_chapter_study puts it (T.local_results, T.study_cache), side by side,
    # and it writes meta.json (tests/training/test_chapter_studies.py); the full one is read back through the package
    for call in ("T.chapter_study(\n    CHAPTER,", "T.run_chapter_study(study", "T.read_full_study(CHAPTER)"):
        assert call in code, call
    assert "tempfile" not in code and 'Path("results' not in code and "lambda c, s" not in code
