"""emlib: the Expectation-Maximization algorithms of the em-lectures book.

Estimators follow scikit-learn's conventions (``fit`` returns ``self``, fitted attributes end
in ``_``), and every iterative one records ``loglik_history_``, the total observed-data
log-likelihood of each parameter set it visits.
"""

from sklearn.exceptions import ConvergenceWarning

from . import datasets, gmm, kmeans, plotting
from .gmm import GaussianMixture
from .kmeans import KMeans

__all__ = ["ConvergenceWarning", "GaussianMixture", "KMeans", "datasets", "gmm", "kmeans", "plotting"]
__version__ = "0.1.0"
