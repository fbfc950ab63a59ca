"""Small data sets that ship with emlib, so that the book builds and runs offline."""

from __future__ import annotations

from importlib import resources

import pandas as pd

__all__ = ["old_faithful"]


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
    with resources.files("emlib.data").joinpath("old_faithful.csv").open("r") as f:
        return pd.read_csv(f)
