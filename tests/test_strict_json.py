"""Every JSON file the package writes parses strictly: NaN and Inf are written as null."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from pnp import strict_json
from pnp.evaluation.tables import Provenance, Table
from pnp.tasks.report import write_json


def _strict(text: str):
    def refuse(token: str):
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def test_non_finite_numbers_become_null_and_scalars_become_numbers():
    value = {"a": math.nan, "b": [1.0, math.inf, (-math.inf, 2)], "c": np.float32(0.5), "d": torch.tensor(3),
             "e": np.int64(4)}
    assert _strict(strict_json.dumps(value)) == {"a": None, "b": [1.0, None, [None, 2]], "c": 0.5, "d": 3, "e": 4}
    with pytest.raises(TypeError):
        strict_json.dumps({"x": object()})


def test_result_json_and_tables_parse_strictly(tmp_path):
    write_json({"psnr": math.nan, "ssim": float("inf")}, tmp_path / "result.json")
    assert _strict((tmp_path / "result.json").read_text()) == {"psnr": None, "ssim": None}
    table = Table("t", ["method", "psnr"])
    table.add(method="a", psnr=math.nan)
    table.write(tmp_path, "t", Provenance(command="test", machine="m", date="d", version="v"))
    assert _strict((tmp_path / "t.json").read_text())["rows"] == [{"method": "a", "psnr": None}]
