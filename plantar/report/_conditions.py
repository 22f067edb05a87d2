"""Conditions of a report: their kind, which condition each is compared with, and the targets that fit them."""

import math
import re

#: The kinds of condition: the foot on the sensor, in a shoe, or in a shoe with an orthotic (insole).
KINDS = ("barefoot", "shod", "orthotic")

#: Words of a condition label that name its kind (the first match wins, in this order).
_KIND_WORDS = (
    ("orthotic", r"orthotic|orthos[ie]s|orthoses|insole|foot ?orthosis|afo\b|\bfo\b"),
    ("barefoot", r"barefoot|bare\b|unshod|no shoe"),
    ("shod", r"shod|shoe|footwear|trainer|sneaker|boot|sandal"),
)

#: Peak-pressure targets, kPa, per measurement (``"in-shoe"``: insoles; ``"platform"``: a plate or walkway)
#: and condition kind, with the source shown in the report. Owings et al. 2009 (Diabet Med
#: 26:1141-1146) proposed an in-shoe peak pressure below 200 kPa, measured with in-shoe sensors, for
#: footwear that keeps a healed diabetic foot ulcer healed (used to modify footwear by Bus et al. 2013,
#: Diabetes Care 36:4109-4116); it is not a threshold for a plate under a bare foot or a shoe. Barefoot
#: plate thresholds published so far identify sites with an ulcer history on one device (e.g. 4.1
#: kg/cm2, about 400 kPa, on a carbon-paper footprint mat, Abbott et al. 2022, Medicina 58:166, with
#: sensitivities and specificities of 62-100 % and 62-79 % depending on the site) and are not
#: transferable between devices of other sensor sizes: no barefoot or shoe-on-plate target is set.
DEFAULT_TARGETS = {
    ("in-shoe", "barefoot"): None,
    ("in-shoe", "shod"): 200.0,
    ("in-shoe", "orthotic"): 200.0,
    ("in-shoe", None): 200.0,
    ("platform", "barefoot"): None,
    ("platform", "shod"): None,
    ("platform", "orthotic"): None,
    ("platform", None): None,
}

#: What each default target is, as the report cites it.
OWINGS_2009 = "in-shoe criterion of Owings et al. 2009, Diabet Med 26:1141-1146"


def condition_kind(label, attrs=None):
    """The kind of a condition: ``"barefoot"``, ``"shod"``, ``"orthotic"``, or None.

    An attr ``condition_kind`` of the trial wins; then the words of the label
    (e.g. "orthotic A", "shod (trainer)", "barefoot 2"); an in-shoe recording
    (``layout="insole"``) whose label says nothing is shod.

    Parameters
    ----------
    label : str
        The condition's label.
    attrs : dict | None
        The trial's (or analysis's) attrs.

    Returns
    -------
    kind : str | None
        One of :data:`KINDS`, or None when nothing says which.

    Examples
    --------
    >>> from plantar.report import condition_kind
    >>> condition_kind("orthotic A"), condition_kind("Barefoot"), condition_kind("walk 2")
    ('orthotic', 'barefoot', None)
    >>> condition_kind("walk 2", {"layout": "insole"})
    'shod'
    """
    attrs = attrs or {}
    given = str(attrs.get("condition_kind", "") or "").strip().lower()
    if given:
        return check_kind(given)
    text = str(label).lower()
    for kind, words in _KIND_WORDS:
        if re.search(words, text):
            return kind
    condition = str(attrs.get("condition", "") or "").lower()
    for kind, words in _KIND_WORDS:
        if condition and re.search(words, condition):
            return kind
    return "shod" if attrs.get("layout") == "insole" else None


def check_kind(kind):
    """``kind`` checked: one of :data:`KINDS` (or None)."""
    if kind is None:
        return None
    kind = str(kind).strip().lower()
    if kind not in KINDS:
        raise ValueError(f"a condition kind must be one of {KINDS}, got {kind!r}")
    return kind


def measurement(attrs):
    """``"in-shoe"`` for insoles (``layout="insole"``), else ``"platform"`` (a plate, walkway or cut-out window)."""
    return "in-shoe" if attrs.get("layout") == "insole" else "platform"


def default_pairs(kinds):
    """The comparisons a clinician asks for: [(condition, baseline)], in the order of the conditions.

    Each shod condition is compared with the barefoot one, each orthotic with
    its shoe (the nearest shod condition before it, else the first shod one,
    else the barefoot one). A condition of no kind, or when no such baseline
    exists, is compared with the first condition.

    Examples
    --------
    >>> from plantar.report._conditions import default_pairs
    >>> default_pairs({"barefoot": "barefoot", "shod": "shod", "orthotic A": "orthotic", "orthotic B": "orthotic"})
    [('shod', 'barefoot'), ('orthotic A', 'shod'), ('orthotic B', 'shod')]
    """
    labels = list(kinds)
    barefoot = [k for k in labels if kinds[k] == "barefoot"]
    shod = [k for k in labels if kinds[k] == "shod"]
    pairs = []
    for i, label in enumerate(labels):
        kind = kinds[label]
        baseline = None
        if kind == "shod" and barefoot:
            baseline = barefoot[0]
        elif kind == "orthotic":
            before = [k for k in labels[:i] if kinds[k] == "shod"]
            baseline = before[-1] if before else (shod[0] if shod else (barefoot[0] if barefoot else None))
        elif kind == "barefoot" and label != barefoot[0]:
            baseline = barefoot[0]
        if baseline is None and i > 0 and kind != "barefoot":
            baseline = labels[0]
        if baseline is not None and baseline != label:
            pairs.append((label, baseline))
    return pairs


def resolve_targets(targets, target_kpa):
    """``{(measurement, kind): kPa or None}`` from the defaults, ``targets`` per kind and one ``target_kpa`` for all."""
    table = dict(DEFAULT_TARGETS)
    sources = {key: (OWINGS_2009 if value is not None else "") for key, value in table.items()}
    if target_kpa is not None:
        value = _check_kpa(target_kpa, "target_kpa")
        for key in table:
            table[key], sources[key] = value, "target set for this report"
    for kind, value in dict(targets or {}).items():
        kind = None if kind in (None, "", "other") else check_kind(kind)
        value = None if value is None or (isinstance(value, str) and value.lower() == "none") else value
        value = None if value is None else _check_kpa(value, f"targets[{kind!r}]")
        for key in table:
            if key[1] == kind:
                table[key], sources[key] = value, ("target set for this report" if value is not None else "")
    return table, sources


def _check_kpa(value, name):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number of kPa or None, got {value!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number of kPa or None, got {value!r}")
    return value
