"""Shared fixtures: data sets the tests fit, from sources independent of emlib's code."""

from __future__ import annotations

import numpy as np
import pytest

import emlib


@pytest.fixture(scope="session")
def faithful() -> np.ndarray:
    """Old Faithful, both columns (272 x 2)."""
    return emlib.datasets.old_faithful()[["eruptions", "waiting"]].to_numpy()


@pytest.fixture(scope="session")
def blobs() -> np.ndarray:
    """Three overlapping 3-D Gaussian clusters of different shapes (600 x 3)."""
    rng = np.random.default_rng(20260101)
    centers = np.array([[0.0, 0.0, 0.0], [3.0, 1.0, -1.0], [-1.0, 4.0, 2.0]])
    scales = [np.diag([1.0, 0.5, 0.8]), np.array([[1.0, 0.6, 0.0], [0.0, 0.7, 0.3], [0.0, 0.0, 0.5]]), 0.6 * np.eye(3)]
    return np.vstack([rng.standard_normal((200, 3)) @ s + c for c, s in zip(centers, scales, strict=True)])
