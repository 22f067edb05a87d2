"""The README's Python examples run as written, and run again in the same folder (they replace their outputs)."""

import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks():
    return re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), re.MULTILINE | re.DOTALL)


def test_the_readme_has_python_examples():
    blocks = python_blocks()
    assert len(blocks) >= 3
    assert any("plantar.save(" in block for block in blocks)


def test_the_readme_examples_run_twice_in_a_row(tmp_path, monkeypatch):
    """Each block runs in one namespace, in order, as a reader pastes them; then all of them again.

    Blocks that need a mat on a serial port are left out; the one that loads
    ``frames.npy`` (your own frames) is given such a file.
    """
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "frames.npy", np.zeros((20, 16, 8)))
    blocks = [block for block in python_blocks() if "/dev/tty" not in block]
    assert any("frames.npy" in block for block in blocks)
    for attempt in (1, 2):
        namespace = {"__name__": "readme"}
        for k, block in enumerate(blocks):
            try:
                exec(compile(block, f"README.md python block {k + 1}", "exec"), namespace)
            except Exception as exc:  # noqa: BLE001  (say which block and which run)
                pytest.fail(f"README python block {k + 1}, run {attempt}: {type(exc).__name__}: {exc}")
    assert (tmp_path / "walk.nc").is_file() and (tmp_path / "report.html").is_file()
