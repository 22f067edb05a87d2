"""Make the virtual mat's reference calibration, by the bench procedure of README.md.

The virtual mat that ``plantar simulate`` starts by default (64 x 64 sensels of
8 mm, seed 0, serial VM-0001) has a known sensor model. This script takes the
calibration recordings of README.md through that same sensor (an empty mat, a
uniform 200 kPa, a 70 kg subject on the left foot, the right foot and both feet),
runs tare, equilibration and the load-curve fit, saves
``virtual-mat_VM-0001.pmcal.nc`` next to this script, and prints how close the
calibrated pressure and force come to the truth.

Run: ``python calibration/make_reference.py [--overwrite]``. Then
``plantar simulate`` in one terminal and, in another,
``plantar record --port PATH --calibration calibration/virtual-mat_VM-0001.pmcal.nc -o walk.nc``
records the virtual mat in kPa.
"""

import argparse
from pathlib import Path

import numpy as np

import plantar
from plantar import calibration
from plantar._schema import STANDARD_GRAVITY_M_S2
from plantar.drivers.sim import VirtualMat, bench_calibration
from plantar.drivers.sim.bench import standing_pressure_kpa

BODY_MASS_KG = 70.0
OUT = Path(__file__).with_name("virtual-mat_VM-0001.pmcal.nc")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--overwrite", action="store_true")
    args = ap.parse_args()
    mat = VirtualMat("pmat1", walk_s=20.0, seed=0)  # the defaults of plantar simulate; not started
    cal = bench_calibration(mat, body_mass_kg=BODY_MASS_KG, seed=1)
    calibration.save(cal, OUT, overwrite=args.overwrite)

    # Check on a new recording of the subject standing on both feet.
    both = standing_pressure_kpa(mat, body_mass_kg=BODY_MASS_KG, seed=2)["both"]
    counts = mat.sensor.counts(np.repeat(both[None], 20, axis=0), np.random.default_rng(3))
    pitch = mat.info["pitch_mm"]
    cell_area_m2 = pitch[0] * pitch[1] * 1e-6
    weight_n = BODY_MASS_KG * STANDARD_GRAVITY_M_S2
    raw = plantar.make_counts(counts, pitch_mm=tuple(pitch), rate_hz=100.0, device=cal.attrs["device"],
                              adc_bits=mat.info["adc_bits"])  # fmt: skip
    check = calibration.apply(raw, cal)
    p = check.pressure.values
    loaded = both > 20.0
    rms = np.sqrt(np.mean(((p[:, loaded] - both[loaded]) / both[loaded]) ** 2))
    force = np.nansum(p, axis=(1, 2)).mean() * 1000 * cell_area_m2
    print(f"wrote {OUT}: {cal.attrs['model']} curve, id {cal.attrs['calibration_id']}")
    print(f"standing on both feet: pressure RMS error {rms:.1%} on sensels above 20 kPa, "
          f"force {force:.1f} N for {weight_n:.1f} N ({force / weight_n - 1:+.2%})")  # fmt: skip


if __name__ == "__main__":
    main()
