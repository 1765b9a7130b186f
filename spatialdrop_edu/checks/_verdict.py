"""The kernel's half of the verdict channel: what a checker saw reaches the grader as plain data, and the grader judges.

Every checker is two halves (:func:`~spatialdrop_edu.checks._harness.run_check`):

* a **probe**, which must run beside the learner's code: it calls the learner's functions on the
  check's inputs and collects what came back as plain data (numbers, strings, lists, dicts and
  NumPy arrays), or the feedback of a call that failed;
* a **judge**, which decides from that data alone: statistics, bounds, the feedback message.

In a learner's own kernel both halves run there, one after the other (the data makes a round trip
through :func:`encode` and :func:`decode` even there, so a judge never sees a live object). While
``python -m spatialdrop_edu grade`` runs a check cell, the grader first *arms* the channel in a
silent request of its own with the cell's ``grade_id``, a fresh random nonce and a fresh random
``seed`` (none of them is in a file, an environment variable or a cell). The probe then draws the
check's inputs from that seed, and :func:`submit` publishes the data (a ``display_data`` output of
the MIME type :data:`MIME`, which the grader takes out of the feedback) with the nonce and the
``grade_id``. The grader runs the judge itself, outside the sandbox, on that data and the seed it
chose: a check cell counts only when the kernel's reply is ``ok`` and the grader's own judge passes
every report of the checkers the instructor's cell calls.

So nothing the learner's code can reach inside its interpreter (the checkers' modules, NumPy,
``math``, IPython, this module) changes a verdict: replacing a checker, its ``fail`` or its probe
can at most send data, and only data that are right answers for inputs drawn afresh for this
grading pass the grader's judge.
"""

from __future__ import annotations

import base64
import math

import numpy as np

#: The MIME type of a report (a ``display_data`` output that the grader removes).
MIME = "application/vnd.spatialdrop.verdict+json"
#: Bytes of array data one report may carry at most; :func:`decode` refuses more.
MAX_ARRAY_BYTES = 8 * 2**20
#: Nesting depth of a report's data at most.
MAX_DEPTH = 12
#: The array types a report may carry.
DTYPES = ("float64", "float32", "int64", "int32", "uint8", "bool")

_armed: dict | None = None


def arm(grade_id: str, nonce: str, seed: int | None = None) -> None:
    """Called by the grader (a silent request) right before it runs the check cell ``grade_id``.

    Args:
        grade_id: the nbgrader ``grade_id`` of the check cell about to run.
        nonce: the grader's secret for this one cell.
        seed: the seed the checkers of this cell draw their inputs from (chosen afresh by the grader).
    """
    global _armed
    _armed = {"grade_id": str(grade_id), "nonce": str(nonce), "seed": None if seed is None else int(seed)}


def disarm() -> None:
    """Called by the grader right after the check cell: a later check reports nothing."""
    global _armed
    _armed = None


def grading_seed() -> int | None:
    """The seed the grader chose for the check cell running now; ``None`` outside grading (the checks' own inputs)."""
    return None if _armed is None else _armed["seed"]


def submit(checker: str, data) -> None:
    """Publish what ``checker``'s probe saw for the armed check cell, if any (outside grading: nothing).

    Args:
        checker: the checker's name (``"check_inverted_dropout"``): the grader judges with its judge.
        data: the probe's data as :func:`encode` wrote it.
    """
    if _armed is None:
        return
    from IPython.display import publish_display_data

    record = {"grade_id": _armed["grade_id"], "nonce": _armed["nonce"], "checker": str(checker), "data": data}
    publish_display_data({MIME: record, "text/plain": "verdict data"})


def encode(value):
    """``value`` as JSON-ready data: arrays (NumPy or torch) as base64 with dtype and shape, non-finite floats by name.

    Args:
        value: ``None``, a bool, int, float or str, a NumPy or torch array or scalar, or a list, tuple
            or ``str``-keyed dict of these.

    Returns:
        The same tree of plain JSON values.

    Raises:
        TypeError: for anything else (a probe collects plain data only).

    Examples::

        >>> encode({"p": 0.5, "y": np.array([0.0, 2.0])})["y"]
        {'ndarray': 'AAAAAAAAAAAAAAAAAAAAQA==', 'dtype': 'float64', 'shape': [2]}
        >>> decode(encode([float("nan"), (1, "a")]))
        [nan, [1, 'a']]
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else {"float": repr(float(value))}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("a report's dict keys must be strings")
        return {k: encode(v) for k, v in value.items()}
    if type(value).__module__.startswith("torch"):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        if array.dtype.name not in DTYPES:
            array = array.astype(np.float64)
        return {"ndarray": base64.b64encode(array.tobytes()).decode("ascii"), "dtype": array.dtype.name,
                "shape": list(array.shape)}  # fmt: skip
    raise TypeError(f"a report carries plain data only, not {type(value).__name__}")


class MalformedReport(ValueError):
    """Data that :func:`encode` cannot have written: the report was forged or damaged."""


def decode(value, _depth: int = 0, _budget: list | None = None):
    """The plain data :func:`encode` wrote, checked as untrusted input: arrays come back read-only.

    Args:
        value: what :func:`encode` returned, as read from JSON.

    Returns:
        The tree, with arrays as NumPy arrays and non-finite floats as floats.

    Raises:
        MalformedReport: for a type, dtype, shape or size :func:`encode` does not write, nesting deeper
            than :data:`MAX_DEPTH`, or arrays of more than :data:`MAX_ARRAY_BYTES` in all.
    """
    budget = [MAX_ARRAY_BYTES] if _budget is None else _budget
    if _depth > MAX_DEPTH:
        raise MalformedReport(f"data nested deeper than {MAX_DEPTH}")
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, list):
        return [decode(v, _depth + 1, budget) for v in value]
    if not isinstance(value, dict):
        raise MalformedReport(f"unexpected {type(value).__name__} in the data")
    if set(value) == {"float"} and value["float"] in ("nan", "inf", "-inf"):
        return float(value["float"])
    if set(value) == {"ndarray", "dtype", "shape"}:
        return _decode_array(value, budget)
    return {str(k): decode(v, _depth + 1, budget) for k, v in value.items()}


def _decode_array(value: dict, budget: list) -> np.ndarray:
    dtype, shape, text = value["dtype"], value["shape"], value["ndarray"]
    if dtype not in DTYPES or not isinstance(text, str) or not isinstance(shape, list):
        raise MalformedReport("an array of a type reports do not carry")
    if len(shape) > 8 or not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n for n in shape):
        raise MalformedReport("an array with an impossible shape")
    if len(text) * 3 // 4 > budget[0]:
        raise MalformedReport(f"arrays of more than {MAX_ARRAY_BYTES // 2**20} MiB")
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise MalformedReport("an array that is not base64") from exc
    budget[0] -= len(raw)
    if math.prod(shape) * np.dtype(dtype).itemsize != len(raw):
        raise MalformedReport("an array whose size does not match its shape")
    array = np.frombuffer(raw, dtype=dtype).reshape(shape)
    return array
