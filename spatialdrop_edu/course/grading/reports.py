"""Write the batch's results, ``grades.csv`` and ``summary.md``, with the digests that make later changes visible.

The grader writes them itself, once every sandbox of the batch is gone, from what it collected;
nothing a submission ran can see the output folder. ``summary.md`` carries the SHA-256 digest of
``grades.csv`` in its header and, as its last line, the digest of everything above that line;
``SHA256SUMS`` lists the digests of both files (``sha256sum -c SHA256SUMS`` checks them), and the
command prints them. The same batch gives the same files, digests included, whatever the order in
which its submissions finished (``--jobs``): no time of day or duration is written into either file.

Everything a student controls (names, messages their code raised, written answers) is written inert: in
``summary.md`` as escaped Markdown on its own lines (:func:`md_text`), so it cannot add a heading, a table row or
a line of its own; in ``grades.csv`` no cell begins with ``=``, ``+``, ``-``, ``@`` or a tab (:func:`csv_cell`),
which a spreadsheet would run as a formula.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import asdict
from pathlib import Path

from ..edition.cells import format_points
from .records import CSV_COLUMNS, Submission, format_size

#: The prefix of summary.md's last line, which holds the digest of every line above it.
SUMMARY_DIGEST = "Digest of this summary (SHA-256 of every line above this one): "


#: Markdown's active characters, escaped with a backslash wherever student text is written into summary.md.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]<>#|~$!])")
#: What a spreadsheet reads as the start of a formula (OWASP, "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def md_text(value) -> str:
    """``value`` as one line of inert Markdown: line breaks and control characters become spaces, and every
    character Markdown would act on is escaped.

    Examples::

        >>> md_text("eve\\n## Grades | 9/9")
        'eve \\\\#\\\\# Grades \\\\| 9/9'
    """
    text = "".join(ch if ch.isprintable() else " " for ch in str(value))
    return _MARKDOWN.sub(r"\\\1", " ".join(text.split()))


def csv_cell(value) -> str:
    """``value`` for a cell of ``grades.csv``: a leading ``'`` where a spreadsheet would start a formula.

    Examples::

        >>> csv_cell("=HYPERLINK(1)"), csv_cell("alice"), csv_cell("")
        ("'=HYPERLINK(1)", 'alice', '')
    """
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_text(submissions: list[Submission]) -> str:
    """The content of ``grades.csv``: a row per student, notebook and graded cell, :data:`~.records.CSV_COLUMNS`."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for sub in submissions:
        problems = "; ".join(dict.fromkeys(sub.kinds()))
        for row in sub.rows:
            d = asdict(row)
            d["points"], d["max_points"] = format_points(row.points), format_points(row.max_points)
            d["problems"] = problems
            writer.writerow([csv_cell(d[c]) for c in CSV_COLUMNS])
    return out.getvalue()


def describe_limits(limits: dict | None) -> list[str]:
    """Lines for the summary: the isolation every submission ran in, its limits, and what could not be applied here."""
    if not limits:
        return ["Limits of each kernel: unknown (no submission ran)."]
    memory, processes = limits.get("memory", 0), limits.get("processes", 0)
    whole = limits.get("scope") == "submission"
    parts = []
    if memory:
        parts.append(
            f"memory {format_size(memory)} for all its processes together (cgroup) and of address space per process"
            if whole
            else f"memory {format_size(memory)} of address space per process"
        )
    else:
        parts.append("memory not limited")
    parts.append(f"CPU time {limits['cpu']} s per process" if limits.get("cpu") else "CPU time not limited")
    if not processes:
        parts.append("processes not limited")
    elif limits.get("sandbox"):
        parts.append(f"{processes} processes and threads for the whole submission")
    else:
        parts.append(f"{processes} more processes and threads than the user runs")
    network = {"none": "no network", "blocked": "network blocked"}
    parts.append(network.get(limits.get("network"), "network not isolated"))
    lines = []
    if limits.get("sandbox"):
        lines.append(
            "Sandbox: one bubblewrap sandbox per submission, gone before these results were written: its own "
            "PID, network and IPC namespaces, a user of its own without privileges, the system and Python "
            "read-only, of the course only the installed package (no book/, no instructor notebook, no other "
            "submission, no grades), a fresh home and /tmp."
        )
    else:
        lines.append("NO SANDBOX (--no-sandbox): " + "; ".join(limits.get("unprotected", [])) + ".")
    head = "Limits of each submission: " if limits.get("sandbox") else "Limits of each kernel: "
    line = head + ", ".join(parts) + "."
    if limits.get("notes"):
        line += " " + "; ".join(n[0].upper() + n[1:] for n in limits["notes"]) + "."
    lines.append(line)
    if limits.get("seed") is not None:
        lines.append(
            f"Checks: judged by the grader on what the checkers' probes reported, for inputs drawn from seed "
            f"{limits['seed']} (`--seed {limits['seed']}` grades this batch again with the same inputs)."
        )
    return lines


def summary_text(submissions: list[Submission], csv_digest: str, notes: list[str]) -> str:
    """The content of ``summary.md`` up to (not including) its digest line."""
    limits = next((s.limits for s in submissions if s.limits), None)
    lines = [
        "# Grades",
        "",
        f"{len(submissions)} submission(s). Autograded points only; written answers are graded by hand.",
        "",
    ]
    for line in [*describe_limits(limits), *notes]:
        lines += [line, ""]
    lines += [
        f"Digest of grades.csv (SHA-256): {csv_digest}",
        "",
        "| student | notebook | points | of | problems |",
        "|---|---|---|---|---|",
    ]
    for sub in submissions:
        got, of = sub.points()
        flag = md_text("; ".join(dict.fromkeys(sub.kinds()))) or "none"
        who = f"{md_text(sub.student)} | {md_text(sub.notebook)}"
        lines.append(f"| {who} | {format_points(got)} | {format_points(of)} | {flag} |")
    for sub in submissions:
        lines += ["", f"## {md_text(sub.student)}: {md_text(sub.notebook)}", "", f"File: {md_text(sub.path)}", ""]
        for problem in sub.problems:
            lines.append(f"- **{md_text(problem)}**")
        if sub.problems:
            lines.append("")
        for row in sub.rows:
            pts = "by hand" if row.points is None else f"{format_points(row.points)}/{format_points(row.max_points)}"
            lines.append(f"- {md_text(row.grade_id)} {pts} ({row.status}): {md_text(row.feedback)}")
        for gid, answer in sub.answers.items():
            quoted = "\n".join("> " + md_text(ln) for ln in answer.splitlines()) or "> (empty)"
            lines += ["", f"Written answer {md_text(gid)}:", "", quoted]
    return "\n".join(lines) + "\n"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_reports(submissions: list[Submission], out_dir: Path, notes: list[str] = ()) -> dict[str, str]:
    """Write ``grades.csv``, ``summary.md`` and ``SHA256SUMS`` into ``out_dir``; return the two files' digests.

    Args:
        submissions: every submission of the batch, in the order they were given.
        out_dir: the output folder.
        notes: lines for the summary's header (check cells decided by their reply alone, ...).

    Returns:
        ``{"grades.csv": hex digest, "summary.md": hex digest}``.
    """
    grades = csv_text(submissions).encode("utf-8")
    csv_digest = sha256(grades)
    body = summary_text(submissions, csv_digest, list(notes))
    summary = (body + SUMMARY_DIGEST + sha256(body.encode("utf-8")) + "\n").encode("utf-8")
    digests = {"grades.csv": csv_digest, "summary.md": sha256(summary)}
    (out_dir / "grades.csv").write_bytes(grades)
    (out_dir / "summary.md").write_bytes(summary)
    (out_dir / "SHA256SUMS").write_text("".join(f"{d}  {name}\n" for name, d in digests.items()), encoding="utf-8")
    return digests


def verify_summary(text: str) -> bool:
    """Whether ``summary.md``'s last line is the digest of the lines above it (nothing was changed since).

    Examples::

        >>> body = "# Grades\\n"
        >>> signed = body + SUMMARY_DIGEST + sha256(body.encode()) + "\\n"
        >>> verify_summary(signed), verify_summary("# Grades\\n")
        (True, False)
    """
    head, sep, last = text.rstrip("\n").rpartition("\n")
    if not last.startswith(SUMMARY_DIGEST):
        return False
    return last[len(SUMMARY_DIGEST) :] == sha256((head + sep).encode("utf-8"))
