"""Where a chapter's studies live: the full results shipped with the package, a full run's own, the small run's cache.

Three places, one function each:

* :func:`full_results`: where this chapter's full study is. A full run of your own (``SCALE = True``) writes to
  :func:`local_results`, ``results/<chapter>/`` beside the notebook, and is preferred when present; otherwise the
  study that ships with the package (``spatialdrop_edu/results/<chapter>/``, found through
  ``importlib.resources``, so wherever the notebook was opened: a clone, an installed package, Colab).
* :func:`study_cache`: where the small default study of a chapter keeps its runs, so that a restarted kernel
  finds them again: a per-user cache folder, keyed by the chapter and by everything a run's result depends on
  besides its configuration and seed (the package's code, the versions of PyTorch and NumPy, the device, the CPU
  kernels and the thread count). A cached run is reused only where a fresh run would give the same result, bit
  for bit; anything else gets a folder of its own. The folder is ``$SPATIALDROP_CACHE`` if set, else
  ``spatialdrop_edu/`` under ``$XDG_CACHE_HOME`` or ``~/.cache`` (``%LOCALAPPDATA%`` on Windows); deleting it
  only costs the time to run the studies again.
* :func:`write_meta`: a study's ``meta.json``, derived from its records (:func:`study_meta`) and written only
  when that changes it, so that a full run that added nothing leaves it untouched; it lists every run file of the
  folder (:func:`study_files`), and :func:`full_study_cost` reads from it what a full run costs.

Each folder holds one study: ``study.jsonl`` (one run per line, with its provenance), the runs of any companion
experiment in a ``.jsonl`` file of its own, and ``meta.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import textwrap
from importlib import resources
from pathlib import Path

from .._validation import check_chapter

__all__ = [
    "full_results",
    "full_study_cost",
    "local_results",
    "shipped_results",
    "study_cache",
    "study_files",
    "study_meta",
    "write_meta",
]

#: Columns of printed output that fit a code block of the course's website.
PAGE_WIDTH = 80
#: The package folder whose ``<chapter>/`` subfolders hold the shipped full studies.
SHIPPED = "results"

#: Provenance fields that :func:`study_meta` summarises, as ``(name in meta.json, name in a run's provenance)``.
META_FIELDS = (
    ("device", "device"),
    ("device_name", "device_name"),
    ("cuda", "cuda"),
    ("torch", "torch"),
    ("cpu", "cpu"),
    ("cpu_capability", "cpu_capability"),
    ("cpu_threads", "threads"),
    ("pins", "pins"),
    ("platform", "platform"),
    ("python", "python"),
    ("spatialdrop_edu", "spatialdrop_edu"),
    ("commit", "commit"),
    ("dirty", "dirty"),
    ("source", "source"),
)


def local_results(chapter: str) -> Path:
    """Where a full run of ``chapter`` writes: ``results/<chapter>/`` in the working folder (beside the notebook).

    ``$SPATIALDROP_RESULTS`` replaces ``results`` (``make study`` points it at the package's shipped results).

    Examples::

        >>> local_results("06_train_mnist1d").parts[-2:]
        ('results', '06_train_mnist1d')
    """
    return Path(os.environ.get("SPATIALDROP_RESULTS") or "results") / check_chapter(chapter)


def shipped_results(chapter: str):
    """The full study of ``chapter`` that ships with the package, or ``None`` if it ships none.

    Returns:
        A folder (``importlib.resources.abc.Traversable``: a ``pathlib.Path`` for an installed package) holding
        ``study.jsonl`` and ``meta.json``.

    Examples::

        >>> shipped_results("06_train_mnist1d").name, shipped_results("01_dropout")
        ('06_train_mnist1d', None)
    """
    folder = resources.files("spatialdrop_edu").joinpath(SHIPPED, check_chapter(chapter))
    return folder if folder.joinpath("study.jsonl").is_file() else None


def full_results(chapter: str):
    """Where this chapter's full results are: a full run's beside the notebook if present, else the shipped ones.

    Args:
        chapter: the chapter's notebook name without ``.ipynb``, such as ``"06_train_mnist1d"``.

    Returns:
        A folder holding ``study.jsonl`` and ``meta.json`` (read them with ``read_text()`` and
        :func:`~spatialdrop_edu.training.study.load_runs`), or ``None`` where there are none.

    Examples::

        >>> folder = full_results("08_unet_copycat")
        >>> folder.joinpath("meta.json").is_file()
        True
    """
    local = local_results(chapter)
    if (local / "study.jsonl").is_file() and (local / "meta.json").is_file():
        return local
    return shipped_results(chapter)


def _distinct(values):
    seen = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen[0] if len(seen) == 1 else seen


def study_meta(records, *, files=None, **notes) -> dict:
    """A study's notes, derived from its records: what ran it, how many runs, how long, when.

    Args:
        records: the study's records (from :func:`~spatialdrop_edu.training.study.load_runs` or
            :func:`~spatialdrop_edu.training.study.run_study`), each with a ``"provenance"``.
        files: every run file of the study's folder, as :func:`study_files` gives them; ``None``: not listed.
        **notes: what the records cannot say, added as given (the chapter's ``settings``, its choices, the
            design of a companion experiment).

    Returns:
        ``dict``, with, for each provenance field (``device``, ``torch``, ``cpu``, ``cpu_capability``,
        ``cpu_threads``, ``pins``, ``platform``, versions, ``commit``), its value where every run agrees, else
        the list of the values found, in order of first appearance (``None``: not recorded); ``runs``;
        ``run_seconds`` (the runs' ``wall_time`` summed); ``finished`` (the day the last run finished);
        ``files`` where given; then ``notes``, sorted by name.

    Examples::

        >>> prov = {"device": "cpu", "threads": 1, "finished": "2026-11-23T10:00:00Z"}
        >>> recs = [{"result": {"wall_time": 2.0}, "provenance": prov}] * 2
        >>> meta = study_meta(recs, settings={"seeds": 2})
        >>> (meta["device"], meta["cpu_threads"], meta["runs"], meta["run_seconds"],
        ...  meta["finished"])
        ('cpu', 1, 2, 4, '2026-11-23')
    """
    records = list(records)
    provs = [r.get("provenance") or {} for r in records]
    meta = {name: _distinct([p.get(key) for p in provs]) if provs else None for name, key in META_FIELDS}
    dates = [p["finished"] for p in provs if p.get("finished")]
    meta.update(
        runs=len(records),
        run_seconds=round(sum(r["result"].get("wall_time", 0.0) for r in records)),
        finished=max(dates)[:10] if dates else None,
    )
    if files is not None:
        meta["files"] = files
    return {**meta, **{name: notes[name] for name in sorted(notes)}}


def study_files(folder) -> dict:
    """Every run file of a study's folder: ``{file name: {"runs": ..., "run_seconds": ...}}``, sorted by name.

    ``study.jsonl`` holds the study; a companion experiment (chapter 6's network trained the way the MNIST-1D
    README trains it) keeps its runs in a file of its own, and its cost counts too.

    Examples::

        >>> import tempfile
        >>> study_files(Path(tempfile.mkdtemp()))
        {}
    """
    from .study import load_runs

    found = {}
    for path in sorted(Path(folder).glob("*.jsonl")):
        records = load_runs(path).values()
        found[path.name] = {
            "runs": len(records),
            "run_seconds": round(sum(r["result"].get("wall_time", 0.0) for r in records)),
        }
    return found


def full_study_cost(chapter: str) -> str:
    """Lines for a chapter's settings cell: what a full run (``SCALE = True``) costs, and how to spread it.

    Read from the ``meta.json`` of the chapter's full results (:func:`full_results`): every run file's runs and
    training time, summed (each run trains on one thread, one after another unless ``WORKERS`` run side by side).
    Wrapped at ``PAGE_WIDTH`` (80) columns, what a code block of the website shows.

    Raises:
        ValueError: ``chapter`` has no full study.

    Examples::

        >>> full_study_cost("07_train_images")[:38]
        'A full run (SCALE = True) trains 440 n'
    """
    folder = full_results(chapter)
    if folder is None:
        raise ValueError(f"chapter must have a full study (a training chapter), got {chapter!r}.")
    meta = json.loads(folder.joinpath("meta.json").read_text())
    files = meta.get("files") or {"study.jsonl": {"runs": meta["runs"], "run_seconds": meta["run_seconds"]}}
    runs = sum(f["runs"] for f in files.values())
    hours = sum(f["run_seconds"] for f in files.values()) / 3600
    text = (
        f"A full run (SCALE = True) trains {runs} networks: about {hours:.1f} hours of one CPU core, as the stored "
        f"study took; WORKERS runs side by side take about 1/WORKERS of that. From a terminal: "
        f"make study CHAPTER={chapter[:2]} WORKERS=<cores>"
    )
    return textwrap.fill(text, width=PAGE_WIDTH, break_long_words=False, break_on_hyphens=False)


def write_meta(folder, records=None, **notes) -> dict:
    """Derive a study's ``meta.json`` from its records and write it where that changes the file.

    Args:
        folder: the study's folder.
        records: its records; default: those in ``folder/study.jsonl``.
        **notes: as in :func:`study_meta`.

    Returns:
        The notes, as written (or as already there).

    Examples::

        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> write_meta(folder, [], settings={"seeds": 0})["runs"]
        0
    """
    from .study import load_runs

    folder = Path(folder)
    if records is None:
        records = load_runs(folder / "study.jsonl").values()
    meta = study_meta(records, files=study_files(folder), **notes)
    text = json.dumps(meta, indent=1) + "\n"
    path = folder / "meta.json"
    if not path.is_file() or path.read_text() != text:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return meta


def _cache_root() -> Path:
    root = os.environ.get("SPATIALDROP_CACHE")
    if root:
        return Path(root)
    base = os.environ.get("XDG_CACHE_HOME") or (os.environ.get("LOCALAPPDATA") if os.name == "nt" else None)
    return (Path(base) if base else Path.home() / ".cache") / "spatialdrop_edu"


def study_cache(chapter: str, *, device=None) -> Path:
    """The folder (created) where the small default study of ``chapter`` keeps its runs across kernel restarts.

    Keyed by the chapter and by what a run's result depends on besides its configuration and seed: the package's
    code and version, PyTorch's and NumPy's versions, ``device``, ATen's kernels, the reproducible mode's pins
    and PyTorch's thread count in this process (set the thread count before calling). Its ``key.json`` lists
    them.

    Args:
        chapter: the chapter's notebook name without ``.ipynb``.
        device: the device the runs use (a ``torch.device`` or its name); default: the CPU.

    Examples::

        >>> import os, tempfile
        >>> os.environ["SPATIALDROP_CACHE"] = tempfile.mkdtemp()
        >>> folder = study_cache("06_train_mnist1d")
        >>> folder == study_cache("06_train_mnist1d"), folder.parent.name
        (True, '06_train_mnist1d')
        >>> del os.environ["SPATIALDROP_CACHE"]
    """
    import numpy
    import torch

    from .. import __version__
    from ..reproducible import pins_in_effect, source_digest

    key = {
        "chapter": check_chapter(chapter),
        "spatialdrop_edu": __version__,
        "code": source_digest(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "device": torch.device(device if device is not None else "cpu").type,
        "cpu_capability": torch.backends.cpu.get_cpu_capability().lower(),
        "pins": pins_in_effect(),
        "threads": torch.get_num_threads(),
    }
    text = json.dumps(key, indent=1, sort_keys=True) + "\n"
    folder = _cache_root() / "studies" / chapter / hashlib.sha256(text.encode()).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "key.json").is_file():
        (folder / "key.json").write_text(text)
    return folder
