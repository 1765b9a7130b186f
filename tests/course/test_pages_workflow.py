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


def step(job, command: str) -> int:
    """The index of the step of ``job`` whose script has the line ``command``."""
    return next(i for i, s in enumerate(job["steps"]) if command in s.get("run", "").splitlines())


def test_lint_and_unit_tests_pass_before_anything_is_built_deployed_or_pushed():
    jobs = workflow()["jobs"]
    build = jobs["build"]
    lint, unit = step(build, "make lint"), step(build, "make unit")
    browser = step(build, "make browser-test CHROMIUM=/usr/bin/google-chrome")
    upload = build["steps"].index(uses(build, "actions/upload-pages-artifact"))
    assert lint < unit < browser < upload
    # the Makefile's own names for them, as `make test` (tools/make_test.py) runs them
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^lint:", makefile, re.M) and re.search(r"^unit:", makefile, re.M)
    # the sandbox tests of `make unit` need bubblewrap, installed with sudo before them (the runner is not root)
    assert step(build, "sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap") < unit
    # a failure stops the job: no step may fail quietly or be skipped, and everything after the job needs it
    assert not any(s.get("continue-on-error") or "if" in s for s in build["steps"])
    assert jobs["deploy"]["needs"] == "build" and jobs["student-branch"]["needs"] == "build"
    # the first `make` creates the venv: PyTorch's CPU wheel for every step
    assert build["env"]["PIP_EXTRA_INDEX_URL"] == "https://download.pytorch.org/whl/cpu"


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
