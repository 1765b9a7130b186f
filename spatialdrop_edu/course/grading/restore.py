"""Put the instructor's cells back into a submission: the notebook that is run is the instructor's where it counts.

Every cell of a submission is accounted for, in three steps:

1. **Stripped metadata** (:func:`metadata_stripped`, :func:`match_stripped_cells`). An editor may drop every cell's
   nbgrader metadata (and its cell ids). When fewer than half (:data:`STRIPPED_SHARE`) of the instructor's graded
   cells are found in a submission by ``grade_id``, its cells are matched to the instructor's by position and
   content instead: cells whose source is that of the released cell (or of the instructor's) match it, in the
   instructor's order (a longest common subsequence); a solution cell the student answered is the cell of the same
   type between the matched neighbours of its stub (the one most like the stub, where there are several). Matched
   cells get the instructor's nbgrader metadata back, and the submission is flagged ``metadata stripped``: it keeps
   its points, but never reads as a plain pass.
2. **One cell per grade_id** (:func:`settle_grade_ids`). Only the instructor's ``grade_id`` values count. A cell that
   claims nbgrader metadata with another ``grade_id`` (or none), or the ``grade_id`` of a solution cell of another
   cell type, loses that metadata and is reported (``unknown grade_id``); :mod:`.scan` scans it as an added cell.
   Where several cells claim one ``grade_id``, the copy that stands for it is the last one between the cells that
   the instructor put before and after it (as found in the submission), else the first one: a check cell runs where
   the instructor put it, after its exercise's solution, even when a copy was pasted above that; of a solution
   written twice, the later copy is the one in effect when its check runs. The other copies lose their metadata, are
   scanned as added cells, and the submission is flagged (``duplicate grade_id``). A cell that stands for a grade_id
   other than a check cell's carries the instructor's nbgrader metadata from then on.
3. **Restore** (:func:`restore_instructor_cells`). Check cells are matched by their ``grade_id``. A check cell that
   the student edited or deleted is replaced by the instructor's, a deleted solution cell by the student stub (which
   earns nothing), a deleted cell of the original notebook by the original; each is reported as tampering. Stored
   outputs are dropped: only what runs now counts. Only what decides the grading is compared (source, cell type,
   ``grade_id``, points, ...), not metadata that nbgrader adds on release.

Cell numbers in messages are those of the submission as handed in (steps 1 and 2 change metadata only).
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field

import nbformat

from ..edition.cells import ANSWER_STUB, grading_fields, is_check_cell, is_graded, nbgrader, source
from ..edition.release import student_source

#: A submission is matched to the instructor's notebook by content (:func:`match_stripped_cells`) when fewer than
#: this share of the instructor's graded cells (check cells and written answers) are found in it by ``grade_id``.
#: A student who deleted a few graded cells stays above it (those are put back by :func:`restore_instructor_cells`);
#: a notebook whose editor dropped the metadata has none left.
STRIPPED_SHARE = 0.5

#: How much of a cell's source is compared when choosing which answer fills a stub (a long cell costs time only).
_COMPARED_CHARS = 4000


def _claim(cell) -> tuple[bool, str | None]:
    """``(claims, grade_id)``: whether a cell's nbgrader metadata claims anything (a ``grade_id``, ``grade`` or
    ``solution``; metadata that is not a mapping claims too) and the ``grade_id`` it names (``None`` if not a
    non-empty string)."""
    meta = cell.get("metadata", {}).get("nbgrader")
    if meta is None:
        return False, None
    if not isinstance(meta, dict):
        return True, None
    gid = meta.get("grade_id")
    gid = gid if isinstance(gid, str) and gid else None
    return bool(gid or meta.get("grade") or meta.get("solution")), gid


def _instructor_cells(reference) -> dict[str, nbformat.NotebookNode]:
    """The reference notebook's cells with a ``grade_id``, by ``grade_id``, in the notebook's order."""
    cells: dict[str, nbformat.NotebookNode] = {}
    for cell in reference.cells:
        _, gid = _claim(cell)
        if gid is not None:
            cells.setdefault(gid, cell)
    return cells


def _kind(icell) -> str:
    """How a message names the instructor's cell: ``check cell``, ``solution cell`` or ``cell``."""
    if is_check_cell(icell):
        return "check cell"
    return "solution cell" if nbgrader(icell).get("solution") else "cell"


@dataclass
class Settled:
    """A submission with one cell per ``grade_id`` of the instructor's (:func:`settle_grade_ids`).

    ``notebook`` is a copy of the submission (same cells, same order); ``ignored`` holds the index of each cell whose
    nbgrader claim was ignored (its metadata is gone: an added cell); ``problems`` one line per such claim.
    """

    notebook: nbformat.NotebookNode
    ignored: set[int] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


def _added_words(cell, singular: bool = True) -> str:
    """How a message says what became of a cell that lost its nbgrader metadata."""
    if cell.get("cell_type") == "code":
        return "was scanned as an added cell" if singular else "were scanned as added cells"
    return f"counts as an added {cell.get('cell_type')} cell" if singular else "count as added cells"


def _unknown_claim(index: int, cell, gid: str | None, icell) -> str | None:
    """Why the nbgrader claim of cell ``index`` is not the instructor's (a problem line), or ``None`` if it is."""
    done = f"its nbgrader metadata was ignored, and it {_added_words(cell)}"
    if gid is None:
        return f"unknown grade_id: cell {index} claims nbgrader metadata with no grade_id: {done}"
    if icell is None:
        return (
            f"unknown grade_id: cell {index} claims grade_id {gid[:80]!r}, which the instructor's notebook "
            f"does not have: {done}"
        )
    if nbgrader(icell).get("solution") and cell.get("cell_type") != icell.cell_type:
        return (
            f"unknown grade_id: cell {index} is a {cell.get('cell_type')} cell, but claims grade_id {gid} of the "
            f"instructor's {icell.cell_type} solution cell: {done}"
        )
    return None


def _choose_copy(copies: list[int], after: int, before: int) -> int:
    """Which of several cells claiming one ``grade_id`` stands for it: the last copy after the cell that the
    instructor put before it and before the one that the instructor put after it (``after``, ``before``: their
    indices in the submission), else the first copy.

    Examples (the solution at cell 5, the next exercise's at cell 9)::

        >>> _choose_copy([3, 7], after=5, before=9)  # a copy pasted above
        7
        >>> _choose_copy([6, 7], after=5, before=9)  # the later is in effect
        7
        >>> _choose_copy([1, 2], after=5, before=9)  # none fits: the first
        1
    """
    fitting = [i for i in copies if after < i < before]
    return fitting[-1] if fitting else copies[0]


def _duplicate_problem(gid: str, icell, copies: list[int], chosen: int, cells) -> str:
    """The problem line for several cells claiming ``gid``: which one stands for it, what became of the others."""
    others = [i for i in copies if i != chosen]
    names = ", ".join(map(str, others))
    what = f"cell {names} lost its nbgrader metadata and {_added_words(cells[others[0]])}"
    if len(others) > 1:
        what = f"cells {names} lost their nbgrader metadata and {_added_words(cells[others[0]], False)}"
    if is_check_cell(icell):
        stands = f"the instructor's check cell ran at cell {chosen}"
    else:
        stands = f"cell {chosen} was taken as the {_kind(icell)}"
    return (
        f"duplicate grade_id: cells {', '.join(map(str, copies))} claim {_kind(icell)} {gid}: {stands} "
        f"(its place fits the instructor's order); {what}"
    )


def settle_grade_ids(reference, submission) -> Settled:
    """Leave one cell per ``grade_id`` of the instructor's, and no other nbgrader claim (module docstring, step 2).

    Args:
        reference: the instructor notebook or its student edition (they have the same ``grade_id`` values, in order).
        submission: the submitted notebook (left unchanged).

    Returns:
        The settled copy of the submission, the cells whose claims were ignored, and one problem line per unknown
        claim (``"unknown grade_id: ..."``) and per ``grade_id`` claimed by several cells (``"duplicate grade_id:
        ..."``); an honest submission has none.
    """
    icells = _instructor_cells(reference)
    nb = copy.deepcopy(submission)
    settled = Settled(nb)
    claims: dict[str, list[int]] = {gid: [] for gid in icells}
    for index, cell in enumerate(nb.cells):
        claiming, gid = _claim(cell)
        if not claiming:
            continue
        why = _unknown_claim(index, cell, gid, icells.get(gid))
        if why is None:
            claims[gid].append(index)
        else:
            settled.problems.append(why)
            settled.ignored.add(index)
    order = list(icells)
    placed: dict[str, int] = {}
    for k, gid in enumerate(order):
        copies = claims[gid]
        if len(copies) > 1:
            after = next((placed[g] for g in reversed(order[:k]) if g in placed), -1)
            before = next((claims[g][0] for g in order[k + 1 :] if len(claims[g]) == 1), len(nb.cells))
            placed[gid] = _choose_copy(copies, after, before)
            settled.problems.append(_duplicate_problem(gid, icells[gid], copies, placed[gid], nb.cells))
            settled.ignored.update(i for i in copies if i != placed[gid])
        elif copies:
            placed[gid] = copies[0]
    for index in settled.ignored:
        nb.cells[index].get("metadata", {}).pop("nbgrader", None)
    for gid, index in placed.items():
        if not is_check_cell(icells[gid]):  # a check cell is replaced whole, and its metadata compared, by restore
            nb.cells[index].setdefault("metadata", {})["nbgrader"] = copy.deepcopy(icells[gid].metadata["nbgrader"])
    return settled


# ----------------------------------------------------------------------------- stripped metadata


def metadata_stripped(reference, submission) -> bool:
    """Whether a submission lacks the nbgrader metadata of most graded cells, so it must be matched by content.

    Args:
        reference: the instructor notebook or its student edition.
        submission: the submitted notebook.

    Returns:
        True when fewer than :data:`STRIPPED_SHARE` of the reference's graded cells (check cells and written answers)
        are claimed in the submission by their ``grade_id``; never for a reference without graded cells.
    """
    wanted = {nbgrader(c)["grade_id"] for c in reference.cells if is_graded(c)}
    found = {_claim(c)[1] for c in submission.cells} & wanted
    return bool(wanted) and len(found) < len(wanted) * STRIPPED_SHARE


def _candidates(reference, submission) -> list[set[int]]:
    """For each submitted cell, the reference cells it may be: of the same type, with the same source (as released,
    or the reference's own) or claiming the same ``grade_id``."""
    by_text: dict[tuple, set[int]] = {}
    by_gid: dict[tuple, set[int]] = {}
    for i, icell in enumerate(reference.cells):
        kind = icell.get("cell_type")
        for text in {source(icell).strip(), student_source(icell).strip()}:
            by_text.setdefault((kind, text), set()).add(i)
        if (gid := _claim(icell)[1]) is not None:
            by_gid.setdefault((kind, gid), set()).add(i)
    found = []
    for cell in submission.cells:
        kind, gid = cell.get("cell_type"), _claim(cell)[1]
        found.append(by_text.get((kind, source(cell).strip()), set()) | by_gid.get((kind, gid), set()))
    return found


def _common_cells(reference, submission) -> list[tuple[int, int]]:
    """The longest sequence of ``(reference index, submission index)`` pairs of the same cell (:func:`_candidates`),
    in the order of both notebooks."""
    candidates = _candidates(reference, submission)
    sub = [j for j, c in enumerate(candidates) if c]  # a cell that is no reference cell takes no part
    n, m = len(reference.cells), len(sub)
    same = [[i in candidates[j] for j in sub] for i in range(n)]
    longest = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for k in range(m - 1, -1, -1):
            longest[i][k] = longest[i + 1][k + 1] + 1 if same[i][k] else max(longest[i + 1][k], longest[i][k + 1])
    pairs, i, k = [], 0, 0
    while i < n and k < m:
        if same[i][k]:  # taking a match is always part of a longest sequence
            pairs.append((i, sub[k]))
            i, k = i + 1, k + 1
        elif longest[i + 1][k] >= longest[i][k + 1]:
            i += 1
        else:
            k += 1
    return pairs


def _likeness(icell, cell) -> float:
    """How much a submitted cell looks like the reference cell's stub (0 to 1): an answer keeps the stub's signature."""
    stub = student_source(icell)[:_COMPARED_CHARS]
    return difflib.SequenceMatcher(None, stub, source(cell)[:_COMPARED_CHARS], autojunk=False).ratio()


def _answered_cells(reference, submission, pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The answered solution cells: between two matched neighbours, each unmatched solution cell of the reference
    is the submitted cell of the same type there most like its stub (the first of equals), in order."""
    ends = [(-1, -1), *pairs, (len(reference.cells), len(submission.cells))]
    found = []
    for (i0, j0), (i1, j1) in zip(ends, ends[1:]):
        free = list(range(j0 + 1, j1))
        for i in range(i0 + 1, i1):
            icell = reference.cells[i]
            if not (nbgrader(icell).get("solution") and _claim(icell)[1]):
                continue
            same_type = [j for j in free if submission.cells[j].get("cell_type") == icell.cell_type]
            if same_type:
                j = max(same_type, key=lambda j: (_likeness(icell, submission.cells[j]), -j))
                found.append((i, j))
                free = [f for f in free if f > j]
    return found


def match_stripped_cells(reference, submission) -> tuple[nbformat.NotebookNode, list[str]]:
    """Match a submission's cells to the instructor's by position and content, and give them their metadata back.

    For a submission whose editor dropped the nbgrader metadata (:func:`metadata_stripped`): unchanged cells and cells
    claiming the right ``grade_id`` match in order (``_common_cells``), answered solution cells by their place
    between matched neighbours (``_answered_cells``). Each matched cell gets the reference cell's nbgrader
    metadata; other cells are left as they are (what they claim is settled by :func:`settle_grade_ids`), and so are
    cell ids.

    Args:
        reference: the instructor notebook or its student edition.
        submission: the submitted notebook (left unchanged).

    Returns:
        ``(notebook, notes)``: a copy of the submission (same cells, same order) with the metadata re-attached, and the
        problem line that says so (``"metadata stripped: ..."``).
    """
    pairs = _common_cells(reference, submission)
    pairs = sorted(pairs + _answered_cells(reference, submission, pairs))
    nb = copy.deepcopy(submission)
    for i, j in pairs:
        meta = reference.cells[i].get("metadata", {}).get("nbgrader")
        if meta:
            nb.cells[j].setdefault("metadata", {})["nbgrader"] = copy.deepcopy(meta)
    graded = [nbgrader(c)["grade_id"] for c in reference.cells if is_graded(c)]
    kept = len({_claim(c)[1] for c in submission.cells} & set(graded))
    matched = len({nbgrader(reference.cells[i]).get("grade_id") for i, _ in pairs} & set(graded))
    note = (
        f"metadata stripped: {kept} of the instructor's {len(graded)} graded cells carry their nbgrader metadata; "
        f"cells were matched to the instructor's by position and content, which found {matched} of them"
    )
    return nb, [note]


# ----------------------------------------------------------------------------- restore


class _Restorer:
    """Puts the instructor's cells back into a copy of a settled submission, one kind of cell at a time.

    ``cursor`` is the index of the last cell matched so far, so a put-back cell lands right after
    the cell that precedes it in the instructor notebook.
    """

    def __init__(self, instructor, submission):
        self.instructor = instructor
        self.cells = [copy.deepcopy(c) for c in submission.cells]
        self.problems: list[str] = []
        self.placed: dict[str, object] = {}
        self.cursor = -1
        # Settled (settle_grade_ids): at most one cell per grade_id.
        self.by_grade_id = {gid: c for c in self.cells if (gid := _claim(c)[1])}
        instructor_ids = {c.get("id") for c in instructor.cells if c.get("id")}
        self.by_id = {c.get("id"): c for c in self.cells if c.get("id")}
        # Cell ids are compared only when the submission kept most of them (a notebook saved by another editor may not).
        self.match_ids = bool(instructor_ids) and len(instructor_ids & set(self.by_id)) >= len(instructor_ids) / 2

    def position(self, cell) -> int:
        return next(i for i, c in enumerate(self.cells) if c is cell)

    def insert(self, cell) -> None:
        self.cells.insert(self.cursor + 1, cell)
        self.cursor += 1

    def restore_check_cell(self, icell) -> None:
        """The instructor's check cell replaces the student's copy, or comes back if it was deleted."""
        gid = nbgrader(icell)["grade_id"]
        fresh = copy.deepcopy(icell)
        old = self.by_grade_id.get(gid)
        if old is not None:
            if source(old).strip() != source(icell).strip() or old.get("cell_type") != icell.cell_type:
                self.problems.append(f"check cell {gid} was edited: the instructor's version was run")
            elif grading_fields(old) != grading_fields(icell):
                self.problems.append(f"metadata of check cell {gid} was changed: the instructor's was used")
            self.cells[self.position(old)] = fresh
            self.cursor = self.position(fresh)
        else:
            self.problems.append(f"check cell {gid} was deleted: the instructor's version was put back")
            self.insert(fresh)
        self.placed[gid] = fresh

    def restore_solution_cell(self, icell) -> None:
        """A deleted solution cell comes back as the student stub, which earns nothing."""
        gid = nbgrader(icell)["grade_id"]
        found = self.by_grade_id.get(gid)
        if found is not None:
            self.cursor = self.position(found)
            return
        stub = copy.deepcopy(icell)
        stub.source = student_source(icell) if icell.cell_type == "code" else ANSWER_STUB
        self.problems.append(f"solution cell {gid} was deleted: the student stub was put back")
        self.insert(stub)

    def restore_deleted_cell(self, icell) -> None:
        """Any other code cell of the original notebook that was deleted comes back (matched by cell id)."""
        if icell.id in self.by_id:
            self.cursor = max(self.cursor, self.position(self.by_id[icell.id]))
        elif icell.cell_type == "code":
            self.problems.append(f"cell {icell.id} of the original notebook was deleted: it was put back")
            fresh = copy.deepcopy(icell)
            fresh.source = student_source(icell)  # as released: a solution region never goes into the run
            self.insert(fresh)


def restore_instructor_cells(instructor, submission) -> tuple[nbformat.NotebookNode, dict[str, int], list[str]]:
    """The notebook to run: the submission with the instructor's check cells (and deleted cells) in place.

    The submission is settled first (:func:`settle_grade_ids`: one cell per ``grade_id``, no other claim; what that
    finds is reported by :func:`.scan.scan_submission`). Then three steps, as nbgrader's preprocessors: restore the
    check cells, restore deleted cells, clear outputs.

    Args:
        instructor: the instructor notebook (or its student edition: the same cells are run).
        submission: the submitted notebook, its metadata re-attached if it was stripped (:func:`match_stripped_cells`).

    Returns:
        The notebook, the index of each check cell in it by ``grade_id``, and the tampering found (empty for an
        untouched submission). Only what decides the grading is compared (source, cell type, ``grade_id``,
        points, ...), not metadata that nbgrader adds on release.
    """
    settled = settle_grade_ids(instructor, submission).notebook
    restorer = _Restorer(instructor, settled)
    for icell in instructor.cells:
        meta = nbgrader(icell)
        if is_check_cell(icell):
            restorer.restore_check_cell(icell)
        elif meta.get("grade_id") and meta.get("solution"):
            restorer.restore_solution_cell(icell)
        elif restorer.match_ids and icell.get("id"):
            restorer.restore_deleted_cell(icell)
    nb = settled  # a copy of the submission's own
    nb.cells = restorer.cells
    clear_outputs(nb)
    return nb, {gid: restorer.position(cell) for gid, cell in restorer.placed.items()}, restorer.problems


def clear_outputs(nb) -> None:
    """Drop every stored output, execution count and widget state: only what runs now counts."""
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.metadata.pop("widgets", None)
