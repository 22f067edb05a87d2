"""Plantar regions: names, how they nest, and the default ``"percent"`` scheme.

Regions are defined per step in foot-aligned coordinates: ``u`` is the position
along the foot axis as a fraction of foot length (0 = heel end, 1 = toe tip) and
``w`` the position across the footprint of the metatarsal or toe band, as a
fraction from the band's medial border (0) to its lateral border (1). Medial is
toward the body's midline, so it depends on the side.

``w`` is measured across the whole band, not across each row of it: near the toe
tip only the hallux is present, so a row-by-row width would call its lateral part
lesser toes (about a third of the hallux load in a typical footprint), and the
proximal rows of the metatarsal band hold only the fifth metatarsal head. Masks in
use do the same: the pedar "mask 2" takes the hallux as the medial 35 % of the
toe-region width (Lee et al. 2014, J Foot Ankle Res 7:18).

The default ``"percent"`` scheme:

==============================  ======================================================
region                          rule
==============================  ======================================================
heel                            u < 0.30
arch                            0.30 <= u < 0.55
mth1 / mth2_3 / mth4_5          0.55 <= u < 0.80 and w in [0, 1/3) / [1/3, 2/3) / [2/3, 1]
hallux / lesser_toes            u >= 0.80 and w < 0.40 / w >= 0.40
metatarsal_heads                mth1 + mth2_3 + mth4_5
toes                            hallux + lesser_toes
forefoot                        metatarsal_heads + toes
total                           the whole footprint
==============================  ======================================================

The hindfoot and midfoot cuts are close to those of the novel-like automask as
reproduced by pressuRe (27 % and 55 % of foot length; Telfer et al. 2023, Sci Rep,
doi:10.1038/s41598-023-44041-6) and to the 30/55/85 % bands used with the StepUP-P150 walkway data.
"""

import numpy as np

#: Base regions, in label order: label k (1-based) is ``BASE_REGIONS[k - 1]``.
BASE_REGIONS = ("heel", "arch", "mth1", "mth2_3", "mth4_5", "hallux", "lesser_toes")

#: Every region reported, in output order, with the base regions it is made of.
REGIONS = {
    "total": BASE_REGIONS,
    "heel": ("heel",),
    "arch": ("arch",),
    "forefoot": ("mth1", "mth2_3", "mth4_5", "hallux", "lesser_toes"),
    "metatarsal_heads": ("mth1", "mth2_3", "mth4_5"),
    "toes": ("hallux", "lesser_toes"),
    "mth1": ("mth1",),
    "mth2_3": ("mth2_3",),
    "mth4_5": ("mth4_5",),
    "hallux": ("hallux",),
    "lesser_toes": ("lesser_toes",),
}

#: Boundaries of the ``"percent"`` scheme, fractions of foot length / width.
HEEL_END_U = 0.30
ARCH_END_U = 0.55
MTH_END_U = 0.80
HALLUX_END_W = 0.40


def region_matrix():
    """Matrix summing base-region values into every reported region.

    Returns
    -------
    matrix : ndarray of float, shape (7, 11)
        ``values_by_region = values_by_base_region @ matrix``, with rows in the order
        of :data:`BASE_REGIONS` and columns in the order of :data:`REGIONS`.

    Examples
    --------
    >>> import numpy as np
    >>> from plantar.regions import region_matrix, REGIONS
    >>> per_base = np.array([10.0, 2.0, 3.0, 4.0, 1.0, 5.0, 1.0])
    >>> float(dict(zip(REGIONS, per_base @ region_matrix()))["forefoot"])
    14.0
    """
    matrix = np.zeros((len(BASE_REGIONS), len(REGIONS)))
    for col, members in enumerate(REGIONS.values()):
        for name in members:
            matrix[BASE_REGIONS.index(name), col] = 1.0
    return matrix


def percent_labels(u, v, footprint):
    """Label the points of a footprint with the ``"percent"`` scheme.

    Parameters
    ----------
    u : array_like of float
        Position along the foot axis as a fraction of foot length (0 = heel end,
        1 = toe tip).
    v : array_like of float
        Position across the foot axis, positive toward the medial side, in any
        unit (mm, say). Same shape as ``u``.
    footprint : array_like of bool
        Which points belong to the footprint. Same shape as ``u``.

    Returns
    -------
    labels : ndarray of int8
        0 outside the footprint, else 1 .. 7 = index into :data:`BASE_REGIONS`
        plus one.

    Examples
    --------
    A rectangular "foot" 100 units long and 30 wide, sampled every 10 units:

    >>> import numpy as np
    >>> from plantar.regions import percent_labels, BASE_REGIONS
    >>> u, v = np.meshgrid((np.arange(10) + 0.5) / 10, [10.0, 0.0, -10.0], indexing="ij")
    >>> labels = percent_labels(u, v, np.ones(u.shape, dtype=bool))
    >>> labels[:, 0]      # medial column, heel to toe
    array([1, 1, 1, 2, 2, 3, 3, 3, 6, 6], dtype=int8)
    >>> [BASE_REGIONS[k - 1] for k in labels[6]]   # across the metatarsal band
    ['mth1', 'mth2_3', 'mth4_5']
    """
    u, v, footprint = np.broadcast_arrays(
        np.asarray(u, dtype=float), np.asarray(v, dtype=float), np.asarray(footprint, dtype=bool)
    )
    w = np.zeros(u.shape)
    for band in (
        footprint & (u >= ARCH_END_U) & (u < MTH_END_U),
        footprint & (u >= MTH_END_U),
    ):
        if band.any():
            medial, lateral = v[band].max(), v[band].min()
            width = medial - lateral
            w[band] = (medial - v[band]) / width if width > 0 else 0.5
    mth = 3 + np.clip(np.floor(w * 3), 0, 2)
    toes = np.where(w < HALLUX_END_W, 6, 7)
    labels = np.select(
        [~footprint, u < HEEL_END_U, u < ARCH_END_U, u < MTH_END_U],
        [0, 1, 2, mth],
        default=toes,
    )
    return labels.astype(np.int8)


class PercentMask:
    """The ``"percent"`` scheme as a mask: a region label image for one step.

    Masking schemes are small classes with a ``name`` and a ``label`` method, so
    that other schemes (an anatomical automask from pressure peaks, user-drawn
    polygons, vendor masks) can be added beside this one and chosen with
    ``plantar.analyze(trial, mask=...)``.

    Attributes
    ----------
    name : str
        ``"percent"``.
    sided_regions : tuple of str
        Regions that need medial told from lateral; their metrics are NaN for a
        step whose side is unknown.

    Examples
    --------
    >>> import numpy as np
    >>> from plantar.geometry import FootGeometry
    >>> from plantar.regions import PercentMask, BASE_REGIONS
    >>> g = FootGeometry(0.0, 0.0, 0.0, 1.0, -35.0, 260.0, 100.0, 40.0)
    >>> x, y = np.array([-20.0, 0.0, 20.0]), np.array([0.0, 150.0, 200.0])
    >>> labels = PercentMask().label(g, "left", x, y, np.ones((3, 3), dtype=bool))
    >>> [BASE_REGIONS[k - 1] for k in labels[1]]    # left foot: medial is +x
    ['mth4_5', 'mth2_3', 'mth1']
    """

    name = "percent"
    sided_regions = ("mth1", "mth4_5", "hallux", "lesser_toes")

    def label(self, geometry, side, x_mm, y_mm, footprint):
        """Label the sensels of a step's box.

        Parameters
        ----------
        geometry : plantar.geometry.FootGeometry
            The step's heel centre, axis and length.
        side : {"left", "right", "unknown"}
            The step's side; it says which way is medial. For "unknown" the
            labels are made as for a right foot and the sided regions must not
            be used.
        x_mm : array_like, shape (n_cols,)
            Column centres of the box, mm.
        y_mm : array_like, shape (n_rows,)
            Row centres of the box, mm.
        footprint : array_like of bool, shape (n_rows, n_cols)
            The sensels of the footprint.

        Returns
        -------
        labels : ndarray of int8, shape (n_rows, n_cols)
            0 outside the footprint, else 1 .. 7 (see :data:`BASE_REGIONS`).
        """
        X, Y = np.meshgrid(np.asarray(x_mm, dtype=float), np.asarray(y_mm, dtype=float))
        u, v_left = geometry.foot_coords(X, Y)
        v_medial = -v_left if side == "left" else v_left
        return percent_labels(u, v_medial, footprint)


#: Masking schemes by name.
MASKS = {"percent": PercentMask}


def get_mask(mask):
    """A masking scheme from its name, or the scheme itself.

    Parameters
    ----------
    mask : str | object
        A name in :data:`MASKS`, or an object with ``name``, ``sided_regions``
        and ``label(geometry, side, x_mm, y_mm, footprint)``.

    Returns
    -------
    scheme : object
        The masking scheme.

    Examples
    --------
    >>> from plantar.regions import get_mask
    >>> get_mask("percent").name
    'percent'
    """
    if isinstance(mask, str):
        if mask not in MASKS:
            raise ValueError(f"mask must be one of {tuple(MASKS)} or a mask object, got {mask!r}")
        return MASKS[mask]()
    if not all(hasattr(mask, attr) for attr in ("name", "sided_regions", "label")):
        raise ValueError(f"mask must be one of {tuple(MASKS)} or a mask object, got {mask!r}")
    return mask
