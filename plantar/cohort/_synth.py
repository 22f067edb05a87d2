"""A synthetic study: several walkers, each in several conditions, as files with their ground truth."""

from pathlib import Path

import numpy as np
import pandas as pd

from .. import synth
from ..io import save

#: The conditions of :func:`synthetic_study` by default: barefoot, and insoles that take half the load off the
#: first metatarsal head of both feet, the rest of the feet unchanged (``local``).
STUDY_CONDITIONS = {"barefoot": {}, "insole": {"offload": {"left_mth1": 0.5, "right_mth1": 0.5}, "local": True}}


def synthetic_study(folder, *, n_subjects=6, conditions=None, trials=2, passes=2, seed=0, mat_length_mm=2000.0,
                    subjects=None):  # fmt: skip
    """Write a synthetic study to a folder: walkers x conditions x trials, with the truth.

    Every subject is a walker of the synthetic model (:func:`plantar.synth.walk`)
    of their own body mass (55-95 kg), foot length (245-275 mm), speed
    (1.0-1.35 m/s), step width and toe-out; each condition changes the walk
    as given (e.g. an offload of a region, or shoes), the same for everyone.
    Files are named ``{subject}_{condition}_{trial}.nc``.

    Parameters
    ----------
    folder : str | os.PathLike
        Where to write the files (made if missing).
    n_subjects : int
        Number of subjects, ``s01``, ``s02``, ...
    conditions : dict of str to dict | None
        Condition label -> keyword arguments of :func:`plantar.synth.walk`
        (``offload``, ``condition`` = footwear, ``stance_scale``), and
        ``local=True`` to keep the rest of the foot as it is under an offload
        (see Notes); default :data:`STUDY_CONDITIONS`.
    trials : int
        Trials (walks) per subject and condition.
    passes : int
        Passes over the mat per trial.
    seed : int
        Seed: the same arguments give the same study.
    mat_length_mm : float
        Length of the mat, mm (a shorter mat gives smaller files and fewer steps).
    subjects : sequence of int | None
        Write only these subjects (numbers from 1): the others are drawn but
        not walked, so that a study can be written in parts (in parallel)
        and the parts together are the whole study. Default all.

    Returns
    -------
    manifest : pandas.DataFrame
        ``file``, ``subject``, ``condition``, ``visit`` (""), ``trial``,
        ``body_mass_kg``, ``side`` (""), as :func:`plantar.cohort.read_manifest` gives.
    truth : pandas.DataFrame
        The ground truth per complete step: ``subject``, ``condition``,
        ``trial``, ``step``, ``side``, ``region``, ``metric``
        (``force_time_integral``, N s, and ``relative_load``, %), ``value``.

    Notes
    -----
    In the walking model an offload moves the region's share of each step's
    impulse to the rest of the foot (momentum balance: the feet carry body
    weight), so every other region carries a few percent more. With
    ``local=True`` (the same offload on both feet) the walker's body mass is
    lowered by the share of the impulse the offload removes (from the model's
    mean loading of a foot), as if a cane carried it: the other regions are
    then unchanged on average and the only difference is under the offloaded
    region, a known truth for sensel-by-sensel tests.

    Examples
    --------
    >>> import tempfile
    >>> from plantar.cohort import synthetic_study
    >>> manifest, truth = synthetic_study(tempfile.mkdtemp(), n_subjects=2, trials=1, passes=1)
    >>> manifest[["subject", "condition", "trial"]].values.tolist()
    [['s01', 'barefoot', '1'], ['s01', 'insole', '1'], ['s02', 'barefoot', '1'], ['s02', 'insole', '1']]
    >>> sorted(truth.metric.unique())
    ['force_time_integral', 'relative_load']
    """
    conditions = dict(STUDY_CONDITIONS if conditions is None else conditions)
    for name, value in (("n_subjects", n_subjects), ("trials", trials), ("passes", passes)):
        if not (isinstance(value, (int, np.integer)) and value >= 1):
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows, truths = [], []
    wanted = set(range(1, n_subjects + 1) if subjects is None else subjects)
    for i in range(n_subjects):
        subject = f"s{i + 1:02d}"
        walker = dict(body_mass_kg=float(rng.uniform(55, 95)), foot_length_mm=float(rng.uniform(245, 275)),
                      speed_m_s=float(rng.uniform(1.0, 1.35)), cadence_steps_per_min=float(rng.uniform(100, 120)),
                      step_width_mm=float(rng.uniform(70, 130)), toe_out_deg=float(rng.uniform(2, 12)))  # fmt: skip
        for condition, change in conditions.items():
            change = dict(change)
            person = dict(walker)
            if change.pop("local", False):
                person["body_mass_kg"] *= _kept_impulse(change.get("offload"), change.get("condition", "barefoot"),
                                                        person["foot_length_mm"])  # fmt: skip
            for trial in range(1, trials + 1):
                walk_seed = int(rng.integers(2**31))
                if i + 1 not in wanted:
                    continue
                trial_ds, truth = synth.walk(seed=walk_seed, passes=passes, mat_length_mm=mat_length_mm,
                                             subject=subject, **person, **change)  # fmt: skip
                trial_ds.attrs["body_mass_kg"] = walker["body_mass_kg"]
                trial_ds.attrs["condition"] = condition
                path = folder / f"{subject}_{condition}_{trial}.nc"
                save(trial_ds, path, overwrite=True)
                rows.append({"file": str(path.resolve()), "subject": subject, "condition": condition, "visit": "",
                             "trial": str(trial), "body_mass_kg": walker["body_mass_kg"], "side": ""})  # fmt: skip
                complete = truth["complete"].values.astype(bool)
                for metric in ("force_time_integral", "relative_load"):
                    values = truth[metric].values[complete]
                    frame = pd.DataFrame({
                        "subject": subject, "condition": condition, "trial": str(trial),
                        "step": np.repeat(truth["step"].values[complete], values.shape[1]),
                        "side": np.repeat(truth["side"].values[complete], values.shape[1]),
                        "region": np.tile(truth["region"].values, int(complete.sum())),
                        "metric": metric, "value": values.ravel()})  # fmt: skip
                    truths.append(frame)
    return pd.DataFrame(rows), pd.concat(truths, ignore_index=True) if truths else pd.DataFrame()


def _kept_impulse(offload, footwear, foot_length_mm):
    """Share of a step's impulse an offloaded foot keeps, from the model's mean structure loading.

    Each step's impulse follows from body weight and its structures share it,
    so lowering body mass by this share leaves the other structures' loads as
    they were. Both feet must be offloaded alike.
    """
    template = synth._template(footwear, foot_length_mm)
    gains = synth._offload_gains(offload)
    tau = synth._TAU_FINE
    full = synth._structure_forces(tau, template.schedule, template.weight, 1.0, 1.0).sum(axis=1)
    kept = [synth._structure_forces(tau, template.schedule, template.weight, gains[side], 1.0).sum(axis=1)
            for side in ("left", "right")]  # fmt: skip
    shares = [np.trapezoid(k, tau) / np.trapezoid(full, tau) for k in kept]
    if not np.isclose(shares[0], shares[1]):
        raise ValueError(f"local=True needs the same offload on both feet, got {offload!r}")
    return float(shares[0])
