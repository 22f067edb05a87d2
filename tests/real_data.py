"""Where the real recordings are: ../shared/data/real next to the repository root.

Tests that need them skip cleanly when the folder is absent (a fresh clone).
"""

from pathlib import Path

import pytest

#: ../shared/data/real next to the repository root.
REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"


def real_file(folder, name):
    """Path of a real recording, or skip the test when the shared data is absent."""
    path = REAL / folder / name
    if not path.is_file():
        pytest.skip(f"real recording {folder}/{name} not available (looked in {REAL})")
    return path
