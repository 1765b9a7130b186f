"""book/instructors.md: its generated course plan is current, and every command it shows runs.

The commands run in a copy of the repository (tracked and untracked files, the virtualenv and the
vendored assets linked in), block by block and in order, each block in one ``bash -e`` shell from
the copy's root. The guide's GitHub URL is replaced by a local bare repository, so "git push" and
``make publish`` push there, and the test looks at what arrived. Blocks marked ``needs-docker`` or
``needs-nbgrader`` run only where that tool works (nbgrader: installed in ``.venv``); elsewhere the test says
which were not run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from spatialdrop_edu.course.edition.plan import chapters_in_toc, course_plan, generated_block
from spatialdrop_edu.course.grading.records import CSV_COLUMNS

pytestmark = [pytest.mark.site, pytest.mark.sandbox, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "book" / "instructors.md"
BLOCK = re.compile(r"^```(?:bash|\{code-block\} bash)\n((?::\w+:[^\n]*\n)*)(.*?)^```", re.M | re.S)


def blocks() -> list[tuple[str, str]]:
    """(class, script) of every shell block of the guide, in order."""
    out = []
    for m in BLOCK.finditer(GUIDE.read_text()):
        options = dict(re.findall(r":(\w+):[ \t]*([^\n]*)", m[1]))
        out.append((options.get("class", ""), m[2]))
    return out


def test_guide_is_in_the_toc_before_the_api_reference():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    appendix = next(p for p in toc["parts"] if p["caption"] == "Appendix")
    files = [c["file"] for c in appendix["chapters"]]
    assert files.index("book/instructors") == files.index("book/api") - 1


def test_generated_course_plan_matches_the_notebooks():
    want = course_plan(chapters_in_toc(ROOT))
    assert generated_block(GUIDE.read_text()) == want, (
        "run: python -m spatialdrop_edu exercises --update book/instructors.md"
    )


def test_every_shell_command_of_the_guide_is_in_a_tested_block():
    text = GUIDE.read_text()
    assert len(blocks()) >= 5
    # no command outside a block: inline code that starts like a shell command
    inline = re.findall(r"(?<!`)`((?:make|python|\.venv/bin/\w+|git|docker|podman|nbgrader|pip|cp|mkdir) [^`]*)`", text)
    allowed = {"python -m spatialdrop_edu exercises"}  # also in the first block
    assert set(inline) <= allowed, set(inline) - allowed


def _copy_repo(dst: Path, student_site) -> None:
    files = (
        subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True, check=True
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / name)
    # The installed virtualenv, linked piece by piece, with a fresh install stamp (so make does not reinstall);
    # the vendored browser assets and node packages linked as they are.
    venv = dst / ".venv"
    venv.mkdir()
    for entry in (ROOT / ".venv").iterdir():
        if entry.name != ".installed":
            (venv / entry.name).symlink_to(entry)
    (venv / ".installed").touch()
    for name in ("_vendor", "node_modules"):
        if (ROOT / name).exists():
            (dst / name).symlink_to(ROOT / name)
    # The student edition built once for this test run (tests/sites.py), where `make book EDITION=student` puts it:
    # its staged source and its HTML, with their times, so that make finds it newer than the copied sources and the
    # guide's `make book` and `make publish` use it as it is. Every command then runs as written; nothing is built
    # twice in one `make test`.
    built = dst / "_build" / "student"
    built.mkdir(parents=True)
    shutil.copytree(student_site.source, built / "src", symlinks=True)
    shutil.copytree(student_site.html, built / "html", symlinks=True)


def _tool_works(cmd) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="module")
def guide_run(tmp_path_factory, student_site):
    if not chapters_in_toc(ROOT):
        pytest.skip("no chapters yet")
    work = tmp_path_factory.mktemp("guide")
    repo = work / "repo"
    repo.mkdir()
    _copy_repo(repo, student_site)
    built_at = (repo / "_build" / "student" / "html" / "index.html").stat().st_mtime_ns
    remote = work / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run(["git", "remote", "add", "origin", str(remote)], cwd=repo, check=True)
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
        "VIRTUAL_ENV": str(repo / ".venv"),
    }
    env.pop("MAKEFLAGS", None)
    # nbgrader counts as working when it is installed in the virtualenv (the guide's `pip install` is then a no-op).
    works = {
        "needs-docker": _tool_works(["docker", "info"]),
        "needs-nbgrader": _tool_works([str(ROOT / ".venv" / "bin" / "nbgrader"), "--version"]),
    }
    ran, skipped = [], []
    for cls, script in blocks():
        if cls and not works.get(cls, True):
            skipped.append((cls, script))
            continue
        script = script.replace(f"{url}.git", str(remote)).replace(url, str(remote))
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode == 0, (
            f"guide block failed:\n{script}\n--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-4000:]}"
        )
        ran.append((script, done.stdout))
    rebuilt = (repo / "_build" / "student" / "html" / "index.html").stat().st_mtime_ns != built_at
    return repo, remote, ran, skipped, rebuilt


def test_guide_commands_run(guide_run):
    repo, remote, ran, skipped, _ = guide_run
    assert (repo / "student" / "01_dropout.ipynb").exists()
    assert (repo / "_build" / "student" / "html" / "index.html").exists()
    grades = (repo / "grades" / "grades.csv").read_text().splitlines()
    assert grades[0] == ",".join(CSV_COLUMNS) == "student,notebook,grade_id,points,max_points,status,feedback,problems"
    assert all(line.startswith("alice,01_dropout,") for line in grades[1:])
    assert all(",passed," not in line and ",flagged," not in line for line in grades[1:]), (
        "a blank notebook earns nothing"
    )
    assert len(ran) + len(skipped) == len(blocks())


def test_the_guide_publishes_the_site_built_once_without_building_it_again(guide_run):
    """`make book EDITION=student` and `make publish` find the edition this test run built current: no second build."""
    *_, rebuilt = guide_run
    assert not rebuilt, "the guide's make commands rebuilt the student website: make found the built one out of date"


def test_guide_nbgrader_round_trip(guide_run):
    repo, _, _, skipped, _ = guide_run
    if any(cls == "needs-nbgrader" for cls, _ in skipped):
        pytest.skip("nbgrader is not installed in .venv")
    exported = (repo / "nbgrader-course" / "grades.csv").read_text().splitlines()
    assert exported[0].startswith("assignment,") and exported[1].startswith("ps1,") and ",alice," in exported[1]
    assert (repo / "nbgrader-course" / "autograded" / "alice" / "ps1" / "01_dropout.ipynb").exists()


def test_guide_blocks_that_need_docker_or_nbgrader(guide_run):
    _, _, _, skipped, _ = guide_run
    if skipped:
        pytest.skip("not run here, the tool is missing or not working: " + "; ".join(cls for cls, _ in skipped))


def test_guide_publishes_the_student_branch_and_website(guide_run):
    _, remote, _, _, _ = guide_run
    show = lambda ref: subprocess.run(["git", "--git-dir", str(remote), "show", ref], capture_output=True, text=True)  # noqa: E731
    student_nb = show("student:book/01_dropout.ipynb")
    assert student_nb.returncode == 0 and "NotImplementedError" in student_nb.stdout
    assert "### BEGIN SOLUTION" not in student_nb.stdout
    assert "branch: student" in show("student:_config.yml").stdout
    tree = subprocess.run(
        ["git", "--git-dir", str(remote), "ls-tree", "-r", "--name-only", "student"], capture_output=True, text=True
    ).stdout.split()
    assert not any(name.startswith(("tests/", "_build/", "benchmarks/")) for name in tree)
    assert show("gh-pages:index.html").returncode == 0
    page = show("gh-pages:book/01_dropout.html").stdout
    assert "/blob/student/book/01_dropout.ipynb" in page and "### BEGIN SOLUTION" not in page


def test_the_guide_lists_each_learning_objective_whole():
    """An objective that spans several lines of its chapter is listed whole, not cut at its first line."""
    from spatialdrop_edu.course.edition.plan import read_chapter

    for notebook in chapters_in_toc(ROOT):
        chapter = read_chapter(notebook)
        assert all(o.endswith((";", ".")) for o in chapter.objectives), (notebook, chapter.objectives)
        assert all(o in GUIDE.read_text() for o in chapter.objectives)
