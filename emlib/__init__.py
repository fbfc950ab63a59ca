"""emlib: the Expectation-Maximization algorithms of the em-lectures book.

Estimators follow scikit-learn's conventions (``fit`` returns ``self``, fitted attributes end
in ``_``). Every batch EM estimator records ``loglik_history_``, the objective it maximises at
each parameter set it visits: the total observed-data log-likelihood (the log-posterior for the
smoothed ``BernoulliMixture``; summed over all sequences for the hidden Markov models). The
streaming estimators record what can be computed in one pass: ``elbo_history_`` (incremental
EM: the ELBO :math:`F`, which is the negative free energy) and ``chunk_loglik_history_``
(online EM).
"""

from sklearn.exceptions import ConvergenceWarning

from . import bernoulli, book, datasets, experts, gmm, hmm, kmeans, missing, plotting, semisupervised, streaming
from .bernoulli import BernoulliMixture
from .experts import MixtureOfExperts, MixtureOfLinearRegressions
from .gmm import GaussianMixture
from .hmm import CategoricalHMM, GaussianHMM
from .kmeans import KMeans
from .missing import MultivariateNormalEM
from .semisupervised import SemiSupervisedGaussianMixture
from .streaming import IncrementalGaussianMixture, OnlineGaussianMixture

__all__ = [
    "BernoulliMixture",
    "CategoricalHMM",
    "ConvergenceWarning",
    "GaussianHMM",
    "GaussianMixture",
    "IncrementalGaussianMixture",
    "KMeans",
    "MixtureOfExperts",
    "MixtureOfLinearRegressions",
    "MultivariateNormalEM",
    "OnlineGaussianMixture",
    "SemiSupervisedGaussianMixture",
    "bernoulli",
    "book",
    "datasets",
    "experts",
    "gmm",
    "hmm",
    "kmeans",
    "missing",
    "plotting",
    "semisupervised",
    "streaming",
]
__version__ = "0.1.0"
