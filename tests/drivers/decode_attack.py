"""Attack on the wire decoders: corrupt a stream of known frames at random and count what comes out.

Frames of a synthetic walk are read through the virtual mat's sensor model, encoded
in a wire format, and each frame's bytes pass through a faulty line at a fixed,
seeded rate: bit flips (a rate per bit), byte drops and byte inserts (a random byte;
rates per byte), or all three. The corrupted stream is decoded in reads of 256
bytes, and every delivered frame is compared with the frames that were sent:

- ``garbage``: the share of delivered frames equal to no sent frame (wrong data
  passed as good);
- ``passed``: garbage frames over the frames the line corrupted (the share of
  corrupted frames that get through);
- ``recovered``: the share of the frames the line left intact that were delivered.

Run ``python tests/drivers/decode_attack.py`` to print the table for every
protocol; ``tests/drivers/test_decode_attack.py`` checks the same numbers against
the guarantees the README states.
"""

import argparse
import dataclasses

import numpy as np

from plantar.drivers import PROTOCOLS
from plantar.drivers.sim import VirtualMat

#: Corruption kinds: ``(flip rate per bit, drop rate per byte, insert rate per byte)`` per unit rate.
KINDS = {"flip": (1 / 8, 0, 0), "drop": (0, 1, 0), "insert": (0, 0, 1), "mixed": (1 / 24, 1 / 3, 1 / 3)}
#: Shape of the attacked mat, per protocol (each format's default; csv-rows has none).
SHAPES = {"pmat1": (32, 32), "sensitronics-zrle": (10, 16), "kitronyx-csv": (16, 10), "csv-rows": (16, 16)}


@dataclasses.dataclass
class Outcome:
    """What one attack gave: frame counts and the two shares."""

    sent: int
    intact: int
    delivered: int
    good: int
    garbage: int
    stats: object

    @property
    def garbage_share(self):
        """Delivered frames equal to no sent frame, over all delivered frames."""
        return self.garbage / self.delivered if self.delivered else 0.0

    @property
    def passed_share(self):
        """Delivered frames equal to no sent frame, over the frames the line corrupted."""
        corrupted = self.sent - self.intact
        return self.garbage / corrupted if corrupted else 0.0

    @property
    def recovered_share(self):
        """Delivered good frames over the frames the line left intact (capped at 1)."""
        return min(1.0, self.good / self.intact) if self.intact else 1.0


def walk_frames(name, n_frames=400, seed=0, pitch_mm=20.0):
    """Counts of ``n_frames`` scans of a virtual mat speaking ``name`` while a person walks over it."""
    protocol = PROTOCOLS[name]
    mat = VirtualMat(name, shape=SHAPES[name], pitch_mm=pitch_mm, rate_hz=100.0, walk_s=n_frames / 100.0,
                     seed=seed, link="tcp")  # fmt: skip
    return [np.minimum(mat.truth.counts(k), protocol.max_count) for k in range(n_frames)]


def corrupt(data, rng, flip_per_bit, drop_per_byte, insert_per_byte):
    """Pass ``data`` through a faulty line; return the bytes received and whether any fault hit them."""
    out = np.frombuffer(data, np.uint8).copy()
    n = out.size
    hit = False
    n_flips = rng.binomial(8 * n, flip_per_bit) if flip_per_bit else 0
    if n_flips:
        bits = rng.choice(8 * n, n_flips, replace=False)
        np.bitwise_xor.at(out, bits // 8, (1 << (bits % 8)).astype(np.uint8))
        hit = True
    n_drops = rng.binomial(n, drop_per_byte) if drop_per_byte else 0
    if n_drops:
        out = np.delete(out, rng.choice(n, n_drops, replace=False))
        hit = True
    n_inserts = rng.binomial(n, insert_per_byte) if insert_per_byte else 0
    if n_inserts:
        at = np.sort(rng.integers(0, out.size + 1, n_inserts))
        out = np.insert(out, at, rng.integers(0, 256, n_inserts).astype(np.uint8))
        hit = True
    return out.tobytes(), hit


def attack(name, frames, kind, rate, seed, read_bytes=256, parser=None):
    """Encode ``frames`` in ``name``, corrupt each at ``rate`` of ``kind``, decode; return an :class:`Outcome`."""
    protocol = PROTOCOLS[name]
    rng = np.random.default_rng(seed)
    flip, drop, insert = (share * rate for share in KINDS[kind])
    sent = {}
    pieces = []
    intact = 0
    for k, counts in enumerate(frames):
        encoded = protocol.encode(counts, seq=k, t_device_us=k * 10_000, flags=0)
        sent[counts.astype(np.uint16).tobytes()] = True
        received, hit = corrupt(encoded, rng, flip, drop, insert)
        intact += not hit
        pieces.append(received)
    stream = b"".join(pieces)
    if parser is None:
        parser = protocol.parser(shape=frames[0].shape)
    delivered = []
    for start in range(0, len(stream), read_bytes):
        delivered += parser.feed(stream[start : start + read_bytes], t_host_ns=0)
    good = sum(f.counts.tobytes() in sent and f.counts.shape == frames[0].shape for f in delivered)
    return Outcome(len(frames), intact, len(delivered), good, len(delivered) - good, parser.stats)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=400)
    ap.add_argument("--rate", type=float, default=1e-3, help="fault events per byte (default 1e-3)")
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    print(f"{args.frames} walking frames per run, {args.rate:g} faults per byte, {args.seeds} seeds; "
          "garbage = delivered frames equal to no sent frame; recovered = intact frames delivered")  # fmt: skip
    print(f"{'protocol':>18}  {'kind':>6}  {'intact':>6}  {'delivered':>9}  {'garbage':>8}  {'passed':>7}  "
          f"{'recovered':>9}")  # fmt: skip
    cases = [(name, name, {}) for name in sorted(PROTOCOLS)]
    # csv-rows told the ADC's range (the virtual mat's 12 bits), which the stream cannot say.
    cases.insert(1, ("csv-rows", "csv-rows 12-bit", {"max_value": 4095}))
    for name, label, options in cases:
        frames = walk_frames(name, args.frames)
        for kind in KINDS:
            runs = [attack(name, frames, kind, args.rate, seed, parser=PROTOCOLS[name].parser(
                shape=frames[0].shape, **options)) for seed in range(args.seeds)]  # fmt: skip
            delivered = sum(r.delivered for r in runs)
            n_garbage = sum(r.garbage for r in runs)
            garbage = n_garbage / max(delivered, 1)
            passed = n_garbage / max(sum(r.sent - r.intact for r in runs), 1)
            recovered = min(1.0, sum(r.good for r in runs) / max(sum(r.intact for r in runs), 1))
            intact = sum(r.intact for r in runs) / sum(r.sent for r in runs)
            print(f"{label:>18}  {kind:>6}  {intact:6.1%}  {delivered:9d}  {garbage:8.1%}  {passed:7.1%}  "
                  f"{recovered:9.1%}")  # fmt: skip


if __name__ == "__main__":
    main()
