"""What every fitted mixture model derives from its per-row log-likelihood and responsibilities."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray


class MixtureScores:
    """``score``, ``predict``, ``bic`` and ``aic`` of a mixture estimator.

    The estimator provides ``score_samples`` (:math:`\\log p(x_n \\mid \\theta)` per row),
    ``predict_proba`` (the responsibilities), ``_checked`` (validate ``X`` against the fit) and
    ``_n_parameters`` (the number of free parameters :math:`p`).
    """

    def score(self, X: ArrayLike, y: Any = None) -> float:
        """The mean log-likelihood per sample (as scikit-learn's ``score``)."""
        return float(self.score_samples(X).mean())

    def predict(self, X: ArrayLike) -> NDArray[np.intp]:
        """The most responsible component of each row (the hard assignment)."""
        return np.argmax(self.predict_proba(X), axis=1)

    def bic(self, X: ArrayLike) -> float:
        r"""Bayesian information criterion :math:`-2 \log L + p \log N` (lower is better)."""
        X = self._checked(X)
        return -2.0 * self.score(X) * X.shape[0] + self._n_parameters() * np.log(X.shape[0])

    def aic(self, X: ArrayLike) -> float:
        r"""Akaike information criterion :math:`-2 \log L + 2p` (lower is better)."""
        X = self._checked(X)
        return -2.0 * self.score(X) * X.shape[0] + 2.0 * self._n_parameters()
