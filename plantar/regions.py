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
    base_regions = BASE_REGIONS
    regions = REGIONS
    sided_regions = ("mth1", "mth4_5", "hallux", "lesser_toes")
    uses_pressure = False

    def region_matrix(self):
        """Matrix summing base-region values into every region: :func:`region_matrix`."""
        return region_matrix()

    def coarse(self, labels):
        """The labels as they are (this scheme's base regions are :data:`BASE_REGIONS`)."""
        return np.asarray(labels, dtype=np.int8)

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


#: Base regions of the ``"anatomical"`` scheme, in label order (``arch`` is the midfoot).
ANATOMICAL_BASE_REGIONS = ("heel", "arch", "mth1", "mth2", "mth3", "mth4", "mth5", "hallux", "toe2", "toes3_5")

#: Regions of the ``"anatomical"`` scheme: every region of :data:`REGIONS` (same names, same meaning, drawn on
#: the footprint's anatomy) and each metatarsal head, the second toe and the third to fifth toes on their own.
ANATOMICAL_REGIONS = {
    "total": ANATOMICAL_BASE_REGIONS,
    "heel": ("heel",),
    "arch": ("arch",),
    "forefoot": ANATOMICAL_BASE_REGIONS[2:],
    "metatarsal_heads": ("mth1", "mth2", "mth3", "mth4", "mth5"),
    "toes": ("hallux", "toe2", "toes3_5"),
    "mth1": ("mth1",),
    "mth2_3": ("mth2", "mth3"),
    "mth4_5": ("mth4", "mth5"),
    "hallux": ("hallux",),
    "lesser_toes": ("toe2", "toes3_5"),
    "mth2": ("mth2",),
    "mth3": ("mth3",),
    "mth4": ("mth4",),
    "mth5": ("mth5",),
    "toe2": ("toe2",),
    "toes3_5": ("toes3_5",),
}

#: Where the load of each structure typically lies in a footprint: (base region, u, w) with u along the foot axis
#: as a fraction of foot length from the heel end, and w across the metatarsal band (0.55 <= u < 0.80) as a
#: fraction of its width from the medial border. The heads lie on the oblique metatarsal parabola (the first
#: and second most distal, the fifth most proximal), the toes beyond them; the lateral midfoot band carries
#: the arch's load. They only seed the search: each seed moves to the pressure peak it matches, and the
#: boundaries follow the pressure valleys between the peaks.
ANATOMICAL_SEEDS = (
    ("arch", 0.42, 0.72),
    ("mth1", 0.71, 0.16),
    ("mth2", 0.72, 0.39),
    ("mth3", 0.70, 0.58),
    ("mth4", 0.67, 0.75),
    ("mth5", 0.64, 0.89),
    ("hallux", 0.92, 0.17),
    ("toe2", 0.90, 0.43),
    ("toes3_5", 0.88, 0.58),
    ("toes3_5", 0.85, 0.70),
    ("toes3_5", 0.82, 0.80),
)
#: A pressure peak matches a seed within this distance, as a fraction of foot length.
_SEED_REACH = 0.06


#: Pressure levels of the flooding: the watershed resolves valleys deeper than 1/64 of the step's peak.
_FLOOD_LEVELS = 64
_NEIGHBOURS = tuple((dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc)


def _flood(peak, markers, footprint):
    """Marker-based watershed of the peak-pressure image, flooded from the highest pressure down.

    At each of :data:`_FLOOD_LEVELS` falling levels, the labels grow over the footprint's sensels at or above
    the level, one ring of 8-neighbours at a time, each sensel taking the label of its highest-pressure labelled
    neighbour. Two basins meet where the pressure between them is lowest: on the valley. Each ring is one array
    operation over the sensels still unlabelled (their neighbours by offsets into the padded image), no loop
    over sensels.
    """
    rows, cols = peak.shape
    width = cols + 2
    labels = np.zeros((rows + 2, width), dtype=np.int16)
    labels[1:-1, 1:-1] = markers
    height = np.full((rows + 2, width), -1.0)
    height[1:-1, 1:-1] = np.where(footprint, peak, -1.0)
    labels, height = labels.ravel(), height.ravel()
    offsets = np.array([dr * width + dc for dr, dc in _NEIGHBOURS])
    r, c = np.nonzero(footprint & (markers == 0))
    remaining = (r + 1) * width + (c + 1)
    for level in np.linspace(peak.max(), 0.0, _FLOOD_LEVELS + 1)[1:]:
        pool = remaining[height[remaining] >= level]
        while pool.size:
            around = pool[:, None] + offsets
            found = labels[around]
            best = np.argmax(np.where(found > 0, height[around], -2.0), axis=1)
            got = found[np.arange(pool.size), best]
            take = got > 0
            if not take.any():
                break
            labels[pool[take]] = got[take]
            pool = pool[~take]
        remaining = remaining[labels[remaining] == 0]
    return labels.reshape(rows + 2, width)[1:-1, 1:-1].copy()


def _matrix(base_regions, regions):
    matrix = np.zeros((len(base_regions), len(regions)))
    for col, members in enumerate(regions.values()):
        for name in members:
            matrix[base_regions.index(name), col] = 1.0
    return matrix


class AnatomicalMask:
    """The ``"anatomical"`` scheme: regions drawn on the footprint's own pressure peaks and valleys.

    As novel's automask does, the footprint is split into heel, midfoot
    (``arch``), each metatarsal head MTH1 .. MTH5, the hallux, the second toe
    and the third to fifth toes (``toes3_5``), along the valleys of the step's
    peak-pressure image between them: the metatarsal heads from one another
    along the valleys between the heads, the toes from the heads along the toe
    line (the valley behind the toes).

    How: in the foot frame of the step (:class:`plantar.geometry.FootGeometry`;
    medial from the side), each structure has a seed at its typical position
    (:data:`ANATOMICAL_SEEDS`, scaled to the foot's length and to the width of
    its metatarsal band). The local maxima of the peak-pressure image are
    matched one to one to the seeds (the matching of least total distance,
    within 6 % of foot length; a plateau of equal readings is one peak). The
    heel seed is the highest peak of the heel (u < 0.30). From the seeds
    matched to a peak, a watershed on the
    peak-pressure image (flooded from the highest pressure down in 64 levels,
    8-connected) gives every sensel of the footprint to the seed it is
    reached from along the highest pressures: boundaries fall on the valleys.
    Sensels the flood does not reach (a footprint in pieces) go to the nearest
    labelled sensel. A seed without a peak of its own (neighbouring heads that
    show as one peak, on a coarse mat or a real forefoot) shares the basin it
    lies in with the basin's peak: the basin is split between them by distance
    in the foot frame, as a geometric mask would be where there is no valley.

    The regions of :data:`REGIONS` keep their names (``mth2_3`` = MTH2 +
    MTH3, ``lesser_toes`` = toes 2-5, ...), so the percent scheme's regions
    can be read from either scheme; :data:`ANATOMICAL_REGIONS` adds each head
    and ``toe2`` and ``toes3_5``.

    Attributes
    ----------
    name : str
        ``"anatomical"``.
    base_regions : tuple of str
        :data:`ANATOMICAL_BASE_REGIONS`, in label order.
    regions : dict
        :data:`ANATOMICAL_REGIONS`.
    sided_regions : tuple of str
        Regions that need medial told from lateral: every head and toe region
        but the sums over all of them; NaN for a step of unknown side.
    uses_pressure : bool
        True: ``label`` needs the step's peak-pressure image.

    Examples
    --------
    >>> import plantar
    >>> trial, truth = plantar.synth.walk(seed=1, passes=1)
    >>> analysis = plantar.analyze(trial, mask="anatomical")
    >>> analysis.attrs["mask"], analysis.region.values[-6:].tolist()
    ('anatomical', ['mth2', 'mth3', 'mth4', 'mth5', 'toe2', 'toes3_5'])
    >>> load = analysis.relative_load.sel(region=["mth1", "mth2", "mth3", "mth4", "mth5"])
    >>> bool((load.where(analysis.complete) > 2).sum() > 0)
    True
    """

    name = "anatomical"
    base_regions = ANATOMICAL_BASE_REGIONS
    regions = ANATOMICAL_REGIONS
    sided_regions = ("mth1", "mth2_3", "mth4_5", "hallux", "lesser_toes", "mth2", "mth3", "mth4", "mth5", "toe2",
                     "toes3_5")  # fmt: skip
    uses_pressure = True

    def region_matrix(self):
        """Matrix summing base-region values into every region, shape (10, 17); see :func:`region_matrix`."""
        return _matrix(self.base_regions, self.regions)

    def label(self, geometry, side, x_mm, y_mm, footprint, peak_kpa=None):
        """Label the sensels of a step's box.

        Parameters
        ----------
        geometry : plantar.geometry.FootGeometry
            The step's heel centre, axis and length.
        side : {"left", "right", "unknown"}
            The step's side (which way is medial); "unknown" labels as a right
            foot, and the sided regions must not be used.
        x_mm : array_like, shape (n_cols,)
            Column centres of the box, mm.
        y_mm : array_like, shape (n_rows,)
            Row centres of the box, mm.
        footprint : array_like of bool, shape (n_rows, n_cols)
            The sensels of the footprint.
        peak_kpa : array_like of float, shape (n_rows, n_cols)
            The step's peak pressure per sensel, kPa.

        Returns
        -------
        labels : ndarray of int8, shape (n_rows, n_cols)
            0 outside the footprint, else 1 .. 10 (see
            :data:`ANATOMICAL_BASE_REGIONS`).
        """
        from scipy.ndimage import distance_transform_edt, label, maximum_filter
        from scipy.optimize import linear_sum_assignment

        footprint = np.asarray(footprint, dtype=bool)
        if peak_kpa is None:
            raise ValueError("the anatomical mask needs the step's peak pressure (peak_kpa)")
        peak = np.where(footprint, np.nan_to_num(np.asarray(peak_kpa, dtype=float)), 0.0)
        labels = np.zeros(footprint.shape, dtype=np.int8)
        if not footprint.any() or peak.max() <= 0:
            return labels
        X, Y = np.meshgrid(np.asarray(x_mm, dtype=float), np.asarray(y_mm, dtype=float))
        u, v_left = geometry.foot_coords(X, Y)
        v = -v_left if side == "left" else v_left  # + medial
        length = geometry.length_mm
        band = footprint & (u >= ARCH_END_U) & (u < MTH_END_U)
        medial, lateral = (v[band].max(), v[band].min()) if band.any() else (v[footprint].max(), v[footprint].min())
        width = max(medial - lateral, 1e-9)

        markers = np.zeros(footprint.shape, dtype=np.int16)
        heel_zone = footprint & (u < HEEL_END_U)
        if heel_zone.any():
            markers[np.unravel_index(np.argmax(np.where(heel_zone, peak, -1.0)), peak.shape)] = 1
        # Seeds in mm (along, across), and the footprint's pressure peaks.
        seed_codes = np.array([self.base_regions.index(name) + 1 for name, _, _ in ANATOMICAL_SEEDS])
        seed_u = np.array([s[1] for s in ANATOMICAL_SEEDS])
        seed_v = medial - np.array([s[2] for s in ANATOMICAL_SEEDS]) * width
        is_peak = footprint & (peak == maximum_filter(peak, size=3, mode="constant")) & (peak > 0.05 * peak.max())
        is_peak &= u >= HEEL_END_U
        # A plateau (equal readings side by side, as a coarsely quantised export gives) is one peak.
        plateaus, count = label(is_peak, structure=np.ones((3, 3), dtype=bool))
        first = np.unique(plateaus.ravel(), return_index=True)[1][1:] if count else np.zeros(0, dtype=int)
        pr, pc = np.unravel_index(first, is_peak.shape)
        cost = np.hypot((u[pr, pc][:, None] - seed_u[None]) * length, v[pr, pc][:, None] - seed_v[None])
        reach = _SEED_REACH * length
        placed = np.zeros(len(ANATOMICAL_SEEDS), dtype=bool)
        if pr.size:
            rows, cols = linear_sum_assignment(np.where(cost <= reach, cost, 1e9))
            for i, j in zip(rows, cols):
                if cost[i, j] <= reach and markers[pr[i], pc[i]] == 0:
                    markers[pr[i], pc[i]] = seed_codes[j]
                    placed[j] = True
        # The basins of the peaks, flooded over the peak-pressure image: their boundaries lie on the valleys.
        labels = _flood(peak, markers, footprint)
        missing = footprint & (labels == 0)
        if missing.any() and (labels > 0).any():
            _, (ir, ic) = distance_transform_edt(labels == 0, return_indices=True)
            labels[missing] = labels[ir[missing], ic[missing]]
        # A seed without a peak of its own (neighbouring heads that show as one peak, on a coarse mat or a real
        # foot) shares the basin it lies in with the basin's peak: the basin is split between them by distance
        # in the foot frame, as a geometric mask would be where there is no valley.
        fr, fc = np.nonzero(footprint)
        along, across = u * length, v
        for j in np.flatnonzero(~placed):
            d = np.hypot(along[fr, fc] - seed_u[j] * length, across[fr, fc] - seed_v[j])
            i = int(np.argmin(d))
            if d[i] > reach:
                continue
            basin = labels == labels[fr[i], fc[i]]
            owner = (markers > 0) & basin
            if not owner.any():
                continue
            own_along, own_across = along[owner].mean(), across[owner].mean()
            to_seed = np.hypot(along - seed_u[j] * length, across - seed_v[j])
            to_owner = np.hypot(along - own_along, across - own_across)
            take = basin & (to_seed < to_owner)
            markers[fr[i], fc[i]] = seed_codes[j]
            labels[take] = seed_codes[j]
        return labels.astype(np.int8)

    def coarse(self, labels):
        """The labels in the base regions of the ``"percent"`` scheme (:data:`BASE_REGIONS`), for drawing.

        Parameters
        ----------
        labels : array_like of int
            Labels of this scheme (0 .. 10).

        Returns
        -------
        labels : ndarray of int8
            0 outside, 1 .. 7 as :data:`BASE_REGIONS` (MTH2 and MTH3 are
            ``mth2_3``, toes 2-5 ``lesser_toes``, ...).

        Examples
        --------
        >>> from plantar.regions import AnatomicalMask
        >>> AnatomicalMask().coarse([0, 1, 4, 5, 10]).tolist()
        [0, 1, 4, 4, 7]
        """
        table = np.zeros(len(self.base_regions) + 1, dtype=np.int8)
        for code, name in enumerate(self.base_regions, start=1):
            group = next(r for r in BASE_REGIONS if name in self.regions[r])
            table[code] = BASE_REGIONS.index(group) + 1
        return table[np.asarray(labels, dtype=int)]


#: Masking schemes by name.
MASKS = {"percent": PercentMask, "anatomical": AnatomicalMask}


def get_mask(mask):
    """A masking scheme from its name, or the scheme itself.

    Parameters
    ----------
    mask : str | object
        A name in :data:`MASKS` (``"percent"``, ``"anatomical"``), or an
        object with ``name``, ``sided_regions`` and ``label(geometry, side,
        x_mm, y_mm, footprint)``; optionally ``base_regions``, ``regions`` and
        ``region_matrix()`` (its own regions; else those of the percent
        scheme), ``coarse(labels)`` (its labels in :data:`BASE_REGIONS`, for
        drawing) and ``uses_pressure = True`` (``label`` is then also given
        ``peak_kpa``, the step's peak pressure per sensel).

    Returns
    -------
    scheme : object
        The masking scheme.

    Examples
    --------
    >>> from plantar.regions import get_mask
    >>> get_mask("percent").name
    'percent'
    >>> get_mask("anatomical").base_regions[2:7]
    ('mth1', 'mth2', 'mth3', 'mth4', 'mth5')
    """
    if isinstance(mask, str):
        if mask not in MASKS:
            raise ValueError(f"mask must be one of {tuple(MASKS)} or a mask object, got {mask!r}")
        return MASKS[mask]()
    if not all(hasattr(mask, attr) for attr in ("name", "sided_regions", "label")):
        raise ValueError(f"mask must be one of {tuple(MASKS)} or a mask object, got {mask!r}")
    return mask
