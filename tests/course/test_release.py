"""The student edition: solutions out of notebooks and website; the instructor edition folds them.

Builds (once per session, into temporary folders) a small fixture book in both editions. The real book's editions
are the ones ``make book`` built, handed over by ``make`` (the ``instructor_site`` and ``student_site`` fixtures,
``tests/sites.py``). Nothing is written into the repository.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from spatialdrop_edu import REPOSITORY_URL
from spatialdrop_edu.course.edition import cells
from spatialdrop_edu.course.edition import release as rel

import exercise_fixtures as fx
import leakcheck
from sites import build_book

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))


# --------------------------------------------------------------------------- nbgrader's rules
def assert_nbgrader_valid(nb):
    """nbgrader's cell metadata schema v3 (nbgrader/nbgraderformat/v3.json and v3.py), restated."""
    allowed = {"schema_version", "grade", "locked", "solution", "task", "grade_id", "points", "checksum", "cell_type"}
    ids = set()
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        if meta is None:
            continue
        assert set(meta) <= allowed, set(meta) - allowed
        assert meta["schema_version"] == 3
        assert all(isinstance(meta[k], bool) for k in ("grade", "locked", "solution"))
        if meta["grade"] or meta["solution"] or meta["locked"]:
            assert re.fullmatch(r"[a-zA-Z0-9_\-]+", meta["grade_id"])
            assert meta["grade_id"] not in ids, f"duplicate grade_id {meta['grade_id']}"
            ids.add(meta["grade_id"])
        if meta["grade"]:
            assert meta["points"] >= 0
        if cell.cell_type == "markdown" and not meta.get("task"):
            assert meta["grade"] == meta["solution"], "markdown cells are grade AND solution"


# --------------------------------------------------------------------------- the transformation
@pytest.fixture
def instructor():
    return fx.instructor_notebook()


@pytest.fixture
def student(instructor):
    return rel.student_notebook(instructor)


def test_solution_region_becomes_stub_and_keeps_the_signature(student):
    cell = student.cells[5]
    assert cell.source == (
        'def inverted_dropout_scale(p):\n    """The factor that inverted dropout multiplies the kept units by."""\n'
        "    # YOUR CODE HERE\n    raise NotImplementedError()"
    )
    assert (
        student.cells[10].source
        == '# YOUR CODE HERE\nraise NotImplementedError()\nprint("expected zeros:", expected_zeros_fixture)'
    )


def test_mark_scheme_is_removed_and_the_question_kept(student):
    assert student.cells[8].source == "Why does inverted dropout need no change at test time?\n\nYOUR ANSWER HERE"


def test_markdown_solution_without_markers_is_replaced_wholesale():
    cell = nbformat.v4.new_markdown_cell(
        "The answer is 42.", metadata=fx.nbgrader("ex-09-1", solution=True, grade=True, points=1)
    )
    nb = nbformat.v4.new_notebook(cells=[cell])
    assert rel.student_notebook(nb).cells[0].source == "YOUR ANSWER HERE"


def test_check_cells_and_nbgrader_metadata_are_kept(instructor, student):
    for before, after in zip(instructor.cells, student.cells):
        assert after.metadata.get("nbgrader") == before.metadata.get("nbgrader")
        if cells.is_check_cell(before):
            assert after.source == before.source
    nbformat.validate(student)
    assert_nbgrader_valid(student)
    assert_nbgrader_valid(instructor)


def test_outputs_are_kept_before_the_first_solution_and_cleared_from_it_on(instructor, student):
    assert student.cells[2].outputs == instructor.cells[2].outputs and student.cells[2].execution_count == 2
    assert student.cells[3].outputs == instructor.cells[3].outputs
    for cell in student.cells[5:]:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:40]


def test_widget_state_keeps_only_models_that_kept_outputs_show(student):
    state = student.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert set(state) == {"aaaa1111", "cccc3333"}  # the body's slider and its layout; not the late label
    assert "answer_fixture_widget" not in json.dumps(student.metadata)


def test_hide_input_tag_is_dropped_from_solution_cells_only(instructor, student):
    assert instructor.cells[5].metadata["tags"] == ["hide-input"]
    assert "tags" not in student.cells[5].metadata
    assert student.cells[1].metadata["tags"] == ["remove-cell"]


def test_instructor_only_regions_are_dropped_from_pages_and_markdown_cells(tmp_path):
    cell = nbformat.v4.new_markdown_cell(
        "Keep this.\n% BEGIN INSTRUCTOR ONLY\nTeacher note_fixture.\n% END INSTRUCTOR ONLY\nAnd this."
    )
    assert rel.student_notebook(nbformat.v4.new_notebook(cells=[cell])).cells[0].source == "Keep this.\nAnd this."
    root = tmp_path / "root"
    (root / "book").mkdir(parents=True)
    (root / "_config.yml").write_text(FIXTURE_CONFIG)
    (root / "_toc.yml").write_text(FIXTURE_TOC)
    (root / "book" / "api.md").write_text("# API\n% BEGIN INSTRUCTOR ONLY\n## Checkers\n% END INSTRUCTOR ONLY\nEnd.\n")
    fx.write_instructor(root / "book")
    stage = rel.stage_student_book(root, tmp_path / "stage")
    assert (stage / "book" / "api.md").read_text() == "# API\nEnd.\n"
    assert "### BEGIN SOLUTION" not in (stage / "book" / "01_fixture.ipynb").read_text()
    assert "branch: student" in (stage / "_config.yml").read_text()
    rel.stage_student_book(root, tmp_path / "stage")  # its own earlier output is replaced
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "thesis.tex").write_text("years of work")
    with pytest.raises(rel.ReleaseError, match="not empty"):
        rel.stage_student_book(root, tmp_path / "precious")
    assert (tmp_path / "precious" / "thesis.tex").exists()


def test_instructor_notebook_is_not_modified(instructor):
    before = json.dumps(instructor, sort_keys=True)
    rel.student_notebook(instructor)
    assert json.dumps(instructor, sort_keys=True) == before


@pytest.mark.parametrize(
    "source",
    [
        "### BEGIN SOLUTION\nx = 1",
        "x = 1\n### END SOLUTION",
        "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION",
    ],
)
def test_unbalanced_markers_refuse_to_release(source):
    nb = nbformat.v4.new_notebook(cells=[fx.solution_cell(source, "ex-09-1")])
    with pytest.raises(rel.ReleaseError):
        rel.student_notebook(nb)


def test_student_notebook_has_no_distinctive_solution_text(tmp_path, instructor):
    src = Path(fx.write_instructor(tmp_path))
    out = rel.release([src], tmp_path / "student")
    lines, words = leakcheck.distinctive([src])
    assert "keep_probability_fixture = 1.0 - p" in lines and "rescaling_fixture_marker" in words
    assert leakcheck.find_leaks([src], lines, words)  # the detector finds them in the instructor copy
    assert leakcheck.find_leaks(out, lines, words) == []


def test_cli_release_writes_student_notebooks_and_refuses_the_source_folder(tmp_path):
    src = Path(fx.write_instructor(tmp_path))

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "spatialdrop_edu", "release", *args], capture_output=True, text=True, cwd=tmp_path
        )

    done = run(str(src), "--out", "student")
    assert done.returncode == 0, done.stderr
    assert "NotImplementedError" in (tmp_path / "student" / src.name).read_text()
    refused = run(str(src), "--out", str(tmp_path))
    assert refused.returncode != 0 and "refusing" in refused.stderr
    assert "BEGIN SOLUTION" in src.read_text()


def test_student_config_changes_only_the_branch():
    text = (ROOT / "_config.yml").read_text()
    new = rel._student_config(text, "student")
    import yaml

    old_cfg, new_cfg = yaml.safe_load(text), yaml.safe_load(new)
    assert new_cfg["repository"]["branch"] == "student"
    new_cfg["repository"]["branch"] = old_cfg["repository"]["branch"]
    assert new_cfg == old_cfg
    assert [ln for ln in new.splitlines() if ln not in text.splitlines()] == ["  branch: student"]


# --------------------------------------------------------------------------- built websites
FIXTURE_CONFIG = """title: Fixture course
author: tests
only_build_toc_files: true
exclude_patterns: [".*", "_build"]
execute:
  execute_notebooks: "off"
repository:
  url: https://github.com/spatialdrop-edu/spatialdrop-edu
  branch: main
  path_to_book: ""
launch_buttons:
  notebook_interface: classic
  colab_url: https://colab.research.google.com
  binderhub_url: https://mybinder.org
html:
  use_repository_button: true
sphinx:
  recursive_update: true
"""
FIXTURE_TOC = "format: jb-book\nroot: book/intro\nchapters:\n  - file: book/01_fixture\n"


@pytest.fixture(scope="session")
def fixture_sites(tmp_path_factory):
    """The fixture book built twice: (instructor html, student html, instructor notebook)."""
    root = tmp_path_factory.mktemp("fixture-book")
    (root / "book").mkdir()
    (root / "_config.yml").write_text(FIXTURE_CONFIG)
    (root / "_toc.yml").write_text(FIXTURE_TOC)
    (root / "book" / "intro.md").write_text("# Fixture course\n\nSee {doc}`01_fixture`.\n")
    src = Path(fx.write_instructor(root / "book"))
    instructor = build_book(root, tmp_path_factory.mktemp("fixture-instructor"))
    stage = rel.stage_student_book(root, tmp_path_factory.mktemp("fixture-stage") / "src")
    student = build_book(stage, tmp_path_factory.mktemp("fixture-student"))
    return instructor, student, src


def site_files(html: Path):
    return [p for p in html.rglob("*") if p.is_file()]


@pytest.mark.site
def test_instructor_site_shows_solutions_folded(fixture_sites):
    instructor, _, _ = fixture_sites
    page = (instructor / "book" / "01_fixture.html").read_text()
    # a <details> element without the `open` attribute: closed until the reader clicks "Show code cell source"
    folded = re.findall(
        r'<details class="[^"]*\bhide above-input\b[^"]*">\s*<summary[^>]*>(.*?)</summary>(.*?)</details>',
        page,
        flags=re.S,
    )
    assert len(folded) == 2, "both solution cells are folded"
    assert all("Show code cell source" in summary for summary, _ in folded)
    assert "keep_probability_fixture = 1.0 - p" in leakcheck.normalise(re.sub(r"<[^>]+>", "", folded[0][1]))
    assert "expected_zeros_fixture = round(0.3 * 70)" in leakcheck.normalise(re.sub(r"<[^>]+>", "", folded[1][1]))
    assert page.count("above-input") == 2  # check cells and the body are not folded


@pytest.mark.site
def test_instructor_site_contains_the_solutions_the_detector_looks_for(fixture_sites):
    instructor, _, src = fixture_sites
    lines, words = leakcheck.distinctive([src])
    leaks = leakcheck.find_leaks(site_files(instructor), lines, words)
    found = {leak.split(": ", 1)[1] for leak in leaks}
    assert "line 'keep_probability_fixture = 1.0 - p'" in found  # in the HTML (through the highlighting spans)
    assert any(leak.endswith(".ipynb: word 'rescaling_fixture_marker'") for leak in leaks)  # downloadable notebook
    assert any("searchindex.js: stem" in leak for leak in leaks)  # the mark scheme is indexed
    phrases = leakcheck.distinctive_phrases([src])
    html_leaks = leakcheck.find_leaks([instructor / "book" / "01_fixture.html"], set(), set(), phrases)
    assert any("already happens during" in leak for leak in html_leaks), html_leaks


@pytest.mark.site
def test_fixture_student_site_has_no_solution_anywhere(fixture_sites):
    _, student, src = fixture_sites
    lines, words = leakcheck.distinctive([src])
    phrases = leakcheck.distinctive_phrases([src])
    assert leakcheck.find_leaks(site_files(student), lines, words, phrases) == []
    page = (student / "book" / "01_fixture.html").read_text()
    assert "YOUR CODE HERE" in page and "YOUR ANSWER HERE" in page and "body value 42" in page
    assert "hide above-input" not in page


@pytest.mark.site
def test_fixture_student_site_links_open_the_student_branch(fixture_sites):
    instructor, student, _ = fixture_sites
    colab = "https://colab.research.google.com/github/spatialdrop-edu/spatialdrop-edu/blob/{}/book/01_fixture.ipynb"
    binder = "https://mybinder.org/v2/gh/spatialdrop-edu/spatialdrop-edu/{}?urlpath=tree/book/01_fixture.ipynb"
    page = html_unescape((student / "book" / "01_fixture.html").read_text())
    assert colab.format("student") in page and binder.format("student") in page
    assert colab.format("main") not in page and "/blob/main/" not in page
    assert colab.format("main") in html_unescape((instructor / "book" / "01_fixture.html").read_text())
    downloaded = student / "_sources" / "book" / "01_fixture.ipynb"
    assert "NotImplementedError" in downloaded.read_text()


def html_unescape(text):
    import html

    return html.unescape(text)


# --------------------------------------------------------------------------- the real book
def public_text() -> str:
    """What the website may show besides the notebooks: its pages and the library it teaches.

    The checkers (``spatialdrop_edu/checks/``) are not counted as public: their modules keep reference answers and
    feedback that names each mistake, so the student website must not show them (``api.md`` marks their section
    instructor-only).
    """
    texts = [p.read_text() for p in sorted((ROOT / "book").glob("*.md"))]
    texts += [p.read_text() for p in sorted((ROOT / "spatialdrop_edu").rglob("*.py")) if "checks" not in p.parts]
    return "\n".join(texts)


def test_chapters_follow_nbgrader_rules():
    if not CHAPTERS:
        pytest.skip("no chapter notebooks in book/ yet")
    ids = []
    for path in CHAPTERS:
        nb = nbformat.read(path, as_version=4)
        assert_nbgrader_valid(nb)
        for cell in nb.cells:
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
                assert "hide-input" in cell.metadata.get("tags", []), f"{path.name}: solution cell without hide-input"
        ids += [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids)), "grade_ids are unique across the course"


@pytest.mark.site
def test_real_student_notebooks_and_site_have_no_solution_anywhere(student_site):
    html, stage = student_site
    lines, words = leakcheck.distinctive(CHAPTERS, public_text())
    phrases = leakcheck.distinctive_phrases(CHAPTERS, public_text())
    students = sorted((stage / "book").glob("*.ipynb"))
    assert [p.name for p in students] == [p.name for p in CHAPTERS]
    for path in students:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert_nbgrader_valid(nb)
    leaks = leakcheck.find_leaks(students + site_files(html), lines, words, phrases)
    assert leaks == [], "\n".join(leaks[:30])


@pytest.mark.site
def test_real_student_site_points_colab_at_the_student_branch(student_site):
    html = student_site.html
    for path in CHAPTERS:
        page = html_unescape((html / "book" / f"{path.stem}.html").read_text())
        assert f"/blob/student/book/{path.name}" in page
        assert f"{REPOSITORY_URL.split('github.com/')[1]}/blob/main/" not in page  # other projects' links may name main


@pytest.mark.site
def test_real_instructor_site_folds_every_solution(instructor_site):
    for path in CHAPTERS:
        nb = nbformat.read(path, as_version=4)
        solutions = [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]
        page = (instructor_site.html / "book" / f"{path.stem}.html").read_text()
        folded = re.findall(
            r'<details class="[^"]*\bhide above-input\b[^"]*">\s*<summary[^>]*>(.*?)</summary>(.*?)</details>',
            page,
            flags=re.S,
        )
        texts = [leakcheck.normalise(html_unescape(re.sub(r"<[^>]+>", "", body))) for _, body in folded]
        for cell in solutions:
            first = next(ln.strip() for ln in cell.source.split("### BEGIN SOLUTION", 1)[-1].splitlines() if ln.strip())
            assert any(leakcheck.normalise(first) in t for t in texts), f"{path.name}: {first!r} is not folded"


@pytest.mark.site
def test_detector_finds_every_chapters_solutions_in_the_instructor_site(instructor_site):
    """The no-leak test is not vacuous: on the instructor site it finds each chapter's solutions."""
    for path in CHAPTERS:
        if not leakcheck.split_notebook(nbformat.read(path, as_version=4))[0]:
            continue  # an appendix without exercises has nothing to find
        lines, words = leakcheck.distinctive([path], public_text())
        phrases = leakcheck.distinctive_phrases([path], public_text())
        page = instructor_site.html / "book" / f"{path.stem}.html"
        found = leakcheck.find_leaks([page], lines, words, phrases)
        assert lines and found, f"{path.name}: no distinctive solution text found on its instructor page"


def test_no_solution_line_is_in_the_package_source():
    """The student website shows the package's source (its API pages link it): no exercise's answer may sit there.

    Exercises that re-implement a package function (3.2's fill, 7.2's region split) are written differently from
    the package, whose checkers also refuse an answer that calls it (``run_student_code(forbid=...)``).
    """

    def code_lines(text):
        return {line.split("#")[0].strip() for line in text.splitlines()} - {""}

    solution = set()
    for path in CHAPTERS:
        for secret in leakcheck.split_notebook(nbformat.read(path, as_version=4))[0]:
            solution |= {line for line in code_lines(secret) if len(line) >= 24}
    assert solution, "the detector found no solution lines at all"
    for path in sorted((ROOT / "spatialdrop_edu").rglob("*.py")):
        if "checks" in path.parts:  # instructor-only on the website (public_text)
            continue
        shared = solution & code_lines(path.read_text())
        assert not shared, f"{path.relative_to(ROOT)} holds solution lines: {sorted(shared)}"
