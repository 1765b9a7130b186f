"""Put the instructor's cells back into a submission: the notebook that is run is the instructor's where it counts.

Check cells are matched by their nbgrader ``grade_id``. A check cell that the student edited or
deleted is replaced by the instructor's, a deleted solution cell by the student stub (which earns
nothing), a deleted cell of the original notebook by the original; each is reported as tampering.
Stored outputs are dropped: only what runs now counts. Only what decides the grading is compared
(source, cell type, ``grade_id``, points, ...), not metadata that nbgrader adds on release.
"""

from __future__ import annotations

import copy

import nbformat

from .cells import ANSWER_STUB, grading_fields, is_check_cell, nbgrader, source
from .release import student_source


class _Restorer:
    """Puts the instructor's cells back into a copy of a submission, one kind of cell at a time.

    ``cursor`` is the index of the last cell matched so far, so a put-back cell lands right after
    the cell that precedes it in the instructor notebook.
    """

    def __init__(self, instructor, submission):
        self.instructor = instructor
        self.cells = [copy.deepcopy(c) for c in submission.cells]
        self.problems: list[str] = []
        self.placed: dict[str, object] = {}
        self.cursor = -1
        self.by_grade_id: dict[str, list] = {}
        for cell in self.cells:
            if grade_id := nbgrader(cell).get("grade_id"):
                self.by_grade_id.setdefault(grade_id, []).append(cell)
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
        found = self.by_grade_id.get(gid, [])
        for extra in found[1:]:
            self.problems.append(
                f"another cell claims the grade_id of check cell {gid}: its nbgrader metadata was removed"
            )
            extra.metadata.pop("nbgrader", None)
        if found:
            old = found[0]
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
        found = self.by_grade_id.get(gid, [])
        if found:
            self.cursor = self.position(found[0])
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

    Three steps, as nbgrader's preprocessors: restore the check cells, restore deleted cells,
    clear outputs. Returns the notebook, the index of each check cell by ``grade_id``, and the
    tampering found (empty for an untouched submission). Only what decides the grading is compared
    (source, cell type, ``grade_id``, points, ...), not metadata that nbgrader adds on release.
    """
    restorer = _Restorer(instructor, submission)
    for icell in instructor.cells:
        meta = nbgrader(icell)
        if is_check_cell(icell):
            restorer.restore_check_cell(icell)
        elif meta.get("grade_id") and meta.get("solution"):
            restorer.restore_solution_cell(icell)
        elif restorer.match_ids and icell.get("id"):
            restorer.restore_deleted_cell(icell)
    nb = copy.deepcopy(submission)
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
