"""The tagging toolkit and the training toolkit use each other: either can be imported first."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "first", ["spatialdrop_edu.tagging.masks", "spatialdrop_edu.tagging", "spatialdrop_edu.training.runs"]
)
def test_either_toolkit_imports_first(first):
    code = f"import {first}; import spatialdrop_edu.training as T; T.TaggerRun(); T.tagger_trial"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
