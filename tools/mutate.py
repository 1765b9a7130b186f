"""`make mutate`: mutation testing of the library room (spatialdrop_edu/layers) with mutmut.

mutmut plants one small mistake at a time (a changed operator, constant or condition) in a copy
of the code under ``mutants/`` and runs the library's tests against it. A *killed* mutant is a
mistake the tests catch; a *survivor* is one they would let through. This script runs mutmut,
prints the score (killed / (killed + survived)) and the survivors to read with ``mutmut show NAME``.
The configuration is ``[tool.mutmut]`` in pyproject.toml.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

MUTMUT = [sys.executable, "-m", "mutmut"]


def main() -> int:
    env = {**os.environ, "KERAS_BACKEND": "torch", "MPLBACKEND": "Agg"}
    children = str(max(1, (os.cpu_count() or 2)))
    subprocess.run([*MUTMUT, "run", "--max-children", children], env=env, check=False)
    subprocess.run([*MUTMUT, "export-cicd-stats"], env=env, check=True)
    stats = json.loads(Path("mutants/mutmut-cicd-stats.json").read_text())
    killed, survived = stats.get("killed", 0), stats.get("survived", 0)
    total = killed + survived
    print(
        f"\nmutation score of spatialdrop_edu/layers: {killed}/{total} killed "
        f"({100 * killed / max(total, 1):.0f}%); other outcomes: "
        + ", ".join(f"{k} {v}" for k, v in stats.items() if k not in ("killed", "survived", "total") and v)
    )
    survivors = subprocess.run([*MUTMUT, "results"], env=env, capture_output=True, text=True).stdout
    if survivors.strip():
        print("survivors (read one with: python -m mutmut show NAME):\n" + survivors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
