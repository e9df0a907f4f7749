"""A tuned tree ensemble on the concatenated layers (:class:`TreeReference`): the scoreboard's non-linear reference.

The layers are concatenated (columns ``<layer>:<feature>``, layers in sorted order; trees are
scale-invariant, so no layer is weighted) and one tree ensemble is fit, its hyperparameters tuned on the
training samples only:

* classification and regression: a random forest (scikit-learn, missing cells handled natively), the
  number of features drawn per split chosen by the forests' out-of-bag score over a small grid; the
  forest of the chosen grid point is the model (out-of-bag samples of a tree are never in its bootstrap,
  so there is nothing to refit);
* survival: gradient-boosted Cox trees (scikit-survival's GradientBoostingSurvivalAnalysis, missing
  cells filled with the training means), the number of boosting stages chosen by inner cross-validation
  (:func:`moflow.integrate.models.inner_cv`, stratified by event status) with the cross-validated partial
  likelihood of Verweij & van Houwelingen (1993), as :class:`moflow.integrate.cox.PenalizedCox`.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.model_selection import KFold
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from moflow.errors import InputError
from moflow.integrate.cox import partial_log_likelihood, split_target, structured
from moflow.integrate.models import TASKS, inner_cv, inner_strata, target

# the smallest leaf of a forest's trees per task (classification: Breiman's fully grown trees; regression: 3,
# which did as well as or better than R randomForest's 5 and 1 on simulated data, and is cheaper than 1)
_LEAF = {"classification": 1, "regression": 3}


def _features_per_split(factor: float, n_features: int) -> int:
    """``factor * sqrt(n_features)`` features drawn per split, rounded, between 1 and ``n_features``."""
    return int(min(n_features, max(1, round(factor * np.sqrt(n_features)))))


def _balanced(P: np.ndarray, priors: np.ndarray) -> np.ndarray:
    """Class probabilities ``P`` (samples x classes) shifted from the training priors to equal priors.

    ``P[:, c] / priors[c]``, rows renormalised: Bayes' rule for a population whose classes are equally
    frequent, the probabilities balanced class weights aim at (their most probable class gives balanced
    decisions). A no-op where the classes are balanced.
    """
    Q = P / priors
    total = Q.sum(axis=1, keepdims=True)
    return np.divide(Q, total, out=np.full_like(Q, np.nan), where=total > 0)


def _balanced_brier(P: np.ndarray, codes: np.ndarray) -> float:
    """The multiclass Brier score of probabilities ``P`` (samples x classes), classes weighted equally.

    Each sample is weighted by ``n / (n_classes * n_in_its_class)`` (balanced class weights); lower is
    better.
    """
    k = P.shape[1]
    counts = np.bincount(codes, minlength=k).astype(float)
    w = len(codes) / (k * counts[codes])
    sq = ((P - np.eye(k)[codes]) ** 2).sum(axis=1)
    return float((w * sq).sum() / w.sum())


class TreeReference(BaseEstimator):
    """A tuned tree ensemble on the concatenated layers (see the module).

    Samples lacking a layer have missing values in its columns: the forests send them down the side
    of each split that their training counterparts favoured, the boosted survival model sees the
    training means. A sample without any observed value in any layer is not predicted (its row of
    :meth:`predict_table` is missing) and is left out of training.

    Parameters
    ----------
    task : str
        ``classification`` (binary or multiclass; probabilities shifted from the training priors to
        equal class priors, so that the most probable class gives balanced decisions), ``regression``
        or ``survival``.
    inner_folds : int
        The number of inner folds that tune the survival model (fewer where the events or the censored
        samples are fewer); the forests are tuned by their out-of-bag scores.
    seed : int
        The seed of the forests, the boosting and the inner folds.
    n_estimators : int
        The number of trees of each forest of the grid.
    mtry : tuple of float
        The forests' grid: features drawn per split, as multiples of ``sqrt(n_features)`` (rounded,
        between 1 and ``n_features``; equal grid points are tried once).
    min_samples_leaf : int, optional
        The smallest leaf of a forest's trees (default: 1 for classification, 3 for regression).
    stages : tuple of int
        The survival model's grid: numbers of boosting stages (one boosting path per inner fold scores
        them all).
    learning_rate : float
        The survival model's shrinkage per stage.
    max_depth : int
        The depth of the survival model's trees.
    subsample : float
        The share of training samples each boosting stage is fit on (stochastic gradient boosting).
    boost_mtry : float
        The features each boosting tree's split draws, as a multiple of ``sqrt(n_features)``.
    screen : int or None
        Where the layers hold more features, the ensemble is fit on this many, those most associated
        with the outcome one at a time on the training samples (missing cells at the training means;
        classification: ANOVA F; regression: squared correlation; survival: squared correlation with
        the null model's martingale residuals), chosen inside every fit like the rest of the model.
        None: every feature. It keeps a TCGA-sized cohort (40,000 features) as cheap as a small one.

    Attributes
    ----------
    layers_ : list of str
        The layers, sorted.
    layer_features_ : dict of str to list of str
        {layer: its training features}.
    features_ : list of str
        The concatenated columns, ``<layer>:<feature>``.
    kept_ : numpy.ndarray
        The positions in :attr:`features_` of the columns the ensemble is fit on (all, or the
        ``screen`` most associated), in column order.
    means_ : pandas.Series
        The training means of the columns (fill missing cells of the survival model).
    classes_ : numpy.ndarray
        The classes, sorted (classification only).
    priors_ : numpy.ndarray
        The training share of each class (classification only): the forest's probabilities are
        divided by them and renormalised (equal priors).
    model_ : estimator
        The fitted ensemble: RandomForestClassifier (on the classes' integer codes),
        RandomForestRegressor or GradientBoostingSurvivalAnalysis.
    best_params_ : dict
        The chosen hyperparameters (``max_features`` and ``mtry``; ``n_estimators`` for survival).
    tuning_ : pandas.DataFrame
        One row per grid point: its parameters and its score over the first half of its trees
        (``oob_brier``: the out-of-bag Brier score of the balanced probabilities, classes weighted
        equally, lower is better; ``oob_r2``: the out-of-bag R^2; ``cv_loglik``: the cross-validated
        partial log-likelihood, higher is better).

    Notes
    -----
    Tuning costs half a forest per grid point beyond the model: each grid point's first half of the
    trees is scored out of bag, and the chosen one is grown to its full size (the forest a single fit of
    ``n_estimators`` trees gives). The survival model costs one boosting path (the largest number of
    stages) per inner fold, and one refit. Survival uses boosting rather than a random survival forest:
    scikit-survival's log-rank splits were far too slow for every outer split (RandomSurvivalForest, 100
    trees: 1.4 s at 120 samples x 2,700 features, and 50 trees took 45 s at 500 x 5,000;
    ExtraSurvivalTrees were fast but predicted worse than the boosting on simulated threshold hazards).

    Fit times measured with the defaults (50 trees, ``mtry`` 1 and 2) on one core (``taskset``, an Intel
    Xeon virtual machine, scikit-learn 1.9.1, scikit-survival 0.28.0), 3 layers, 2% of the cells
    missing, median of 3 fits; "before" is the forests of the earlier tuning (every grid point's forest
    grown in full, ``balanced_subsample`` class weights), measured beside it:

    ============== ===================== ============ ============
    task           samples x features    fit (s)      before (s)
    ============== ===================== ============ ============
    classification 120 x 2,700           0.17         0.29
    regression     120 x 2,700           0.16         0.20
    survival       120 x 2,700           0.23         0.22
    classification 800 x 41,500          3.0          3.4 (screened to 2,000)
    ============== ===================== ============ ============

    Measured earlier (same settings): survival 500 x 5,000 1.5 s unscreened, 800 x 41,500 4.0 s
    screened to 2,000; classification 800 x 20,000 unscreened 13 s.

    Unscreened (``screen=None``), at 800 x 20,000 the forests draw 141 and 283 features per split; pass
    ``mtry=(1.0,)`` (one forest, sqrt(n_features) per split) or fewer trees where that is too slow.
    Memory stays small: a fitted model pickles to 0.2-0.4 MB at 120 x 2,700 and to 0.8 MB at 800 x 6,000
    (classification).
    """

    _parameter_constraints: ClassVar[dict] = {
        "task": [StrOptions(set(TASKS))],
        "inner_folds": [Interval(Integral, 2, None, closed="left")],
        "seed": ["random_state"],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "mtry": ["array-like"],
        "min_samples_leaf": [Interval(Integral, 1, None, closed="left"), None],
        "stages": ["array-like"],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "max_depth": [Interval(Integral, 1, None, closed="left")],
        "subsample": [Interval(Real, 0, 1, closed="right")],
        "boost_mtry": [Interval(Real, 0, None, closed="neither")],
        "screen": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        task: str = "classification",
        inner_folds: int = 3,
        seed: int = 42,
        n_estimators: int = 50,
        mtry: tuple = (1.0, 2.0),
        min_samples_leaf: int | None = None,
        stages: tuple = (25, 50, 100),
        learning_rate: float = 0.1,
        max_depth: int = 2,
        subsample: float = 0.5,
        boost_mtry: float = 2.0,
        screen: int | None = 2000,
    ):
        self.task = task
        self.inner_folds = inner_folds
        self.seed = seed
        self.n_estimators = n_estimators
        self.mtry = mtry
        self.min_samples_leaf = min_samples_leaf
        self.stages = stages
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.subsample = subsample
        self.boost_mtry = boost_mtry
        self.screen = screen

    # -- the design ---------------------------------------------------------------------------------
    def _design(self, layers: dict[str, pd.DataFrame], index) -> np.ndarray:
        """The training features of every layer at ``index``, concatenated (absent cells missing), as float32."""
        blocks = []
        for n in self.layers_:
            cols = self.layer_features_[n]
            X = layers.get(n)
            if X is None:  # a layer not given: every sample lacks it
                blocks.append(np.full((len(index), len(cols)), np.nan, np.float32))
            else:
                blocks.append(X.reindex(index=index, columns=cols).to_numpy(np.float32, na_value=np.nan))
        return np.hstack(blocks) if blocks else np.empty((len(index), 0), np.float32)

    def _filled(self, X: np.ndarray, kept: np.ndarray | None = None) -> np.ndarray:
        """``X`` (the columns ``kept``, default all) with missing cells at the training means (0: never observed)."""
        fill = np.nan_to_num(self.means_.to_numpy(np.float32), nan=0.0)
        return np.where(np.isnan(X), fill if kept is None else fill[kept], X)

    def _screen(self, X: np.ndarray, y) -> np.ndarray:
        """The positions of the ``screen`` columns most associated with the outcome (all where fewer)."""
        p = X.shape[1]
        if self.screen is None or p <= self.screen:
            return np.arange(p)
        F = self._filled(X).astype(float)
        if self.task == "classification":
            from sklearn.feature_selection import f_classif

            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                score = f_classif(F, np.asarray(y).astype(str))[0]
        else:
            if self.task == "survival":
                time, event = split_target(target(y))
                order = np.argsort(time, kind="stable")
                at_risk = len(time) - np.arange(len(time))
                hazard = np.cumsum(event[order] / at_risk)  # Nelson-Aalen, ties counted one by one
                cum = np.empty(len(time))
                cum[order] = hazard
                # at tied times every sample gets the hazard accumulated over the whole tie
                cum = pd.Series(cum).groupby(time).transform("max").to_numpy()
                r = event.astype(float) - cum  # martingale residuals of the null model
            else:
                r = target(y).astype(float)
            Fc = F - F.mean(axis=0)
            rc = r - r.mean()
            with np.errstate(all="ignore"):
                score = (rc @ Fc) ** 2 / ((Fc**2).sum(axis=0) * (rc**2).sum())
        score = np.nan_to_num(np.asarray(score, float), nan=0.0, posinf=0.0)
        return np.sort(np.argsort(-score, kind="stable")[: self.screen])

    # -- fit ----------------------------------------------------------------------------------------
    def fit(self, layers: dict[str, pd.DataFrame], y, *, shared=None):
        """Tune and fit the ensemble on the training samples ``y.index``.

        Parameters
        ----------
        layers : dict of str to pandas.DataFrame
            {layer: samples x features}; rows are taken at ``y.index``.
        y : pandas.Series or pandas.DataFrame
            Labels (classification), values (regression) or columns ``time`` and ``event`` (survival).
        shared : object, optional
            Accepted for the strategies' common interface; unused.

        Returns
        -------
        TreeReference
            Fitted.
        """
        self._validate_params()
        mtry = [float(f) for f in np.ravel(self.mtry)]
        stages = sorted({int(s) for s in np.ravel(self.stages)})
        if not mtry or min(mtry) <= 0:
            raise ValueError(f"mtry must hold positive multiples of sqrt(n_features), not {self.mtry!r}")
        if not stages or stages[0] < 1:
            raise ValueError(f"stages must hold positive numbers of boosting stages, not {self.stages!r}")
        if not layers:
            raise ValueError("no layers to fit on")
        self.layers_ = sorted(layers)
        self.layer_features_ = {n: list(layers[n].columns) for n in self.layers_}
        X = self._design(layers, y.index)
        keep = ~np.isnan(X).all(axis=1)
        X, y = X[keep], y.loc[keep]
        self.features_ = [f"{n}:{c}" for n in self.layers_ for c in self.layer_features_[n]]
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a column never observed: no mean
            means = np.nanmean(X, axis=0)
        self.means_ = pd.Series(means.astype(float), index=self.features_)
        self.kept_ = self._screen(X, y)
        X = X[:, self.kept_]
        if self.task == "survival":
            self._fit_survival(self._filled(X, self.kept_), y, stages)
        else:
            self._fit_forest(X, y, mtry)
        self.n_features_in_ = len(self.features_)
        return self

    def _fit_forest(self, X: np.ndarray, y, mtry: list[float]) -> None:
        """Tune the features per split by the out-of-bag score of half the trees; grow the best to its full size.

        Every grid point's forest is grown to ``max(1, n_estimators // 2)`` trees and scored out of bag;
        the best one is then grown (``warm_start``) to ``n_estimators`` trees. The trees of a forest are
        seeded in turn from its ``random_state``, so the grown forest is the very forest that a single fit
        of ``n_estimators`` trees at that grid point gives: the tuning costs half a forest per grid point
        beyond the model. Classification trees are grown unweighted: their probabilities estimate the
        classes at the training priors, which :func:`_balanced` shifts to equal priors (weighting the samples
        by balanced class weights as well would shift them twice; scikit-learn's ``balanced_subsample``
        weights, used before, gave nearly the unweighted forest's probabilities at a fifth more cost).
        """
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        leaf = self.min_samples_leaf or _LEAF[self.task]
        half = max(1, self.n_estimators // 2)
        common = dict(n_estimators=half, min_samples_leaf=leaf, oob_score=True, n_jobs=1, random_state=self.seed)
        if self.task == "classification":
            self.classes_, codes = np.unique(np.asarray(y), return_inverse=True)
            if len(self.classes_) < 2:
                raise InputError(
                    f"the training samples hold a single class ({self.classes_[0]!r}): a classifier needs two at least"
                )
            self.priors_ = np.bincount(codes) / len(codes)
            values = codes
        else:
            values = target(y).astype(float)
        rows, best, best_score = [], None, np.inf
        grid = {}  # features per split -> the first multiple of sqrt(n_features) giving it
        for f in mtry:
            grid.setdefault(_features_per_split(f, X.shape[1]), f)
        for m, f in grid.items():
            with warnings.catch_warnings():  # a sample in every tree's bootstrap has no out-of-bag score: left out
                warnings.filterwarnings("ignore", message="Some inputs do not have OOB scores")
                forest = (RandomForestClassifier if self.task == "classification" else RandomForestRegressor)(
                    max_features=m, **common
                ).fit(X, values)
            if self.task == "classification":
                P = _balanced(np.nan_to_num(forest.oob_decision_function_), self.priors_)
                ok = np.isfinite(P).all(axis=1)
                loss = _balanced_brier(P[ok], codes[ok]) if ok.any() else np.inf
                rows.append({"mtry": f, "max_features": m, "oob_brier": loss})
            else:
                pred = np.asarray(forest.oob_prediction_, float).ravel()
                ok = np.isfinite(pred)
                loss = float(((pred[ok] - values[ok]) ** 2).mean()) if ok.any() else np.inf
                var = float(values[ok].var()) if ok.any() else 0.0
                rows.append({"mtry": f, "max_features": m, "oob_r2": 1.0 - loss / var if var > 0 else np.nan})
            if best is None or loss < best_score:  # ties: the first (fewer features per split)
                best, best_score = forest, loss
        if self.n_estimators > half:
            best.set_params(n_estimators=self.n_estimators, warm_start=True, oob_score=False).fit(X, values)
            for name in ("oob_score_", "oob_decision_function_", "oob_prediction_"):  # the half forest's
                if hasattr(best, name):
                    delattr(best, name)
        self.model_ = best
        self.tuning_ = pd.DataFrame(rows)
        m = int(best.max_features)
        self.best_params_ = {"max_features": m, "mtry": float(grid[m]), "min_samples_leaf": leaf}

    def _booster(self, n_estimators: int, n_features: int):
        from sksurv.ensemble import GradientBoostingSurvivalAnalysis

        return GradientBoostingSurvivalAnalysis(
            loss="coxph",
            n_estimators=n_estimators,
            learning_rate=self.learning_rate,
            max_depth=self.max_depth,
            subsample=self.subsample,
            max_features=_features_per_split(self.boost_mtry, n_features),
            random_state=self.seed,
        )

    def _fit_survival(self, X: np.ndarray, y, stages: list[int]) -> None:
        """Score every number of stages by the inner folds' cross-validated partial likelihood; refit the best."""
        time, event = split_target(target(y))
        if not event.any():
            raise InputError("the training samples hold no event: a survival model needs one at least")
        cvl = np.zeros(len(stages))
        strata = inner_strata(y, "survival")
        if min(int(event.sum()), int((~event).sum())) >= 2 or event.all():
            folds = inner_cv("survival", self.inner_folds, self.seed).split(X, strata)
        else:  # a single censored sample (or event): too few to stratify on
            folds = KFold(min(self.inner_folds, len(time)), shuffle=True, random_state=self.seed).split(X)
        for tr, _ in folds:
            if not event[tr].any():
                continue
            inner = self._booster(stages[-1], X.shape[1]).fit(X[tr], structured(time[tr], event[tr]))
            eta = np.column_stack([e for i, e in enumerate(inner.staged_predict(X), 1) if i in stages])
            # Verweij & van Houwelingen: the likelihood the fold's held-out samples add to the full data's
            cvl += partial_log_likelihood(eta, time, event) - partial_log_likelihood(eta[tr], time[tr], event[tr])
        best = int(np.argmax(cvl))  # ties: the first (fewer stages)
        self.model_ = self._booster(stages[best], X.shape[1]).fit(X, structured(time, event))
        self.tuning_ = pd.DataFrame({"n_estimators": stages, "cv_loglik": cvl})
        self.best_params_ = {
            "n_estimators": stages[best],
            "max_features": int(self.model_.max_features),
            "learning_rate": float(self.learning_rate),
            "max_depth": int(self.max_depth),
        }

    # -- predict ------------------------------------------------------------------------------------
    def columns(self) -> list[str]:
        """The columns of :meth:`predict_table`: ``p_<class>`` per class, ``risk`` or ``prediction``."""
        check_is_fitted(self)
        if self.task == "classification":
            return [f"p_{c}" for c in self.classes_]
        return ["risk"] if self.task == "survival" else ["prediction"]

    def predict_table(self, layers: dict[str, pd.DataFrame]) -> pd.DataFrame:
        """Predictions of every sample of ``layers``, as a table.

        Parameters
        ----------
        layers : dict of str to pandas.DataFrame
            {layer: samples x features}, sharing one sample index; a sample lacking a layer has a row
            of missing values there.

        Returns
        -------
        pandas.DataFrame
            One row per sample (the index of the first layer), the columns of :meth:`columns`: class
            probabilities, the predicted value, or the risk (log relative hazard: higher means an
            earlier event). A row is missing where the sample has no observed value in any layer.
        """
        check_is_fitted(self)
        first = next((n for n in self.layers_ if n in layers), None)
        index = layers[first].index if first is not None else next(iter(layers.values())).index
        out = pd.DataFrame(np.nan, index=index, columns=self.columns())
        X = self._design(layers, index)
        seen = ~np.isnan(X).all(axis=1)
        if not seen.any():
            return out
        X = X[seen][:, self.kept_]
        if self.task == "survival":
            values = self.model_.predict(self._filled(X, self.kept_))[:, None]
        elif self.task == "classification":
            values = _balanced(self.model_.predict_proba(X), self.priors_)
        else:
            values = self.model_.predict(X)[:, None]
        out.loc[seen] = values
        return out
