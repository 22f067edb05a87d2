"""A synthetic study: several walkers, each in several conditions, as files with their ground truth."""

from pathlib import Path

import numpy as np
import pandas as pd

from .. import synth
from ..io import save

#: The conditions of :func:`synthetic_study` by default: barefoot, and an insole that takes half the load off
#: the right first metatarsal head.
STUDY_CONDITIONS = {"barefoot": {}, "insole": {"offload": {"right_mth1": 0.5}}}


def synthetic_study(folder, *, n_subjects=6, conditions=None, trials=2, passes=2, seed=0, mat_length_mm=2000.0):
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
        (``offload``, ``condition`` = footwear, ``stance_scale``); default
        :data:`STUDY_CONDITIONS`.
    trials : int
        Trials (walks) per subject and condition.
    passes : int
        Passes over the mat per trial.
    seed : int
        Seed: the same arguments give the same study.
    mat_length_mm : float
        Length of the mat, mm (a shorter mat gives smaller files and fewer steps).

    Returns
    -------
    manifest : pandas.DataFrame
        ``file``, ``subject``, ``condition``, ``visit`` (""), ``trial``,
        ``body_mass_kg``, ``side`` (""), as :func:`plantar.cohort.read_manifest` gives.
    truth : pandas.DataFrame
        The ground truth per complete step: ``subject``, ``condition``,
        ``trial``, ``step``, ``side``, ``region``, ``metric``
        (``force_time_integral``, N s, and ``relative_load``, %), ``value``.

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
    for i in range(n_subjects):
        subject = f"s{i + 1:02d}"
        walker = dict(body_mass_kg=float(rng.uniform(55, 95)), foot_length_mm=float(rng.uniform(245, 275)),
                      speed_m_s=float(rng.uniform(1.0, 1.35)), cadence_steps_per_min=float(rng.uniform(100, 120)),
                      step_width_mm=float(rng.uniform(70, 130)), toe_out_deg=float(rng.uniform(2, 12)))  # fmt: skip
        for condition, change in conditions.items():
            for trial in range(1, trials + 1):
                walk_seed = int(rng.integers(2**31))
                trial_ds, truth = synth.walk(seed=walk_seed, passes=passes, mat_length_mm=mat_length_mm,
                                             subject=subject, **walker, **change)  # fmt: skip
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
    return pd.DataFrame(rows), pd.concat(truths, ignore_index=True)
