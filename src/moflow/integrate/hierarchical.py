"""Hierarchical integration: prior knowledge as a strategy of its own.

Per layer, features become genes (the enrichment gene maps), genes become per-sample scores of the
configured gene sets, learnt on the training samples only (:class:`moflow.integrate.prior_knowledge.SetScores`:
PLAGE, mean z or a rank score); regulator layers come from edge lists (a regulator's activity per
sample from its targets in the target layer, decoupler's univariate linear model,
:class:`moflow.integrate.prior_knowledge.RegulatorActivity`). The scores of every layer, each standardized on the
training samples, go into one penalized model; a pathway seen in two layers is two features, so the
coefficients say which layer carries it. Missing layers are handled as by every strategy (a sample
lacking layers is scored by a model refit on the layers it has, :class:`moflow.integrate.base.StrategyBase`).
"""

from __future__ import annotations

import logging
from numbers import Integral
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from moflow.integrate.base import StrategyBase, coefficient_table, observed_rows
from moflow.integrate.prior_knowledge import (
    SET_METHODS,
    GeneLevel,
    RegulatorActivity,
    SetScores,
)

log = logging.getLogger("moflow")
FEW_SETS = 5  # fewer gene sets scored in a layer than this: a warning


class HierarchicalIntegration(StrategyBase):
    """Gene-set scores and regulator activities of every layer, one penalized model.

    Parameters
    ----------
    collections : tuple
        ((name, {set: [genes]}, layers), ...): the gene-set collections and the layers each is scored in.
    gene_maps : dict, optional
        {layer: GeneMap} (features -> genes); a layer without one has genes as features.
    regulators : tuple
        ((name, edges, target layer, min_targets), ...) with edges a frame source, target, weight.
    method : str
        The set score: ``plage``, ``mean`` or ``rank`` (:class:`moflow.integrate.prior_knowledge.SetScores`).
    min_size, max_size : int
        The bounds on the number of a set's members present in a layer for the set to be scored.
    task : str
        ``classification``, ``regression`` or ``survival``.
    penalty : str
        ``l2``, ``l1`` or ``elasticnet``.
    model : str
        ``linear`` (penalized, tuned by inner CV) or ``random_forest``.
    inner_folds : int
        The number of inner folds that tune the penalty.
    seed : int
        The seed of the inner folds and of the model.

    Attributes
    ----------
    genes_ : dict
        {layer: its fitted :class:`moflow.integrate.prior_knowledge.GeneLevel`}.
    scorers_ : dict
        {layer: its fitted set scorers and regulator activities}; only layers with at least one.
    left_out_ : dict of str to str
        {layer: why it is left out}: the layers that keep no gene set (within ``min_size`` and
        ``max_size`` among the training samples' genes) and no regulator.
    centre_, scale_ : dict of str to pandas.Series
        {layer: the training mean and SD of each score}, which standardize the scores.
    structure_ : pandas.Series or None
        Each score's structure coefficient (:meth:`_structure`).
    """

    _parameter_constraints: ClassVar[dict] = {
        **StrategyBase._parameter_constraints,
        "collections": ["array-like"],
        "gene_maps": [dict, None],
        "regulators": ["array-like"],
        "method": [StrOptions(set(SET_METHODS))],
        "min_size": [Interval(Integral, 2, None, closed="left")],
        "max_size": [Interval(Integral, 2, None, closed="left")],
    }

    def __init__(
        self,
        collections=(),
        gene_maps=None,
        regulators=(),
        method: str = "plage",
        min_size: int = 5,
        max_size: int = 500,
        task: str = "classification",
        penalty: str = "l2",
        model: str = "linear",
        inner_folds: int = 3,
        seed: int = 42,
    ):
        self.collections = collections
        self.gene_maps = gene_maps
        self.regulators = regulators
        self.method = method
        self.min_size = min_size
        self.max_size = max_size
        self.task = task
        self.penalty = penalty
        self.model = model
        self.inner_folds = inner_folds
        self.seed = seed

    def _gene_level(self, layer):
        return GeneLevel((self.gene_maps or {}).get(layer))

    def fit(self, layers, y, *, shared=None):
        """Learn the gene levels, set scores, regulator activities, their standardization and the model."""
        # shared (the single-layer fits of a CV split, SharedFits): nothing of this strategy to share
        self._validate_params()
        train = {n: X.reindex(y.index) for n, X in layers.items()}
        self.genes_, self.scorers_, self.left_out_ = {}, {}, {}
        wanted = {lay for _, _, lays in self.collections for lay in lays if lay in layers}
        wanted |= {lay for _, _, lay, _ in self.regulators if lay in layers}
        for layer in sorted(wanted):
            X = train[layer].loc[observed_rows(train[layer])]
            gl = self._gene_level(layer).fit(X)
            G = gl.transform(X)
            scorers = []
            for name, sets, lays in self.collections:
                if layer in lays:
                    s = SetScores(
                        sets=sets,
                        method=self.method,
                        min_size=self.min_size,
                        max_size=self.max_size,
                        prefix=f"{layer}:{name}:",
                    ).fit(G)
                    if len(s.members_):
                        scorers.append(s)
            for name, edges, lay, min_targets in self.regulators:
                if lay == layer:
                    r = RegulatorActivity(edges=edges, min_targets=min_targets, prefix=f"{layer}:{name}:").fit(G)
                    if r.weights_.shape[1]:
                        scorers.append(r)
            n_sets = sum(len(s.members_) for s in scorers if hasattr(s, "members_"))
            if not scorers:
                why = []
                if any(layer in lays for _, _, lays in self.collections):
                    why.append(
                        f"no gene set has between {self.min_size} and {self.max_size} members among the "
                        f"{len(G.columns)} genes of the training samples (integration: hierarchical: min_size, "
                        "max_size)"
                    )
                if any(lay == layer for _, _, lay, _ in self.regulators):
                    why.append("no regulator has enough targets among them (regulators: min_targets)")
                self.left_out_[layer] = " and ".join(why)
                log.warning("hierarchical integration: layer %s left out: %s.", layer, self.left_out_[layer])
            elif self.collections and any(layer in lays for _, _, lays in self.collections) and n_sets < FEW_SETS:
                log.warning(
                    "hierarchical integration: layer %s has %d gene set(s) with at least %d members present "
                    "(integration: hierarchical: min_size); a model on so few programs can do little. Lower "
                    "min_size or use a larger collection.",
                    layer,
                    n_sets,
                    self.min_size,
                )
            if scorers:
                self.genes_[layer], self.scorers_[layer] = gl, scorers
        if not self.scorers_:
            from moflow.errors import InputError

            why = "; ".join(f"layer {lay}: {r}" for lay, r in self.left_out_.items()) or "no layer to score"
            raise InputError(
                f"hierarchical integration: every layer is left out ({why}); lower min_size or use a larger "
                "collection (or leave hierarchical out of evaluation: strategies)."
            )
        self.layers_ = sorted(self.scorers_)
        # each score standardized on the training samples that have its layer
        self.centre_, self.scale_ = {}, {}
        for layer in self.layers_:
            S = self._raw_scores(train[layer].loc[observed_rows(train[layer])], layer)
            sd = S.std(ddof=1).replace(0, 1.0).fillna(1.0)
            self.centre_[layer], self.scale_[layer] = S.mean(), sd
        self._finish_fit(layers, y)
        self.structure_ = self._structure()
        return self

    def _structure(self) -> pd.Series | None:
        """Each score's correlation with the model's linear predictor on the training samples.

        A structure coefficient: which programs the prediction follows, robust to the sign flips and
        weight sharing that correlated scores cause in the coefficients themselves. None for a model
        without a single linear predictor (several classes, a random forest).
        """
        coef = getattr(self.model_, "coef_", None)
        if coef is None or np.atleast_2d(coef).shape[0] != 1:
            return None
        D = self._train_design(tuple(self.layers_))
        lp = D.to_numpy() @ np.ravel(coef)
        if np.std(lp) == 0:
            return pd.Series(0.0, index=D.columns)
        return D.corrwith(pd.Series(lp, index=D.index)).fillna(0.0)

    def _raw_scores(self, X: pd.DataFrame, layer: str) -> pd.DataFrame:
        G = self.genes_[layer].transform(X)
        return pd.concat([s.transform(G) for s in self.scorers_[layer]], axis=1)

    def scores(self, layers) -> pd.DataFrame:
        """Standardized set scores and regulator activities of every sample (rows of ``layers``).

        Missing where the sample lacks the layer. Columns ``<layer>:<collection or regulators>:<name>``.
        """
        check_is_fitted(self)
        index = layers[self.layers_[0]].index
        return self._design(layers, index, tuple(self.layers_), fill=False)

    def _design(self, layers, rows, subset, fill: bool = True):
        blocks = []
        for layer in subset:
            X = layers[layer].reindex(rows)
            S = pd.DataFrame(np.nan, index=rows, columns=self.centre_[layer].index)
            keep = observed_rows(X)
            if len(keep):
                S.loc[keep] = (
                    (self._raw_scores(X.loc[keep], layer) - self.centre_[layer]) / self.scale_[layer]
                ).to_numpy()
            blocks.append(S.fillna(0.0) if fill else S)
        return pd.concat(blocks, axis=1)

    def coefficients(self) -> pd.DataFrame:
        """The model's coefficient (or importance) of every score.

        Columns: layer, source (collection or regulator edge list), feature (set or regulator name),
        one value column per target and, for a single linear predictor, ``structure_r``
        (:meth:`_structure`; signed like the coefficients).
        """
        check_is_fitted(self)
        t = coefficient_table(self.model_, self.design_columns_)
        if self.structure_ is not None:
            t["structure_r"] = self.structure_.reindex(self.design_columns_).to_numpy()
        parts = t["feature"].str.split(":", n=1, expand=True)
        t.insert(1, "source", parts[0])
        t["feature"] = parts[1]
        return t

    def __sklearn_clone__(self):
        # the gene sets, maps and edge tables are shared read-only by every clone (no deep copy per fold)
        return type(self)(**{k: v for k, v in self.get_params(deep=False).items()})
