"""emlib: the Expectation-Maximization algorithms of the em-lectures book.

Estimators follow scikit-learn's conventions (``fit`` returns ``self``, fitted attributes end
in ``_``), and every iterative one records ``loglik_history_``, the total observed-data
log-likelihood of each parameter set it visits.
"""

from sklearn.exceptions import ConvergenceWarning

from . import datasets, gmm, kmeans, missing, plotting, semisupervised
from .gmm import GaussianMixture
from .kmeans import KMeans
from .missing import MultivariateNormalEM
from .semisupervised import SemiSupervisedGaussianMixture

__all__ = [
    "ConvergenceWarning",
    "GaussianMixture",
    "KMeans",
    "MultivariateNormalEM",
    "SemiSupervisedGaussianMixture",
    "datasets",
    "gmm",
    "kmeans",
    "missing",
    "plotting",
    "semisupervised",
]
__version__ = "0.1.0"
