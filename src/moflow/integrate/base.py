"""What every integration strategy shares: the strategy base, the coefficient table and the layer helpers.

:class:`StrategyBase` (a final model on a design matrix built from the layers, the per-pattern refit
for samples lacking layers, ``predict_table``), :func:`coefficient_table` (a fitted model's
coefficients as a long table), and the helpers on layers (:func:`observed_rows`, :func:`fill_missing`).

Every strategy takes ``fit(layers, y)`` and ``predict_table(layers)`` with layers = {name: samples x
features}. The layers given for prediction share one sample index; a sample lacking a layer has a row
of missing values there. Rows of the returned table follow that index; a row is all-missing where the
strategy cannot predict that sample (a single layer the sample lacks; early integration with
``missing='drop'`` and an incomplete sample).
"""

from __future__ import annotations

from numbers import Integral
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from moflow.integrate.models import TASKS, make_model, target

PENALTIES = ("l2", "l1", "elasticnet")
MODELS = ("linear", "random_forest")


def observed_rows(X: pd.DataFrame) -> pd.Index:
    """Samples with at least one observed value in a layer (others lack the layer)."""
    return X.index[X.notna().any(axis=1)]


def fill_missing(X: pd.DataFrame, means: pd.Series | None = None) -> pd.DataFrame:
    """``X`` with its missing cells filled by ``means``, then by 0.

    Parameters
    ----------
    X : pandas.DataFrame
        Samples x features.
    means : pandas.Series, optional
        The fill value per column (default: the column means of ``X``); cells of columns without a
        mean are filled with 0.

    Returns
    -------
    pandas.DataFrame
        ``X`` filled; ``X`` itself where nothing is missing.
    """
    if not X.isna().to_numpy().any():
        return X
    return X.fillna(means if means is not None else X.mean()).fillna(0.0)


class StrategyBase(BaseEstimator):
    """Shared machinery of the strategies: a final model on a design matrix built from the layers.

    A subclass sets ``layers_`` in ``fit``, then calls :meth:`_finish_fit`, and builds the design of
    any rows from any subset of its layers in ``_design(layers, rows, subset)``. A sample lacking
    layers is predicted by a final model trained on exactly the layers it has (``_design`` restricted
    to that subset, refit on the training samples and cached per pattern of observed layers); the
    per-layer parts (MOFA weights, PCAs, base models) are reused. No held-out label is involved.
    Early integration can instead impute or drop (``missing``).

    ``_parameter_constraints`` holds the parameters every strategy has (task, penalty, model,
    inner_folds, seed); a subclass extends it with its own.

    Attributes
    ----------
    layers_ : list of str
        The layers the strategy uses (set by the subclass's ``fit``).
    y_ : pandas.Series or pandas.DataFrame
        The training outcome the final model was fit on.
    train_layers_ : dict of str to pandas.DataFrame
        {layer: the training samples' rows}.
    design_columns_ : list of str
        The columns of the final model's design (all layers).
    model_ : estimator
        The final model, fit on the design of all layers.
    full_design_ : pandas.DataFrame
        The training samples' design of all layers (what ``model_`` was fit on).
    subset_models_ : dict
        {tuple of layers: final model refit on the design of those layers only}, filled on demand.
    classes_ : numpy.ndarray
        The classes (classification only).
    """

    _parameter_constraints: ClassVar[dict] = {
        "task": [StrOptions(set(TASKS))],
        "penalty": [StrOptions(set(PENALTIES))],
        "model": [StrOptions(set(MODELS))],
        "inner_folds": [Interval(Integral, 2, None, closed="left")],
        "seed": ["random_state"],
    }

    task = "classification"
    missing = "refit"

    def _new_model(self):
        return make_model(
            task=self.task,
            penalty=self.penalty,
            model=getattr(self, "model", "linear"),
            inner_folds=self.inner_folds,
            seed=self.seed,
        )

    def _fit_final(self, D: pd.DataFrame, y: pd.Series):
        return self._new_model().fit(D.to_numpy(), target(y))

    def _finish_fit(self, layers, y):
        """Fit the final model on every training sample with all layers' design."""
        self.y_ = y
        self.train_layers_ = {n: layers[n].reindex(y.index) for n in self.layers_}
        D = self._train_design(tuple(self.layers_))
        self.full_design_ = D  # the training design of all layers (refit with the clinical covariates reuses it)
        self.design_columns_ = list(D.columns)
        self.model_ = self._fit_final(D, y)
        self.subset_models_ = {}
        if self.task == "classification":
            self.classes_ = self.model_.classes_
        return self

    def _train_design(self, subset) -> pd.DataFrame:
        return self._design(self.train_layers_, self.y_.index, subset)

    def _subset_model(self, subset):
        if subset not in self.subset_models_:
            self.subset_models_[subset] = self._fit_final(self._train_design(subset), self.y_)
        return self.subset_models_[subset]

    def _predict_rows(self, model, D: pd.DataFrame) -> np.ndarray:
        X = D.to_numpy()
        if self.task == "classification":
            P = model.predict_proba(X)
            return pd.DataFrame(P, columns=model.classes_).reindex(columns=self.classes_, fill_value=0.0).to_numpy()
        return model.predict(X)[:, None]

    def columns(self) -> list[str]:
        """The columns of :meth:`predict_table`.

        ``p_<class>`` per class, ``risk`` (survival) or ``prediction`` (regression).
        """
        check_is_fitted(self)
        if self.task == "classification":
            return [f"p_{c}" for c in self.classes_]
        return ["risk"] if self.task == "survival" else ["prediction"]

    def predict_table(self, layers, *, designs: dict | None = None) -> pd.DataFrame:
        """Predictions of every sample of ``layers``, as a table.

        Rows: the index of the first layer (the first of ``layers_``); a row is all-missing where the
        strategy cannot predict the sample (see the module).

        Parameters
        ----------
        layers : dict of str to pandas.DataFrame
            {layer: samples x features}, sharing one sample index; a sample lacking a layer has a row
            of missing values there.
        designs : dict, optional
            Filled with the designs the predictions were made from, {(layer subset, row IDs): design}:
            the same strategy refit with the clinical covariates predicts the same rows from them
            (:class:`moflow.integrate.baselines.WithClinical`) instead of building them again.

        Returns
        -------
        pandas.DataFrame
            One row per sample, the columns of :meth:`columns`.
        """
        check_is_fitted(self)
        index = layers[self.layers_[0]].index
        out = pd.DataFrame(np.nan, index=index, columns=self.columns())
        seen = pd.DataFrame({n: index.isin(observed_rows(layers[n].reindex(index))) for n in self.layers_}, index=index)
        full = tuple(self.layers_)
        patterns = seen.apply(lambda r: tuple(n for n in self.layers_ if r[n]), axis=1)
        for pattern in dict.fromkeys(patterns):
            rows = index[(patterns == pattern).to_numpy()]
            if not pattern:
                continue  # the sample has none of the strategy's layers
            if pattern != full and self.missing == "drop":
                continue
            if pattern == full or self.missing == "impute":
                model, subset = self.model_, full
            else:
                model, subset = self._subset_model(pattern), pattern
            D = self._design(layers, rows, subset)
            if designs is not None:
                designs[(subset, tuple(rows))] = D
            out.loc[rows] = self._predict_rows(model, D)
        return out

    def predict_proba(self, layers) -> np.ndarray:
        """:meth:`predict_table` as an array."""
        check_is_fitted(self)
        return self.predict_table(layers).to_numpy()

    def predict(self, layers):
        """The most probable class of every sample (classification), else the table's one column."""
        check_is_fitted(self)
        T = self.predict_table(layers)
        if self.task != "classification":
            return T[self.columns()[0]].to_numpy()
        return np.asarray(self.classes_)[np.argmax(T.to_numpy(), axis=1)]


def coefficient_table(model, features, layer=None) -> pd.DataFrame:
    """A fitted model's coefficients (or a tree ensemble's importances), one row per feature.

    Columns: ``layer``, ``feature`` and one value column per class after the first (two classes) or per
    class, ``log_hazard_ratio`` (a Cox model) or ``coefficient``; ``importance`` for tree ensembles.
    Without ``layer``, each feature is ``<layer>:<feature>`` and is split there.

    Parameters
    ----------
    model : estimator
        A fitted model with ``coef_`` (and ``classes_`` for a classifier, ``offset_`` for a Cox model),
        or with ``feature_importances_`` (tree ensembles).
    features : list of str
        The model's input columns, in order.
    layer : str, optional
        The layer of every feature (``None``: taken from the ``<layer>:<feature>`` names).

    Returns
    -------
    pandas.DataFrame
        One row per feature.
    """
    if hasattr(model, "coef_"):
        coef = np.atleast_2d(model.coef_)
        if hasattr(model, "classes_"):
            cols = [str(c) for c in (model.classes_[1:] if coef.shape[0] == 1 else model.classes_)]
        elif hasattr(model, "offset_"):  # a Cox model: positive means higher hazard (shorter time to event)
            cols = ["log_hazard_ratio"]
        else:
            cols = ["coefficient"]
        rows = pd.DataFrame(coef.T, index=features, columns=cols)
    else:  # tree ensembles
        rows = pd.DataFrame({"importance": model.feature_importances_}, index=features)
    rows = rows.rename_axis("feature").reset_index()
    if layer is not None:
        rows.insert(0, "layer", layer)
    else:
        split = rows["feature"].str.split(":", n=1, expand=True)
        rows.insert(0, "layer", split[0])
        rows["feature"] = split[1]
    return rows
