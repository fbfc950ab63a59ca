"""The shipped data sets have their published shape and content."""

from __future__ import annotations

import numpy as np

import emlib


def test_kline_has_the_ten_published_societies():
    df = emlib.datasets.kline()
    assert list(df.columns) == ["culture", "population", "contact", "total_tools", "mean_TU"]
    assert df.shape == (10, 5)
    # Published extremes (Kline & Boyd 2010): Malekula is the smallest, Hawaii the largest.
    assert df.loc[df.population.idxmin(), "culture"] == "Malekula"
    assert df.loc[df.population.idxmax(), ["culture", "population", "total_tools"]].tolist() == ["Hawaii", 275000, 71]
    assert set(df.contact) == {"low", "high"}


def test_distance_matrix_is_a_distance_matrix_in_kline_order():
    D = emlib.datasets.islands_distance()
    assert D.shape == (10, 10)
    assert list(D.index) == list(D.columns) == emlib.datasets.kline().culture.tolist()
    values = D.to_numpy()
    np.testing.assert_array_equal(values, values.T)
    np.testing.assert_array_equal(np.diag(values), 0.0)
    assert np.all(values[~np.eye(10, dtype=bool)] > 0)
    # The triangle inequality holds for great-circle distances.
    assert np.all(values[:, :, None] <= values[:, None, :] + values.T[None, :, :] + 1e-9)
