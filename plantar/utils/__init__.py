"""Utilities shared by the package: logging and docstring templates."""

from ._logging import logger, set_log_level, use_log_level, verbose
from .docs import fill_doc

__all__ = ["fill_doc", "logger", "set_log_level", "use_log_level", "verbose"]
