"""Reading and writing trials: the native NetCDF format and, through the same
:func:`read`, every supported vendor format."""

from . import emed, footscan, journal, moticon, netcdf, pedar, pliance, tekscan, xsensor
from ._dispatch import (
    FileFormat,
    FileFormatError,
    known_formats,
    read,
    register_format,
    save,
)
from .template import read_template

register_format(netcdf.FORMAT)
register_format(tekscan.FORMAT)
register_format(emed.FORMAT)
register_format(footscan.FORMAT)
register_format(xsensor.FORMAT)
register_format(pliance.FORMAT)
register_format(pedar.FORMAT)
register_format(moticon.FORMAT)
register_format(journal.FORMAT)

__all__ = ["FileFormat", "FileFormatError", "known_formats", "read", "read_template", "register_format", "save"]
