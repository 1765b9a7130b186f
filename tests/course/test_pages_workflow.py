""".github/workflows/pages.yml publishes both editions and the student branch (read, not run: it runs on GitHub)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "pages.yml"


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def runs(job) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def uses(job, action) -> dict:
    return next(step for step in job["steps"] if step.get("uses", "").startswith(action + "@"))


def student_src() -> str:
    """Where ``make book EDITION=student`` stages the student copy (the Makefile's STUDENT_SRC)."""
    return re.search(r"^STUDENT_SRC\s*:?=\s*(\S+)", (ROOT / "Makefile").read_text(), re.M)[1]


def test_runs_on_push_to_main():
    on = workflow()[True]  # YAML 1.1 reads the key `on` as True
    assert on["push"]["branches"] == ["main"]


def test_build_tests_both_editions_and_deploys_them_together():
    build = workflow()["jobs"]["build"]
    script = runs(build)
    # without EDITION, browser-test builds and tests both editions (Makefile: BROWSER_EDITIONS)
    assert re.search(r"^make browser-test CHROMIUM=\S+$", script, re.M), "both editions"
    assert "EDITION=" not in script
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^BROWSER_EDITIONS = .*,instructor student\)$", makefile, re.M)
    assert "cp -R _build/html _site" in script and "cp -R _build/student/html _site/student" in script
    assert uses(build, "actions/upload-pages-artifact")["with"]["path"] == "_site"
    deploy = workflow()["jobs"]["deploy"]
    assert deploy["needs"] == "build" and uses(deploy, "actions/deploy-pages")


def test_student_branch_is_pushed_from_the_staged_student_copy():
    jobs = workflow()["jobs"]
    upload = uses(jobs["build"], "actions/upload-artifact")["with"]
    assert upload["path"].split() == [student_src(), f"!{student_src()}/_build"]
    assert upload["include-hidden-files"] is True  # .gitignore, .student-edition
    push = jobs["student-branch"]
    assert push["needs"] == "build" and push["permissions"] == {"contents": "write"}
    assert uses(push, "actions/download-artifact")["with"]["name"] == upload["name"]
    script = runs(push)
    assert "git init -q -b student" in script and re.search(r"git push .*--force .* student$", script, re.M)
    assert "BEGIN SOLUTION" in script  # refuses to push a solution
