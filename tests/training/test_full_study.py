"""``python -m spatialdrop_edu study`` (``make study``): a chapter at full scale in a fresh kernel, its study written
where asked, the notebook left as it was. A one-cell notebook stands in for a chapter: it records what it was given."""

import json

import nbformat
import pytest

from spatialdrop_edu.__main__ import main
from spatialdrop_edu.training.full_study import UncommittedCode, run_full_study

CELL = """import json, os
from spatialdrop_edu.training import local_results
folder = local_results("fixture_chapter")
folder.mkdir(parents=True, exist_ok=True)
names = ("SPATIALDROP_SCALE", "SPATIALDROP_WORKERS", "ATEN_CPU_CAPABILITY")
(folder / "study.jsonl").write_text("")
(folder / "given.json").write_text(json.dumps({name: os.environ.get(name) for name in names}))"""


@pytest.fixture
def chapter(tmp_path):
    path = tmp_path / "book" / "fixture_chapter.ipynb"
    path.parent.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)]), path)
    return path


def test_the_study_command_runs_the_chapter_at_full_scale_into_the_results_folder(chapter, tmp_path, capsys):
    before = chapter.read_bytes()
    assert main(["study", str(chapter), "--workers", "3", "--results", str(tmp_path / "shipped"), "--allow-dirty"]) == 0
    folder = tmp_path / "shipped" / "fixture_chapter"
    given = json.loads((folder / "given.json").read_text())
    assert given["SPATIALDROP_SCALE"] == "1" and given["SPATIALDROP_WORKERS"] == "3"
    assert given["ATEN_CPU_CAPABILITY"]  # the reproducible mode's pins reach the kernel
    assert chapter.read_bytes() == before  # outputs are thrown away
    assert "fixture_chapter: 0 runs in" in capsys.readouterr().out
    assert run_full_study(chapter, workers=1, allow_dirty=True) == chapter.parent / "results" / "fixture_chapter"


def test_the_study_command_checks_its_arguments(chapter, tmp_path):
    with pytest.raises(ValueError, match="workers"):
        run_full_study(chapter, workers=0)
    with pytest.raises(ValueError, match="notebook"):
        run_full_study(tmp_path / "missing.ipynb", workers=1)


def test_a_study_refuses_uncommitted_code_unless_told(chapter, tmp_path, monkeypatch, capsys):
    """A run's provenance names its code by commit: from a dirty tree that commit would name other code."""
    from spatialdrop_edu import reproducible

    monkeypatch.setattr(reproducible, "code_state", lambda: {"commit": "0123456789ab", "dirty": True, "source": "x"})
    with pytest.raises(UncommittedCode, match="uncommitted changes .* commit them first, or pass allow_dirty=True"):
        run_full_study(chapter, workers=1, results=tmp_path / "r")
    assert not (tmp_path / "r").exists()  # nothing ran
    assert main(["study", str(chapter), "--workers", "1", "--results", str(tmp_path / "r")]) == 2
    assert "--allow-dirty" in capsys.readouterr().err
    assert run_full_study(chapter, workers=1, results=tmp_path / "r", allow_dirty=True).is_dir()
