import logging
import pathlib
import re

import pytest

import plantar
from plantar.utils import logger


def test_set_and_use_log_level():
    old = plantar.set_log_level("debug")
    try:
        assert logger.level == logging.DEBUG
        with plantar.use_log_level("error"):
            assert logger.level == logging.ERROR
        with plantar.use_log_level(None):
            assert logger.level == logging.DEBUG
        assert logger.level == logging.DEBUG
        plantar.set_log_level(True)
        assert logger.level == logging.INFO
        plantar.set_log_level(False)
        assert logger.level == logging.WARNING
    finally:
        plantar.set_log_level(old)
    with pytest.raises(ValueError, match="log level"):
        plantar.set_log_level("loud")


def test_verbose_argument_logs_for_one_call(tmp_path, caplog):
    trial = plantar.make_trial([[[0.0]]], pitch_mm=5.0, rate_hz=10.0)
    plantar.save(trial, tmp_path / "a.nc")
    with caplog.at_level(logging.INFO, logger="plantar"):
        logger.setLevel(logging.WARNING)
        plantar.read(tmp_path / "a.nc")
        assert not [r for r in caplog.records if r.levelno == logging.INFO]
        plantar.read(tmp_path / "a.nc", verbose=True)
        assert any("reading" in r.getMessage() for r in caplog.records)
        assert logger.level == logging.WARNING  # restored after the call


def test_no_print_in_the_library():
    root = pathlib.Path(plantar.__file__).parent
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.name != "cli.py" and re.search(r"^\s*print\(", path.read_text(), re.MULTILINE)
    ]
    assert offenders == []
