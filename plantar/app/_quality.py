"""The quality of one recorded walk: steps per side, complete steps, lost frames, saturation."""

import numpy as np

#: Complete steps per side a condition needs by default (fewer: repeat the walk).
MIN_COMPLETE_STEPS = 3


def trial_quality(trial, analysis=None, *, min_steps=MIN_COMPLETE_STEPS):
    """Say whether a walk is good enough to report: its steps per side, lost frames and saturation.

    Parameters
    ----------
    trial : xarray.Dataset
        A trial in kPa (schema ``trial/1``).
    analysis : xarray.Dataset | None
        Its :func:`plantar.analyze` result; default: analysed here.
    min_steps : int
        Complete steps per side the protocol asks for; fewer on either side
        means the walk should be repeated.

    Returns
    -------
    quality : dict
        ``steps_left``, ``steps_right`` (steps found per side),
        ``complete_left``, ``complete_right`` (complete steps per side),
        ``frames``, ``frames_lost`` (what the recording states, 0 for files
        that do not say), ``saturated_frames`` (frames with at least one
        sensel at the ADC rail; 0 without calibration flags),
        ``saturated_sensels_max`` (the most in one frame), ``min_steps``,
        ``repeat`` (bool) and ``reasons`` (list of str, plain words, empty
        when the walk is good).

    Examples
    --------
    >>> import plantar
    >>> from plantar.app import trial_quality
    >>> walk, truth = plantar.synth.walk(seed=0, passes=1)
    >>> q = trial_quality(walk, min_steps=3)
    >>> q["complete_left"] + q["complete_right"], q["frames_lost"], q["repeat"]
    (3, 0, True)
    >>> q["reasons"][1]
    '1 complete step on the right (3 needed): repeat this walk'
    """
    if analysis is None:
        from ..analyze import analyze

        analysis = analyze(trial)
    side = analysis.side.values if "step" in analysis.sizes else np.array([], dtype=str)
    complete = analysis.complete.values.astype(bool) if "step" in analysis.sizes else np.array([], dtype=bool)
    quality = {"min_steps": int(min_steps), "frames": int(trial.sizes["time"]),
               "frames_lost": int(trial.attrs.get("frames_lost", 0) or 0)}  # fmt: skip
    for name in ("left", "right"):
        quality[f"steps_{name}"] = int(np.count_nonzero(side == name))
        quality[f"complete_{name}"] = int(np.count_nonzero((side == name) & complete))
    if "saturated_sensels" in trial:
        per_frame = trial.saturated_sensels.values
        quality["saturated_frames"] = int(np.count_nonzero(per_frame))
        quality["saturated_sensels_max"] = int(per_frame.max(initial=0))
    else:
        quality["saturated_frames"] = quality["saturated_sensels_max"] = 0
    reasons = []
    for name in ("left", "right"):
        n = quality[f"complete_{name}"]
        if n < min_steps:
            reasons.append(f"{n} complete step{'' if n == 1 else 's'} on the {name} ({min_steps} needed): "
                           "repeat this walk")  # fmt: skip
    quality["reasons"] = reasons
    quality["repeat"] = bool(reasons)
    return quality
