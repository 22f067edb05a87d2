"""The ``plantar`` logger, its level, and the ``verbose=`` keyword of slow functions."""

import contextlib
import functools
import logging

logger = logging.getLogger("plantar")
logger.addHandler(logging.NullHandler())

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


def _to_level(level):
    """Turn a ``verbose``-style value into a logging level number."""
    if isinstance(level, bool):
        return logging.INFO if level else logging.WARNING
    if isinstance(level, int):
        return level
    if isinstance(level, str) and level.lower() in _LEVELS:
        return _LEVELS[level.lower()]
    raise ValueError(
        f"log level must be a bool, an int or one of {tuple(_LEVELS)}, got {level!r}"
    )


def set_log_level(level):
    """Set the level of the ``plantar`` logger.

    Parameters
    ----------
    level : bool | int | str
        ``True`` for ``"info"``, ``False`` for ``"warning"``, a :mod:`logging` level
        number, or one of ``"debug"``, ``"info"``, ``"warning"``, ``"error"``,
        ``"critical"``.

    Returns
    -------
    old_level : int
        The level before the call, so it can be restored.

    Examples
    --------
    >>> import plantar
    >>> old = plantar.set_log_level("info")
    >>> _ = plantar.set_log_level(old)
    """
    old = logger.level
    logger.setLevel(_to_level(level))
    return old


@contextlib.contextmanager
def use_log_level(level):
    """Use a log level for the duration of a ``with`` block.

    Parameters
    ----------
    level : bool | int | str | None
        As for :func:`set_log_level`; ``None`` leaves the level unchanged.

    Examples
    --------
    >>> import plantar
    >>> with plantar.use_log_level("debug"):
    ...     pass
    """
    if level is None:
        yield
        return
    old = set_log_level(level)
    try:
        yield
    finally:
        logger.setLevel(old)


def verbose(func):
    """Make a function's keyword-only ``verbose=`` argument set the log level for one call.

    The decorated function declares ``verbose=None`` in its signature (so that it is
    documented) but never reads it: the wrapper takes it and applies it with
    :func:`use_log_level` around the call.

    Parameters
    ----------
    func : callable
        The function to wrap.

    Returns
    -------
    wrapper : callable
        The wrapped function, with the same name, docstring and signature.

    Examples
    --------
    >>> from plantar.utils import logger, verbose
    >>> @verbose
    ... def load(path, *, verbose=None):
    ...     logger.info("loading %s", path)
    ...     return logger.level
    >>> import logging
    >>> load("a.nc", verbose="debug") == logging.DEBUG
    True
    """

    @functools.wraps(func)
    def wrapper(*args, verbose=None, **kwargs):
        with use_log_level(verbose):
            return func(*args, **kwargs)

    return wrapper
