"""Counters of the frames and packets a decoder refuses, by reason.

The formats without a checksum (Sensitronics, Kitronyx, csv-rows) can only refuse
what their structure rules out; PMAT/1 also refuses headers its specification
makes impossible before waiting for their body. Every refusal is counted once
in :attr:`DecoderStats.rejects` under its reason, and in one of the counters
:meth:`DecoderStats.errors` sums.
"""

import dataclasses

from ._frame import ParserStats


_LENGTH_REASONS = frozenset(("length", "cells", "shape"))


@dataclasses.dataclass
class DecoderStats(ParserStats):
    """:class:`~plantar.drivers.ParserStats` with the refusals counted by reason.

    Attributes
    ----------
    implausible : int
        Frames or packets refused by a plausibility check other than their
        length, checksum or version: a value spelled as the device never spells
        it, a value above the ADC's range, an unknown packet type.
    rejects : dict of str to int
        Every refused frame or packet, by reason (``"length"``, ``"crc"``,
        ``"version"``, ``"type"``, ``"spelling"``, ``"range"``, ``"shape"`` ...,
        as each decoder documents). The values add up to :meth:`errors`.

    Examples
    --------
    >>> from plantar.drivers._checks import DecoderStats
    >>> stats = DecoderStats()
    >>> stats.reject("spelling")
    >>> stats.reject("length")
    >>> stats.rejects, stats.implausible, stats.bad_lengths, stats.errors()
    ({'spelling': 1, 'length': 1}, 1, 1, 2)
    """

    implausible: int = 0
    rejects: dict = dataclasses.field(default_factory=dict)

    def errors(self):
        """Return the number of corrupt packets or frames seen (CRC, length, version, plausibility)."""
        return super().errors() + self.implausible

    def reject(self, reason, n=1):
        """Count ``n`` refused frames or packets under ``reason`` (and in the matching counter).

        ``"crc"`` and ``"version"`` count in ``crc_errors`` and
        ``bad_versions``; ``"length"``, ``"cells"`` (a frame that does not
        expand to its cell count) and ``"shape"`` (a frame of another shape) in
        ``bad_lengths``; any other reason in ``implausible``.
        """
        self.rejects[reason] = self.rejects.get(reason, 0) + n
        if reason in _LENGTH_REASONS:
            self.bad_lengths += n
        elif reason == "crc":
            self.crc_errors += n
        elif reason == "version":
            self.bad_versions += n
        else:
            self.implausible += n
