"""Figures the chapters share: covariance ellipses, responsibilities, log-likelihood curves.

Every function draws on a given matplotlib ``Axes`` and returns what it drew, so a chapter
can compose panels. Figures use a white background, so that they stay readable when the
book is shown in its dark theme.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Ellipse
from numpy.typing import ArrayLike, NDArray

from .gmm import full_covariances

__all__ = [
    "COMPONENT_COLORS",
    "plot_covariance_ellipses",
    "plot_loglik_history",
    "plot_mixture",
    "responsibility_colors",
    "use_book_style",
]

#: One colour per component: the colour-blind-safe Okabe & Ito palette, then four more distinct ones.
COMPONENT_COLORS = (
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000",
    "#882255", "#44AA99", "#999933", "#888888",
)


def use_book_style() -> None:
    """Set the matplotlib style of the book: white background, light grid, readable sizes."""
    mpl.rcParams.update(
        {
            "figure.figsize": (6.4, 4.2),
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "figure.facecolor": "white",
            "axes.facecolor": "white",
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.prop_cycle": mpl.cycler(color=list(COMPONENT_COLORS)),
            "font.size": 10,
            "legend.frameon": False,
            "figure.constrained_layout.use": True,
        }
    )


def plot_covariance_ellipses(
    ax: Axes,
    means: ArrayLike,
    covariances: ArrayLike,
    covariance_type: str = "full",
    *,
    n_std: Sequence[float] = (1.0, 2.0),
    colors: Sequence[str] = COMPONENT_COLORS,
    dims: tuple[int, int] = (0, 1),
) -> list[Ellipse]:
    r"""Draw the ``n_std``-standard-deviation ellipses of each component in two dimensions.

    The ellipse of :math:`\Sigma` has semi-axes :math:`c\sqrt{\lambda_i}` along the
    eigenvectors of :math:`\Sigma` (restricted to ``dims``), for :math:`c` in ``n_std``.
    """
    means = np.asarray(means, dtype=float)
    K, D = means.shape
    full = full_covariances(covariances, covariance_type, K, D)[np.ix_(range(K), dims, dims)]
    patches = []
    for k in range(K):
        eigenvalues, eigenvectors = np.linalg.eigh(full[k])
        angle = np.degrees(np.arctan2(eigenvectors[1, 1], eigenvectors[0, 1]))
        for c in n_std:
            width, height = 2 * c * np.sqrt(eigenvalues[::-1])
            ellipse = Ellipse(
                means[k, list(dims)], width, height, angle=angle, fill=False,
                edgecolor=colors[k % len(colors)], linewidth=1.5, alpha=1.0 if c == n_std[0] else 0.6,
            )
            ax.add_patch(ellipse)
            patches.append(ellipse)
    return patches


def responsibility_colors(responsibilities: ArrayLike, colors: Sequence[str] = COMPONENT_COLORS) -> NDArray:
    r"""Colour each point by mixing the component colours with weights :math:`\gamma_{nk}`.

    A point shared between two components gets a colour between theirs.
    """
    resp = np.asarray(responsibilities, dtype=float)
    palette = np.array([mpl.colors.to_rgb(colors[k % len(colors)]) for k in range(resp.shape[1])])
    return np.clip(resp @ palette, 0.0, 1.0)


def plot_mixture(
    ax: Axes,
    X: ArrayLike,
    weights: ArrayLike,
    means: ArrayLike,
    covariances: ArrayLike,
    covariance_type: str = "full",
    *,
    responsibilities: ArrayLike | None = None,
    labels: tuple[str, str] = ("$x_1$", "$x_2$"),
) -> None:
    """Scatter ``X`` (coloured by responsibilities if given) with each component's mean and ellipses."""
    X = np.asarray(X, dtype=float)
    means = np.asarray(means, dtype=float)
    point_colors = "0.55" if responsibilities is None else responsibility_colors(responsibilities)
    ax.scatter(X[:, 0], X[:, 1], s=10, c=point_colors, alpha=0.8, linewidths=0)
    plot_covariance_ellipses(ax, means, covariances, covariance_type)
    for k, (w, m) in enumerate(zip(np.asarray(weights), means, strict=True)):
        ax.plot(m[0], m[1], marker="X", markersize=9, color=COMPONENT_COLORS[k % len(COMPONENT_COLORS)],
                markeredgecolor="white", linestyle="none", label=rf"$k={k + 1}$, $\pi_k={w:.2f}$")
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])


def plot_loglik_history(
    ax: Axes,
    histories: Sequence[ArrayLike],
    *,
    labels: Sequence[str] | None = None,
    n_samples: int | None = None,
    **line_kwargs,
) -> list:
    """Plot log-likelihood against iteration for one or more EM runs.

    With ``n_samples`` the curves are divided by it (log-likelihood per sample).
    """
    lines = []
    scale = 1.0 if n_samples is None else 1.0 / n_samples
    for i, history in enumerate(histories):
        h = np.asarray(history, dtype=float) * scale
        label = None if labels is None else labels[i]
        lines += ax.plot(np.arange(h.size), h, marker="o", markersize=3, label=label, **line_kwargs)
    ax.set_xlabel("iteration $t$")
    ax.set_ylabel(r"$\log p(X \mid \theta_t)$" + ("" if n_samples is None else " per sample"))
    return lines


def new_figure(ncols: int = 1, nrows: int = 1, *, width: float = 6.4, height: float = 4.2, **kwargs):
    """A figure with a grid of axes sized for the book's text column."""
    return plt.subplots(nrows, ncols, figsize=(width, height), **kwargs)
