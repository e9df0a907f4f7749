"""Intermediate integration: MOFA (mofapy2), wrapped as a fit/transform estimator.

``fit`` trains MOFA on the training samples' preprocessed layers; ``transform`` projects any
samples (training or held-out) onto the trained model: with the weights and noise precisions
fixed, each sample's factor values are the posterior mean of z under the N(0, I) prior, from the
features it has observed. That is what lets MOFA factors serve as features inside
cross-validation without held-out samples ever reaching the model fit.
"""

from __future__ import annotations

import contextlib
import io as _io
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from moflow.errors import InputError

LIKELIHOODS = ("gaussian", "bernoulli", "poisson")
CONVERGENCE_MODES = ("fast", "medium", "slow")  # mofapy2's


def _union_samples(layers: dict[str, pd.DataFrame]) -> list[str]:
    seen: dict[str, None] = {}
    for X in layers.values():
        for s in X.index:
            seen.setdefault(s, None)
    return list(seen)


def _cupy_available() -> bool:
    try:
        import cupy  # noqa: F401
    except Exception:
        return False
    return True


def _set_tolerance(model, tolerance: float) -> None:
    """Give ``model`` mofapy2's convergence test with another threshold.

    Training stops when the ELBO changed by less than ``tolerance`` percent of the first ELBO between
    checks (every 5 iterations), twice in a row. mofapy2's modes are 0.0005 (fast), 0.00005 (medium)
    and 0.000005 (slow).
    """
    import types

    def assess_convergence(self, delta_elbo, first_elbo, convergence_token):
        if 100 * abs(delta_elbo / first_elbo) < tolerance:
            convergence_token += 1
            return convergence_token, convergence_token == 3
        return 1, False

    model.assess_convergence = types.MethodType(assess_convergence, model)


def check_mofa_input(layers: dict[str, pd.DataFrame], likelihoods: dict[str, str]) -> None:
    """Validate views before mofapy2 sees them (mofapy2 exits with status 0 on bad input).

    Parameters
    ----------
    layers : dict of str to pandas.DataFrame
        {layer: samples x features}.
    likelihoods : dict of str to str
        {layer: gaussian / bernoulli / poisson}, gaussian where absent.

    Raises
    ------
    moflow.errors.InputError
        No layer; an unknown likelihood; a layer without features or with infinite values; a feature
        without an observed value; a bernoulli layer with values other than 0/1, a poisson layer with
        non-count values.
    """
    if not layers:
        raise InputError("MOFA: no layer to integrate.")
    for name, X in layers.items():
        lik = likelihoods.get(name, "gaussian")
        if lik not in LIKELIHOODS:
            raise InputError(f"MOFA: layer '{name}' likelihood '{lik}' unknown; use one of {', '.join(LIKELIHOODS)}.")
        V = X.to_numpy(float)
        if X.shape[1] == 0:
            raise InputError(f"MOFA: layer '{name}' has no features.")
        if np.isinf(V).any():
            raise InputError(f"MOFA: layer '{name}' contains infinite values.")
        allnan = X.columns[np.isnan(V).all(axis=0)]
        if len(allnan):
            raise InputError(f"MOFA: feature '{allnan[0]}' of layer '{name}' has no observed value.")
        obs = V[np.isfinite(V)]
        if lik == "bernoulli" and not np.isin(obs, [0, 1]).all():
            raise InputError(f"MOFA: layer '{name}' is declared bernoulli but holds values other than 0/1.")
        if lik == "poisson" and ((obs < 0).any() or (obs != np.round(obs)).any()):
            raise InputError(f"MOFA: layer '{name}' is declared poisson but holds non-count values.")


class MOFA(TransformerMixin, BaseEstimator):
    """MOFA+ (mofapy2) on a dict of samples x features layers.

    Parameters mirror mofapy2's options. ``likelihoods`` maps layer -> gaussian / bernoulli /
    poisson (gaussian where absent). Layers are centred on the training means before fitting, and
    the same means are subtracted before projection.

    ``groups`` (MOFA+ groups, e.g. cohorts or centres): a Series sample -> group label covering the
    training samples (and, for projection, any sample to transform). Weights are shared, the noise
    precision of every feature is learnt per group, and with ``center_groups`` (the default) each
    group is centred on its own training means, so that factors describe variation within groups
    rather than differences between them. A projected sample uses its group's means and noise
    precisions; a sample of a group unseen in training uses the overall means and the precisions
    pooled over the training samples.

    ``tolerance``: where given, training stops at this convergence threshold instead of
    ``convergence_mode``'s (percent of the first ELBO; for fits that only check, e.g. CV folds).

    Parameters
    ----------
    n_factors : int
        The number of factors.
    likelihoods : dict, optional
        {layer: gaussian / bernoulli / poisson}, gaussian where absent.
    spikeslab_weights, ard_weights, ard_factors : bool
        mofapy2's model options: a spike-and-slab prior on the weights, ARD priors on the weights and on
        the factors.
    scale_views : bool
        mofapy2's data option ``scale_views``.
    convergence_mode : str
        ``fast``, ``medium`` or ``slow`` (mofapy2's).
    max_iter : int
        The maximum number of training iterations.
    drop_r2 : float, optional
        mofapy2's ``dropR2`` (factors explaining less variance than this are dropped during training).
    use_float32 : bool
        Train in single precision.
    gpu_mode : bool
        Train on the GPU (cupy); on the CPU, with a warning, where cupy is not importable.
    seed : int
        mofapy2's seed.
    groups : pandas.Series or dict, optional
        Sample -> group label (see above).
    center_groups : bool
        Centre each group on its own training means (see above).
    tolerance : float, optional
        The convergence threshold (see above).

    Attributes
    ----------
    views_ : list of str
        The layers, in the order given to ``fit``.
    samples_ : list
        The training samples (the union of the layers' indexes).
    factor_names_ : list of str
        ``Factor1``, ``Factor2``, ...
    Z_train_ : pandas.DataFrame
        The training samples' factor values (samples_ x factors).
    W_ : dict of str to numpy.ndarray
        {layer: features x factors, the weights' posterior means}.
    r2_ : pandas.DataFrame
        The share of each layer's training variance each factor explains: view, factor, r2.
    gpu_used_ : bool
        Whether training ran on the GPU.
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_factors": [Interval(Integral, 1, None, closed="left")],
        "likelihoods": [dict, None],
        "spikeslab_weights": ["boolean"],
        "ard_weights": ["boolean"],
        "ard_factors": ["boolean"],
        "scale_views": ["boolean"],
        "convergence_mode": [StrOptions(set(CONVERGENCE_MODES))],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "drop_r2": [Interval(Real, 0, None, closed="left"), None],
        "use_float32": ["boolean"],
        "gpu_mode": ["boolean"],
        "seed": [Interval(Integral, 0, None, closed="left")],
        "groups": [pd.Series, dict, None],
        "center_groups": ["boolean"],
        "tolerance": [Interval(Real, 0, None, closed="neither"), None],
    }

    def __init__(
        self,
        n_factors: int = 8,
        likelihoods: dict | None = None,
        spikeslab_weights: bool = True,
        ard_weights: bool = True,
        ard_factors: bool = False,
        scale_views: bool = False,
        convergence_mode: str = "fast",
        max_iter: int = 1000,
        drop_r2: float | None = None,
        use_float32: bool = True,
        gpu_mode: bool = False,
        seed: int = 42,
        groups: pd.Series | None = None,
        center_groups: bool = True,
        tolerance: float | None = None,
    ):
        self.n_factors = n_factors
        self.likelihoods = likelihoods
        self.spikeslab_weights = spikeslab_weights
        self.ard_weights = ard_weights
        self.ard_factors = ard_factors
        self.scale_views = scale_views
        self.convergence_mode = convergence_mode
        self.max_iter = max_iter
        self.drop_r2 = drop_r2
        self.use_float32 = use_float32
        self.gpu_mode = gpu_mode
        self.seed = seed
        self.groups = groups
        self.center_groups = center_groups
        self.tolerance = tolerance

    def _group_of(self, samples) -> np.ndarray:
        """Group label of each sample (None where the mapping has none)."""
        if self.groups is None:
            return np.array(["group1"] * len(samples), dtype=object)
        g = pd.Series(self.groups)
        g.index = g.index.astype(str)
        return np.array([None if pd.isna(v) else str(v) for v in g.reindex([str(x) for x in samples])], dtype=object)

    def fit(self, layers: dict[str, pd.DataFrame], y=None):
        """Train MOFA on the training samples' layers ({layer: samples x features}); ``y`` is ignored."""
        self._validate_params()
        from mofapy2.run.entry_point import entry_point

        liks = dict(self.likelihoods or {})
        check_mofa_input(layers, liks)
        self.gpu_used_ = bool(self.gpu_mode) and _cupy_available()
        if self.gpu_mode and not self.gpu_used_:
            import logging

            logging.getLogger("moflow").warning(
                "MOFA gpu_mode requested but cupy is not importable: running on the CPU"
            )
        self.views_ = list(layers)
        self.samples_ = _union_samples(layers)
        self.features_ = {v: list(layers[v].columns) for v in self.views_}
        group_of = self._group_of(self.samples_)
        if any(g is None for g in group_of):
            missing = [s for s, g in zip(self.samples_, group_of) if g is None]
            raise InputError(
                f"MOFA groups: sample(s) {missing[:5]} have no group. Fill in the groups column of "
                "the sample sheet for every cohort sample."
            )
        self.groups_ = sorted(set(group_of))
        members = {g: [s for s, gg in zip(self.samples_, group_of) if gg == g] for g in self.groups_}
        small = [g for g in self.groups_ if len(members[g]) < 3]
        if small:
            raise InputError(
                f"MOFA groups: group '{small[0]}' has {len(members[small[0]])} training sample(s); "
                "each group needs at least 3. Merge small groups or leave 'groups' empty."
            )
        self.means_, self.group_means_ = {}, {}
        data, centred = [], {}
        for v in self.views_:
            X = layers[v].reindex(self.samples_)
            gaussian = liks.get(v, "gaussian") == "gaussian"
            mu = X.mean(axis=0, skipna=True) if gaussian else X.mean(axis=0, skipna=True) * 0.0
            self.means_[v] = mu.to_numpy(float)
            self.group_means_[v] = {}
            blocks = []
            for g in self.groups_:
                Xg = X.loc[members[g]]
                mg = Xg.mean(axis=0, skipna=True).fillna(mu) if gaussian and self.center_groups else mu
                self.group_means_[v][g] = np.asarray(mg, float)
                blocks.append((Xg - mg).to_numpy(float))
            data.append(blocks)
            # training samples in self.samples_ order, centred as fitted (mofapy2 alters its input)
            centred[v] = (
                pd.DataFrame(np.vstack(blocks), index=[s for g in self.groups_ for s in members[g]])
                .reindex(self.samples_)
                .to_numpy(float)
            )
        self.log_ = _io.StringIO()
        with contextlib.redirect_stdout(self.log_):
            ent = entry_point()
            ent.set_data_options(scale_views=self.scale_views, center_groups=False, use_float32=self.use_float32)
            try:
                ent.set_data_matrix(
                    data,
                    likelihoods=[liks.get(v, "gaussian") for v in self.views_],
                    views_names=self.views_,
                    groups_names=list(self.groups_),
                    samples_names=[members[g] for g in self.groups_],
                    features_names=[
                        [f"{v}:{f}" for f in self.features_[v]] for v in self.views_
                    ],  # unique across views
                )
                ent.set_model_options(
                    factors=int(self.n_factors),
                    spikeslab_weights=self.spikeslab_weights,
                    ard_weights=self.ard_weights,
                    ard_factors=self.ard_factors,
                )
                ent.set_train_options(
                    iter=int(self.max_iter),
                    convergence_mode=self.convergence_mode,
                    dropR2=self.drop_r2,
                    gpu_mode=self.gpu_used_,
                    seed=int(self.seed),
                    verbose=False,
                    quiet=True,
                )
                ent.build()
                if self.tolerance is not None:
                    _set_tolerance(ent.model, float(self.tolerance))
                ent.run()
            except SystemExit as exc:  # mofapy2 calls sys.exit() on invalid input
                raise InputError(f"MOFA rejected its input: {self.log_.getvalue()[-2000:]}") from exc
        self.entry_point_ = ent
        elbo = np.asarray(ent.model.train_stats["elbo"], float)
        self.n_iter_ = int(np.flatnonzero(np.isfinite(elbo))[-1]) if np.isfinite(elbo).any() else 0
        nodes = ent.model.nodes
        self.K_ = nodes["Z"].getExpectation().shape[1]
        self.factor_names_ = [f"Factor{k + 1}" for k in range(self.K_)]
        W = nodes["W"].getExpectations()
        tau = nodes["Tau"].getExpectation()
        self.W_ = {v: np.asarray(W[m]["E"], float) for m, v in enumerate(self.views_)}
        self.W2_ = {v: np.asarray(W[m]["E2"], float) for m, v in enumerate(self.views_)}
        order = [s for g in self.groups_ for s in members[g]]  # mofapy2 stacks the groups in this order
        first = {g: order.index(members[g][0]) for g in self.groups_}
        self.group_tau_ = {
            v: {g: np.asarray(tau[m], float)[first[g]] for g in self.groups_} for m, v in enumerate(self.views_)
        }
        # pooled over the training samples: for one group, that group's precisions
        self.tau_ = {v: np.asarray(tau[m], float).mean(axis=0) for m, v in enumerate(self.views_)}
        self.Z_train_ = pd.DataFrame(
            np.asarray(nodes["Z"].getExpectation(), float), index=order, columns=self.factor_names_
        ).reindex(self.samples_)
        self.r2_ = self._variance_explained(centred)
        return self

    def _variance_explained(self, centred: dict[str, np.ndarray]) -> pd.DataFrame:
        Z = self.Z_train_.to_numpy()
        rows = []
        for v, Y in centred.items():
            obs = np.isfinite(Y)
            Y0 = np.where(obs, Y, 0.0)
            ss_tot = float((Y0**2).sum())
            for k in range(self.K_):
                pred = np.outer(Z[:, k], self.W_[v][:, k])
                ss_res = float((np.where(obs, Y0 - pred, 0.0) ** 2).sum())
                rows.append({"view": v, "factor": self.factor_names_[k], "r2": max(0.0, 1 - ss_res / ss_tot)})
        return pd.DataFrame(rows)

    def transform(self, layers: dict[str, pd.DataFrame]) -> pd.DataFrame:
        """The factor values of every sample of ``layers`` (the union of their indexes).

        The samples are projected onto the trained weights (see the module); layers the model was not
        trained on are ignored.
        """
        check_is_fitted(self)
        samples = _union_samples({v: layers[v] for v in self.views_ if v in layers})
        group_of = self._group_of(samples)
        known = np.array([g in set(self.groups_) for g in group_of])
        K = self.K_
        P = np.broadcast_to(np.eye(K), (len(samples), K, K)).copy()
        b = np.zeros((len(samples), K))
        for v in self.views_:
            if v not in layers:
                continue
            X = layers[v].reindex(index=samples, columns=self.features_[v]).to_numpy(float)
            W, W2 = self.W_[v], self.W2_[v]
            # each sample: its group's means and noise precisions (unseen group: overall, pooled)
            for g in [*self.groups_, None]:
                rows = np.flatnonzero(group_of == g) if g is not None else np.flatnonzero(~known)
                if not len(rows):
                    continue
                mean = self.group_means_[v][g] if g is not None else self.means_[v]
                tau = self.group_tau_[v][g] if g is not None else self.tau_[v]
                Y = X[rows] - mean
                M = np.isfinite(Y).astype(float)
                Y0 = np.where(M > 0, Y, 0.0)
                tw = W * tau[:, None]  # D x K
                # E[w w'] = w w' + diag(Var w)
                P[rows] += np.einsum("nd,dk,dl->nkl", M, tw, W, optimize=True)
                var_w = np.maximum(W2 - W**2, 0.0) * tau[:, None]
                P[rows[:, None], np.arange(K), np.arange(K)] += M @ var_w
                b[rows] += Y0 @ tw
        Z = np.linalg.solve(P, b[..., None])[..., 0]
        return pd.DataFrame(Z, index=samples, columns=self.factor_names_)

    def weights(self) -> pd.DataFrame:
        """Long table: view, feature, factor, weight."""
        check_is_fitted(self)
        rows = []
        for v in self.views_:
            df = pd.DataFrame(self.W_[v], index=self.features_[v], columns=self.factor_names_)
            df = df.rename_axis("feature").reset_index().melt(id_vars="feature", var_name="factor", value_name="weight")
            df.insert(0, "view", v)
            rows.append(df)
        return pd.concat(rows, ignore_index=True)

    def save(self, path: str) -> None:
        """Write mofapy2's own HDF5 model file (readable by MOFA2 / mofax), factors in this model's order.

        mofapy2 sorts the factors by variance explained when it saves, which would make the file's
        Factor2 another factor than factors.tsv's Factor2.
        """
        check_is_fitted(self)
        import functools

        import mofapy2.run.entry_point as entry_point

        unsorted = functools.partial(entry_point.saveModel, sort_factors=False)
        with contextlib.redirect_stdout(_io.StringIO()), _patched(entry_point, "saveModel", unsorted):
            self.entry_point_.save(str(path), save_data=False)


@contextlib.contextmanager
def _patched(module, name: str, value):
    """``module.name`` replaced by ``value`` inside the block (and restored, whatever happens)."""
    old = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, old)
