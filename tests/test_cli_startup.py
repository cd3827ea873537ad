"""`pnp --help` answers at once: the command line loads torch only when a command runs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pnp import choices


def test_the_command_line_imports_no_heavy_library_before_a_command_runs():
    code = ("import sys, pnp.cli; heavy = [m for m in ('torch', 'deepinv', 'numpy', 'scipy', 'skimage', 'matplotlib') "
            "if m in sys.modules]; print(','.join(heavy))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "", f"importing pnp.cli loaded {loaded}"


@pytest.mark.parametrize("where, name", [("pnp.operators", "Boundary"), ("pnp.device", "Precision"),
                                         ("pnp.tasks", "Start"), ("pnp.evaluation.protocol", "ImageSet"),
                                         ("pnp.evaluation.standard", "Method")])
def test_each_choice_is_one_enum_shared_by_the_library_and_the_cli(where, name):
    import importlib

    assert getattr(importlib.import_module(where), name) is getattr(choices, name)
