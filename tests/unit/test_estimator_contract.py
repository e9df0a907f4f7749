"""The scikit-learn estimator contract, checked over every estimator of the package.

One case per estimator configuration: each preprocessing step of :mod:`moflow.preprocess` (every
method and the options that change what is learnt), the per-layer chain for each layer kind, every
integration strategy of :mod:`moflow.integrate` for a class and a continuous outcome, the hierarchical
strategy's parts (:class:`~moflow.integrate.GeneLevel`, :class:`~moflow.integrate.SetScores`,
:class:`~moflow.integrate.RegulatorActivity`), :class:`~moflow.integrate.MOFA`, and the models the
strategies fit (the Cox models, :class:`~moflow.integrate.EncodedClassifier`). Three checks per case:

1. ``clone`` keeps the parameters (compared deeply: frames, arrays, nested dicts and estimators) and
   copies them; ``set_params(**get_params())`` round-trips;
2. nothing leaks from held-out rows: after transforming (strategies: ``predict_table``) held-out rows,
   clean and then poisoned (scaled, shifted, extra missing or zero cells, within the layer's domain),
   every attribute of the fitted estimator is unchanged (deep comparison with a deep copy taken right
   after fit) and the training rows transform exactly as before; a held-out row comes out the same
   alone, with the clean held-out rows and with poisoned ones (to a few ulps: BLAS products of
   different numbers of rows round differently); transform leaves its input as it was. For the
   strategies and MOFA one held-out sample lacks layer B, which sends it through the per-pattern
   refit (the cache ``subset_models_`` may gain entries, fit on training samples only);
3. determinism: the clone of the fitted estimator has no learnt attribute; fitting it (same seed)
   learns the same state (mofapy2's wall-clock timings aside) and gives identical outputs, and the
   fit leaves X, y and the sample sheet unchanged.

Every estimator class of the two packages has a case or a reason not to
(:func:`test_every_estimator_class_has_a_contract_case` walks every module), refuses to transform or
predict before ``fit`` (``NotFittedError``), and declares ``_parameter_constraints`` for every
``__init__`` parameter, which its defaults satisfy.

Data are small and synthetic (40 training samples, 8 held-out ones plus 2 of a batch without
training samples, 3 batches, pooled QC injections in the metabolomics layers), so that the whole
file runs in well under a minute. One fit per case is shared by checks 2 and 3 through a
module-level cache (its state and outputs are recorded before anything else touches it).
"""

from __future__ import annotations

import copy
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, clone

from moflow.integrate import (
    MOFA,
    ClinicalEncoder,
    ClinicalOnly,
    EarlyIntegration,
    EncodedClassifier,
    GeneLevel,
    HierarchicalIntegration,
    LateIntegration,
    MixedIntegration,
    MOFAStrategy,
    PenalizedCox,
    Recalibrated,
    RegulatorActivity,
    RidgeCox,
    SetScores,
    SingleLayer,
    TreeReference,
    WithClinical,
    with_tuned_penalty,
)
from moflow.integrate.baselines import NaiveBaseline
from moflow.preprocess import (
    PQN,
    QCRLSC,
    AutoDrift,
    AutoImpute,
    BinaryCheck,
    ComBat,
    CountNormalizer,
    FeatureFilter,
    HalfMinImpute,
    Identity,
    IterativeImpute,
    KNNImpute,
    LayerPreprocessor,
    LinearBatch,
    Log2,
    MeanImpute,
    MedianCentering,
    MinProbImpute,
    MixedImpute,
    MValue,
    QRILCImpute,
    QuantileNormalizer,
    SampleDrift,
    Scaler,
    WithinBatch,
    layer_settings,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]

# ---------------------------------------------------------------------------------------------
# synthetic data
# ---------------------------------------------------------------------------------------------

TRAIN = [f"S{i:02d}" for i in range(40)]
HELD = [f"H{i}" for i in range(8)]
NEW = ["N0", "N1"]  # held-out samples of a batch ("b4") without training samples (no QC injections)
COHORT = TRAIN + HELD + NEW


def _sheet(rng) -> tuple[pd.DataFrame, list[str]]:
    """Sample sheet: training and held-out samples spread over b1-b3 with QC injections every 3 samples
    (7 per batch), the two NEW samples in b4 at the end of the run."""
    batch = {s: f"b{i % 3 + 1}" for i, s in enumerate(TRAIN)}
    batch.update({s: f"b{i % 3 + 1}" for i, s in enumerate(HELD)})
    rows, order, n_qc = [], 0, 0
    for b in ("b1", "b2", "b3"):
        members = list(rng.permutation([s for s in TRAIN + HELD if batch[s] == b]))
        seq = []
        for i, s in enumerate(members):
            if i % 3 == 0:
                n_qc += 1
                seq.append((f"QC{n_qc:02d}", "qc"))
            seq.append((s, "sample"))
        n_qc += 1
        seq.append((f"QC{n_qc:02d}", "qc"))
        for sid, stype in seq:
            order += 1
            rows.append({"sample": sid, "sample_type": stype, "batch": b, "injection_order": order})
    for s in NEW:
        order += 1
        rows.append({"sample": s, "sample_type": "sample", "batch": "b4", "injection_order": order})
    info = pd.DataFrame(rows).set_index("sample", drop=False)
    info["age"] = np.round(rng.uniform(30, 70, len(info)), 1)
    info["sex"] = rng.choice(["F", "M"], len(info))
    qcs = info.index[info["sample_type"] == "qc"].tolist()
    return info, qcs


def _with_nan(X: pd.DataFrame, frac: float, rng) -> pd.DataFrame:
    """Hide a fraction of cells at random, never a whole row or column."""
    mask = rng.random(X.shape) < frac
    mask[:, 0] = False
    mask[0, :] = False
    return X.mask(mask)


@dataclass
class Data:
    info: pd.DataFrame
    qcs: list[str]
    y_cls: pd.Series  # outcome of the steps: training samples only (case / control, balanced in each batch)
    frames: dict[str, pd.DataFrame]  # samples x features, all cohort samples (+ QCs for metabolomics)
    layers: dict[str, pd.DataFrame]  # integration / MOFA input (standardized layers A and B)
    y_strat_cls: pd.Series  # outcomes of the strategies (training samples), from the layers' latent variable
    y_strat_reg: pd.Series
    groups: pd.Series  # MOFA groups of the training and held-out samples


def make_data(seed: int = 11) -> Data:
    rng = np.random.default_rng(seed)
    info, qcs = _sheet(rng)
    n_tr = len(TRAIN)
    case = pd.Series(np.where((np.arange(n_tr) // 3) % 2 == 0, "case", "control"), index=TRAIN)
    case_all = case.reindex(COHORT).fillna(pd.Series(rng.choice(["case", "control"], len(COHORT)), index=COHORT))
    is_case = (case_all == "case").to_numpy(float)
    bidx = info.loc[COHORT, "batch"].map({"b1": 0, "b2": 1, "b3": 2, "b4": 3}).to_numpy()
    n = len(COHORT)

    def shifts(p, sd):
        return rng.normal(0, sd, (4, p))[bidx]

    frames = {}
    # RNA-seq counts (non-negative integers), library sizes vary
    p = 60
    base = np.exp(rng.normal(5, 1, p))
    lfc = np.zeros((n, p))
    lfc[:, :10] = 0.7 * is_case[:, None]
    mu = np.exp(rng.normal(0, 0.4, n))[:, None] * base[None, :] * np.exp(lfc + shifts(p, 0.3))
    r = 8.0
    frames["counts"] = pd.DataFrame(
        rng.negative_binomial(r, r / (r + mu)).astype(float), index=COHORT, columns=[f"G{j:02d}" for j in range(p)]
    )
    # protein intensities (linear, positive) with left-censored missing values; and their log2
    p = 40
    L = (
        20
        + rng.normal(0, 2, p)[None, :]
        + rng.normal(0, 0.3, n)[:, None]
        + shifts(p, 0.6)
        + 0.8 * is_case[:, None] * (np.arange(p) < 8)[None, :]
        + rng.normal(0, 0.5, (n, p))
    )
    censored = L + rng.normal(0, 0.5, L.shape) < np.quantile(L, 0.08)
    censored[:, 0] = False
    L = np.where(censored, np.nan, L)
    frames["log2int"] = pd.DataFrame(L, index=COHORT, columns=[f"P{j:02d}" for j in range(p)])
    frames["intensity"] = np.power(2.0, frames["log2int"])
    # gaussian continuous values with batch shifts and missing-at-random cells
    G = rng.normal(0, 1, (n, p)) + shifts(p, 1.0) + 1.0 * is_case[:, None] * (np.arange(p) < 8)[None, :] + 8
    frames["gauss"] = _with_nan(pd.DataFrame(G, index=COHORT, columns=[f"X{j:02d}" for j in range(p)]), 0.08, rng)
    # methylation beta values in (0, 1)
    M = rng.normal(0, 1.2, p)[None, :] + rng.normal(0, 0.5, (n, p)) + shifts(p, 0.3)
    frames["beta"] = _with_nan(
        pd.DataFrame(1 / (1 + np.exp(-M)), index=COHORT, columns=[f"cg{j:02d}" for j in range(p)]), 0.05, rng
    )
    # binary (mutations)
    B = (rng.random((n, 30)) < rng.uniform(0.2, 0.6, 30)[None, :]).astype(float)
    frames["binary"] = _with_nan(pd.DataFrame(B, index=COHORT, columns=[f"mut{j:02d}" for j in range(30)]), 0.05, rng)
    # metabolomics: cohort samples and QC injections, dilution, injection-order drift, batch shifts
    ids = COHORT + qcs
    sh = info.loc[ids]
    is_qc = (sh["sample_type"] == "qc").to_numpy()
    pos = sh["injection_order"].to_numpy(float) / sh["injection_order"].max()
    bm = sh["batch"].map({"b1": 0, "b2": 1, "b3": 2, "b4": 3}).to_numpy()
    feat = 16 + rng.normal(0, 1.5, p)
    drift = rng.normal(0, 0.8, p)
    noise = np.where(is_qc[:, None], 0.04, 0.3) * rng.normal(size=(len(ids), p))
    noise[is_qc, :3] *= 15  # three features are irreproducible in the QCs
    dil = np.where(is_qc, 0.0, rng.normal(0, 0.3, len(ids)))
    bio = np.where(is_qc[:, None], 0.0, rng.normal(0, 0.5, (len(ids), p)))
    Lm = feat[None, :] + dil[:, None] + drift[None, :] * pos[:, None] + rng.normal(0, 0.3, (4, p))[bm] + bio + noise
    Lm = pd.DataFrame(Lm, index=ids, columns=[f"M{j:02d}" for j in range(p)])
    hide = rng.random(Lm.shape) < 0.03
    hide[is_qc] = False
    hide[:, 0] = False
    hide[is_qc, 5] = rng.random(is_qc.sum()) < 0.6  # rarely detected in the QCs
    hide[is_qc, 6] = rng.random(is_qc.sum()) < 0.15  # a few QC values missing
    Lm = Lm.mask(hide)
    frames["metab_log"] = Lm
    frames["metab"] = np.power(2.0, Lm)

    # integration input: two standardized layers driven by one latent variable
    idx = TRAIN + HELD
    z = rng.normal(size=len(idx))
    A = np.outer(z, rng.uniform(0.5, 1, 30)) + rng.normal(size=(len(idx), 30))
    Bl = np.outer(z, rng.uniform(0.5, 1, 20)) + rng.normal(size=(len(idx), 20))
    layers = {
        "A": pd.DataFrame(A, index=idx, columns=[f"a{j}" for j in range(30)]),
        "B": pd.DataFrame(Bl, index=idx, columns=[f"b{j}" for j in range(20)]),
    }
    layers = {k: (v - v.mean()) / v.std() for k, v in layers.items()}
    noisy = pd.Series(z + 0.5 * rng.normal(size=len(idx)), index=idx)
    y_strat_cls = pd.Series(np.where(noisy > noisy.loc[TRAIN].median(), "high", "low"), index=idx).loc[TRAIN]
    y_strat_reg = noisy.loc[TRAIN]
    groups = pd.Series(np.where(np.arange(len(idx)) % 2 == 0, "g1", "g2"), index=idx)
    return Data(
        info=info,
        qcs=qcs,
        y_cls=case,
        frames=frames,
        layers=layers,
        y_strat_cls=y_strat_cls,
        y_strat_reg=y_strat_reg,
        groups=groups,
    )


DATA = make_data()
# the hierarchical parts score the standardized integration layers (features named as genes)
DATA.frames["genes"] = DATA.layers["A"]
DATA.frames["targets"] = DATA.layers["B"]
# a survival outcome of the training samples (time, event), for the Cox models
_order = np.argsort(np.argsort(DATA.y_strat_reg.to_numpy()))
Y_SURV = pd.DataFrame(
    {
        "time": 1.0 + np.exp(-DATA.y_strat_reg.to_numpy()) + 0.01 * _order,
        "event": (np.arange(len(TRAIN)) % 3 != 0).astype(float),
    },
    index=TRAIN,
)
# clinical covariates of the cohort: age (a few missing) and sex; encoded on the training rows for the
# strategies that take them (ClinicalOnly, WithClinical)
DATA.frames["clinical"] = DATA.info.loc[COHORT, ["age", "sex"]].copy()
DATA.frames["clinical"].loc[["S03", "S17", "H5"], "age"] = np.nan
CLINICAL = (
    ClinicalEncoder(columns=("age", "sex")).fit(DATA.frames["clinical"].loc[TRAIN]).transform(DATA.frames["clinical"])
)
SETS = {
    "s1": [f"a{j}" for j in range(10)],
    "s2": [f"a{j}" for j in range(5, 15)],
    "s3": [f"a{j}" for j in range(15, 25)],
    "s4": [f"a{j}" for j in range(0, 30, 3)],
    "s5": [f"a{j}" for j in range(20, 30)] + ["not_measured"],
}
EDGES = pd.DataFrame(
    {
        "source": ["tf1"] * 8 + ["tf2"] * 8,
        "target": [f"b{j}" for j in range(8)] + [f"b{j}" for j in range(6, 14)],
        "weight": [1.0, -1.0] * 4 + [1.0] * 8,
    }
)

# ---------------------------------------------------------------------------------------------
# poisoning held-out rows (the layer's domain stays valid)
# ---------------------------------------------------------------------------------------------


def _nan_some(X: pd.DataFrame, frac: float, seed: int) -> pd.DataFrame:
    """Extra missing cells; every row keeps most of its values (never a whole row)."""
    rng = np.random.default_rng(seed)
    mask = rng.random(X.shape) < frac
    mask[:, :2] = False
    return X.mask(mask)


def _zero_some(X: pd.DataFrame, frac: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    mask = rng.random(X.shape) < frac
    mask[:, :2] = False
    return X.mask(mask, 0.0)


POISON: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
    "counts": lambda X: _zero_some(X * 1000 + 3, 0.1, 0),  # still non-negative integers
    "positive": lambda X: _nan_some(X * 1000, 0.15, 1),
    "log": lambda X: _nan_some(X * 3 + 50, 0.15, 2),
    "beta": lambda X: _nan_some(X**4, 0.15, 3),  # stays in [0, 1]
    "binary": lambda X: _nan_some(1 - X, 0.15, 4),
    "complete_log": lambda X: X * 3 + 50,
    # clinical covariates: a numeric one far off its training range, a level never seen in training
    "clinical": lambda X: X.assign(age=X["age"] * 10 + 100, sex=X["sex"].map({"F": "M", "M": "U"})),
}

# ---------------------------------------------------------------------------------------------
# cases
# ---------------------------------------------------------------------------------------------


@dataclass
class Case:
    id: str
    make: Callable[[Data], BaseEstimator]
    data: str  # a key of Data.frames, or "layers" for strategies / MOFA
    poison: str = "log"
    kind: str = "step"  # step | strategy | mofa | model (a predictor on one layer, DATA.layers[data])
    target: str = "cls"  # cls | reg | surv (Y_SURV)
    fit_qc: bool = False  # QC injections in the fit (and in the training rows transformed)
    held: list = field(default_factory=lambda: list(HELD))  # held-out rows (cohort samples only)


def _lp(kind, frame, poison, *, log_scale=False, overrides=None, fit_qc=False, **kw):
    return Case(
        f"LayerPreprocessor-{kind}" + ("-log_scale" if log_scale else "") + kw.pop("suffix", ""),
        lambda d: LayerPreprocessor(
            kind,
            layer_settings(kind, overrides),
            info=d.info,
            batch_column="batch",
            log_scale=log_scale,
            layer=frame,
            seed=3,
        ),
        frame,
        poison,
        fit_qc=fit_qc,
        **kw,
    )


def _strategies(task: str) -> list[Case]:
    """Every strategy for one task (inner CV with 2 folds: LogisticRegressionCV dominates the run time)."""
    t = task
    short = "cls" if task == "classification" else "reg"
    cases = [
        # the baselines and the tree reference; a strategy with the clinical covariates (CLINICAL) beside it
        Case(f"NaiveBaseline-{short}", lambda d: NaiveBaseline(task=t), "layers", kind="strategy", target=short),
        Case(
            f"ClinicalOnly-{short}",
            lambda d: ClinicalOnly(task=t, inner_folds=2, seed=1),
            "layers",
            kind="strategy",
            target=short,
        ),
        Case(
            f"WithClinical-{short}",
            lambda d: WithClinical(EarlyIntegration(task=t, inner_folds=2)),
            "layers",
            kind="strategy",
            target=short,
        ),
        Case(
            f"TreeReference-{short}",
            lambda d: TreeReference(task=t, inner_folds=2, n_estimators=20, stages=(10, 20), seed=1),
            "layers",
            kind="strategy",
            target=short,
        ),
        Case(
            f"SingleLayer-{short}",
            lambda d: SingleLayer("A", task=t, inner_folds=2),
            "layers",
            kind="strategy",
            target=short,
        ),
        Case(
            f"EarlyIntegration-{short}",
            lambda d: EarlyIntegration(task=t, layer_weights={"A": 2.0}, n_components=5, inner_folds=2),
            "layers",
            kind="strategy",
            target=short,
        ),
        Case(
            f"MixedIntegration-{short}",
            lambda d: MixedIntegration(task=t, n_components=3, inner_folds=2),
            "layers",
            kind="strategy",
            target=short,
        ),
        Case(
            f"MOFAStrategy-{short}",
            lambda d: MOFAStrategy(MOFA(n_factors=3, max_iter=100, seed=2), task=t, inner_folds=2),
            "layers",
            kind="strategy",
            target=short,
        ),
        # (classification: l1 base models, as saga is ~5x faster here than lbfgs; l2 is covered above)
        Case(
            f"LateIntegration-{short}",
            lambda d: LateIntegration(task=t, inner_folds=2, seed=1, penalty="l1" if t == "classification" else "l2"),
            "layers",
            kind="strategy",
            target=short,
        ),
    ]
    if task == "classification":  # (saga: cheap here)
        cases += [
            Case(
                "Recalibrated-platt-cls",
                lambda d: Recalibrated(partial(EarlyIntegration, task=t, inner_folds=2), inner_folds=2, seed=1),
                "layers",
                kind="strategy",
                target=short,
            ),
            Case(
                "SingleLayer-elasticnet-cls",
                lambda d: SingleLayer("B", task=t, penalty="elasticnet", inner_folds=2),
                "layers",
                kind="strategy",
                target=short,
            ),
            Case(
                "SingleLayer-l1-cls",
                lambda d: SingleLayer("A", task=t, penalty="l1", inner_folds=2, seed=4),
                "layers",
                kind="strategy",
                target=short,
            ),
        ]
    if task == "regression":  # variants that cost little with a continuous outcome
        cases += [
            Case(
                "SingleLayer-l1-reg",
                lambda d: SingleLayer("B", task=t, penalty="l1", inner_folds=2, seed=5),
                "layers",
                kind="strategy",
                target=short,
            ),
            Case(
                "SingleLayer-elasticnet-reg",
                lambda d: SingleLayer("A", task=t, penalty="elasticnet", inner_folds=2),
                "layers",
                kind="strategy",
                target=short,
            ),
            Case(
                "EarlyIntegration-impute-reg",
                lambda d: EarlyIntegration(task=t, missing="impute"),
                "layers",
                kind="strategy",
                target=short,
            ),
        ]
    cases.append(
        Case(
            f"HierarchicalIntegration-{short}",
            lambda d: HierarchicalIntegration(
                collections=(("c", SETS, ("A",)),),
                regulators=(("tf", EDGES, "B", 5),),
                task=t,
                inner_folds=2,
                penalty="l1" if t == "classification" else "l2",
            ),
            "layers",
            kind="strategy",
            target=short,
        )
    )
    return cases


_COX: list = []


def _tuned_cox(d: Data):
    """The fixed-penalty Cox model (models._FixedCox) as the strategies get it: from a tuned PenalizedCox."""
    if not _COX:
        X = d.layers["A"].loc[TRAIN]
        _COX.append(PenalizedCox(n_alphas=10, inner_folds=2, seed=3).fit(X, Y_SURV))
    return with_tuned_penalty(_COX[0])


CASES: list[Case] = [
    # clinical covariates (one numeric with missing values, one categorical)
    Case("ClinicalEncoder", lambda d: ClinicalEncoder(columns=("age", "sex")), "clinical", "clinical"),
    # normalize
    *[
        Case(f"CountNormalizer-{m}-log2", lambda d, m=m: CountNormalizer(method=m), "counts", "counts")
        for m in ("median_of_ratios", "tmm", "upper_quartile", "total")
    ],
    *[
        Case(
            f"CountNormalizer-{m}-vst",
            lambda d, m=m: CountNormalizer(method=m, transformation="vst"),
            "counts",
            "counts",
        )
        for m in ("median_of_ratios", "tmm", "upper_quartile", "total")
    ],
    Case(
        "CountNormalizer-total-pseudocount0.5",
        lambda d: CountNormalizer(method="total", pseudocount=0.5),
        "counts",
        "counts",
    ),
    Case("MedianCentering-log", lambda d: MedianCentering(log=True), "intensity", "positive"),
    Case("MedianCentering-nolog", lambda d: MedianCentering(log=False), "log2int", "log"),
    Case("QuantileNormalizer-log", lambda d: QuantileNormalizer(log=True), "intensity", "positive"),
    Case("QuantileNormalizer-nolog-grid", lambda d: QuantileNormalizer(log=False, n_quantiles=17), "log2int", "log"),
    *[
        Case(
            f"PQN-{m}-{t}",
            lambda d, m=m, t=t: PQN(info=d.info, method=m, transformation=t),
            "metab",
            "positive",
            fit_qc=True,
        )
        for m in ("pqn", "tic")
        for t in ("log2", "glog")
    ],
    Case("PQN-pqn-log2-noQC", lambda d: PQN(info=d.info), "metab", "positive"),
    Case("PQN-pqn-log_input", lambda d: PQN(info=d.info, log_input=True), "metab_log", "log", fit_qc=True),
    Case(
        "PQN-none-glog-lambda",
        lambda d: PQN(info=d.info, method="none", transformation="glog", glog_lambda=1e4),
        "metab",
        "positive",
        fit_qc=True,
    ),
    Case("Log2-counts", lambda d: Log2(pseudocount=1.0), "counts", "counts"),
    Case("Log2-intensity", lambda d: Log2(), "intensity", "positive"),
    Case("MValue", lambda d: MValue(), "beta", "beta"),
    Case("MValue-offset0.01", lambda d: MValue(offset=0.01), "beta", "beta"),
    Case("BinaryCheck", lambda d: BinaryCheck(), "binary", "binary"),
    # qc_drift
    Case(
        "QCRLSC-lowess", lambda d: QCRLSC(info=d.info, batch_column="batch", frac=0.8), "metab_log", "log", fit_qc=True
    ),
    Case("QCRLSC-lowess-one-batch", lambda d: QCRLSC(info=d.info, frac=0.5), "metab_log", "log", fit_qc=True),
    Case(
        "QCRLSC-spline-gcv",
        lambda d: QCRLSC(info=d.info, batch_column="batch", smoother="spline"),
        "metab_log",
        "log",
        fit_qc=True,
    ),
    Case(
        "QCRLSC-spline-lam",
        lambda d: QCRLSC(info=d.info, batch_column="batch", smoother="spline", spline_lam=50.0),
        "metab_log",
        "log",
        fit_qc=True,
    ),
    # filter
    Case("FeatureFilter-default", lambda d: FeatureFilter(), "gauss", "log"),
    Case("FeatureFilter-min_value", lambda d: FeatureFilter(min_observed=0.6, min_value=50.0), "counts", "counts"),
    Case(
        "FeatureFilter-any_group", lambda d: FeatureFilter(min_observed=0.95, observed_in="any_group"), "log2int", "log"
    ),
    Case("FeatureFilter-top_variable", lambda d: FeatureFilter(min_variance=0.1, top_variable=10), "gauss", "log"),
    Case(
        "FeatureFilter-qc_rsd-detection",
        lambda d: FeatureFilter(qc_rsd_max=20.0, qc_min_detection=0.5, info=d.info),
        "metab_log",
        "log",
        fit_qc=True,
    ),
    # batch
    Case("ComBat-parametric", lambda d: ComBat(info=d.info), "gauss", "log"),
    Case("ComBat-nonparametric", lambda d: ComBat(info=d.info, parametric=False), "gauss", "log"),
    Case("ComBat-mean_only", lambda d: ComBat(info=d.info, mean_only=True), "gauss", "log"),
    Case(
        "ComBat-nonparametric-mean_only",
        lambda d: ComBat(info=d.info, parametric=False, mean_only=True),
        "gauss",
        "log",
    ),
    Case("ComBat-ref_batch", lambda d: ComBat(info=d.info, ref_batch="b2"), "gauss", "log"),
    Case(
        "ComBat-ref_batch-unseen_reference",
        lambda d: ComBat(info=d.info, ref_batch="b1", unseen_batch="reference"),
        "gauss",
        "log",
        held=HELD + NEW,
    ),
    Case("ComBat-covariates-ddof0", lambda d: ComBat(info=d.info, covariates=("age", "sex"), ddof=0), "gauss", "log"),
    Case(
        "ComBat-unprotected-complete", lambda d: ComBat(info=d.info, protect_outcome=False), "metab_log", "complete_log"
    ),
    Case("LinearBatch", lambda d: LinearBatch(info=d.info), "gauss", "log"),
    Case(
        "LinearBatch-ref_batch-unseen_reference",
        lambda d: LinearBatch(info=d.info, ref_batch="b3", unseen_batch="reference"),
        "gauss",
        "log",
        held=HELD + NEW,
    ),
    Case("LinearBatch-covariates", lambda d: LinearBatch(info=d.info, covariates=("sex",)), "gauss", "log"),
    # impute
    Case("KNNImpute-uniform", lambda d: KNNImpute(k=5), "gauss", "log"),
    Case("KNNImpute-distance", lambda d: KNNImpute(k=3, weights="distance"), "log2int", "log"),
    Case("IterativeImpute", lambda d: IterativeImpute(n_nearest_features=10, max_iter=3, seed=1), "gauss", "log"),
    Case("HalfMinImpute", lambda d: HalfMinImpute(), "log2int", "log"),
    Case("MinProbImpute", lambda d: MinProbImpute(q=0.05, tune_sigma=0.5, seed=7), "log2int", "log"),
    Case("QRILCImpute", lambda d: QRILCImpute(seed=7), "log2int", "log"),
    Case("MeanImpute", lambda d: MeanImpute(), "gauss", "log"),
    Case("MixedImpute-minprob-knn", lambda d: MixedImpute(k=5, seed=2), "log2int", "log"),
    Case(
        "MixedImpute-qrilc-iterative",
        lambda d: MixedImpute(mnar="qrilc", mar="iterative", group_missing=0.2, seed=2),
        "log2int",
        "log",
    ),
    Case("MixedImpute-halfmin-knn", lambda d: MixedImpute(mnar="halfmin", shift_sd=0.2, seed=0), "gauss", "log"),
    Case("AutoImpute", lambda d: AutoImpute(k=5, seed=4), "log2int", "log"),
    Case("WithinBatch-knn", lambda d: WithinBatch(KNNImpute(k=5), info=d.info, batch_column="batch"), "gauss", "log"),
    Case("WithinBatch-mean", lambda d: WithinBatch(MeanImpute(), info=d.info, batch_column="batch"), "log2int", "log"),
    # drift over injection order without QC injections, and the automatic choice
    Case("SampleDrift-lowess", lambda d: SampleDrift(info=d.info, batch_column="batch", min_samples=3), "gauss", "log"),
    Case(
        "SampleDrift-overall-spline",
        lambda d: SampleDrift(info=d.info, batch_column="batch", smoother="spline", level="overall", min_samples=3),
        "gauss",
        "log",
    ),
    Case(
        "SampleDrift-reference",
        lambda d: SampleDrift(
            info=d.info, batch_column="batch", min_samples=2, reference_column="sex", reference_value="F"
        ),
        "gauss",
        "log",
    ),
    Case("AutoDrift-with-QC", lambda d: AutoDrift(info=d.info, batch_column="batch"), "metab_log", "log", fit_qc=True),
    Case("AutoDrift-without-QC", lambda d: AutoDrift(info=d.info, batch_column="batch"), "gauss", "log"),
    # scale
    *[
        Case(f"Scaler-{m}", lambda d, m=m: Scaler(method=m), "gauss", "log")
        for m in ("standard", "unit_variance", "pareto", "center")
    ],
    # the per-layer chain, each kind with its defaults
    _lp("rnaseq_counts", "counts", "counts"),
    _lp("log_expression", "gauss", "log"),
    _lp("proteomics_intensity", "intensity", "positive"),
    _lp("proteomics_intensity", "log2int", "log", log_scale=True),
    _lp("metabolomics_intensity", "metab", "positive", fit_qc=True),
    _lp("methylation_beta", "beta", "beta"),
    _lp("binary", "binary", "binary"),
    _lp("continuous", "gauss", "log"),
    _lp(
        "rnaseq_counts",
        "counts",
        "counts",
        suffix="-tmm-vst-linear-pareto",
        overrides={
            "normalize": {"method": "tmm", "transformation": "vst"},
            "batch": {"method": "linear"},
            "scale": {"method": "pareto"},
        },
    ),
    _lp(
        "proteomics_intensity",
        "log2int",
        "log",
        log_scale=True,
        suffix="-quantile-nonparam-mixed",
        overrides={
            "normalize": {"method": "quantile"},
            "batch": {"parametric": False},
            "impute": {"method": "mixed", "k": 5},
        },
    ),
    _lp(
        "metabolomics_intensity",
        "metab",
        "positive",
        fit_qc=True,
        suffix="-tic-glog-spline-auto",
        overrides={
            "normalize": {"method": "tic", "transformation": "glog"},
            "qc_drift": {"smoother": "spline"},
            "impute": {"method": "auto", "k": 5},
        },
    ),
    # integration strategies and MOFA
    *_strategies("classification"),
    *_strategies("regression"),
    Case("MOFA", lambda d: MOFA(n_factors=3, max_iter=100, seed=1), "layers", kind="mofa"),
    Case("MOFA-groups", lambda d: MOFA(n_factors=2, max_iter=100, seed=1, groups=d.groups), "layers", kind="mofa"),
    # the hierarchical strategy's parts, on one layer
    Case("GeneLevel", lambda d: GeneLevel(), "genes", "complete_log"),
    *[
        Case(f"SetScores-{m}", lambda d, m=m: SetScores(SETS, method=m, prefix="A:"), "genes", "complete_log")
        for m in ("plage", "mean", "rank")
    ],
    Case("RegulatorActivity", lambda d: RegulatorActivity(EDGES, min_targets=5), "targets", "complete_log"),
    Case("Identity", lambda d: Identity(reason="none"), "gauss", "log"),
    # the models the strategies fit
    Case("EncodedClassifier", lambda d: EncodedClassifier(_logistic()), "A", "complete_log", kind="model"),
    Case(
        "PenalizedCox",
        lambda d: PenalizedCox(n_alphas=10, inner_folds=2, seed=3),
        "A",
        "complete_log",
        kind="model",
        target="surv",
    ),
    Case("RidgeCox", lambda d: RidgeCox(alpha=2.0), "A", "complete_log", kind="model", target="surv"),
    Case("FixedCox", _tuned_cox, "A", "complete_log", kind="model", target="surv"),
]

# (case id, check) -> what is wrong in the package; a strict xfail, so a fix turns it into a failure to
# remove here. (Found and fixed: ElasticNetCV's removed n_alphas keyword broke l1/elasticnet regression.)
XFAIL: dict[tuple[str, str], str] = {}


def _params(check: str):
    out = []
    for c in CASES:
        reason = XFAIL.get((c.id, check))
        marks = [pytest.mark.xfail(strict=True, raises=TypeError, reason=reason)] if reason else []
        out.append(pytest.param(c, id=c.id, marks=marks))
    return out


# ---------------------------------------------------------------------------------------------
# running a case
# ---------------------------------------------------------------------------------------------


def _logistic():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=0.5)


def _frame(case: Case):
    if case.kind == "step":
        return DATA.frames[case.data]
    if case.kind == "model":
        return DATA.layers[case.data]
    return DATA.layers


LACKING = "H2"  # a held-out sample without layer B (the integration strategies and MOFA)


def _rows(case: Case, ids) -> pd.DataFrame | dict:
    src = _frame(case)
    if isinstance(src, dict):
        out = {n: X.loc[list(ids)].copy() for n, X in src.items()}
        if LACKING in out["B"].index:
            out["B"].loc[LACKING] = np.nan
        return out
    return src.loc[list(ids)].copy()


def _poison(case: Case, X):
    if isinstance(X, dict):
        return {n: POISON[case.poison](v) for n, v in X.items()}
    return POISON[case.poison](X)


def _concat(parts):
    if isinstance(parts[0], dict):
        return {n: pd.concat([p[n] for p in parts]) for n in parts[0]}
    return pd.concat(parts)


def _train_ids(case: Case) -> list[str]:
    return TRAIN + (DATA.qcs if case.fit_qc else [])


def _y(case: Case):
    if case.kind == "mofa":
        return None
    if case.target == "surv":
        return Y_SURV
    if case.kind in ("strategy", "model"):
        return DATA.y_strat_cls if case.target == "cls" else DATA.y_strat_reg
    return DATA.y_cls


def _fit(case: Case, est, check_inputs: bool = False):
    """Fit on the training rows; with ``check_inputs``, also assert that fit modifies neither the
    training frames, nor y, nor the sample sheet."""
    X = _rows(case, TRAIN if case.kind == "mofa" else _train_ids(case))
    y = _y(case)
    before = copy.deepcopy((X, y, DATA.info, DATA.groups)) if check_inputs else None
    extra = {"clinical": CLINICAL} if getattr(est, "uses_clinical", False) else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = est.fit(X) if case.kind == "mofa" else est.fit(X, y, **extra)
    if check_inputs:
        d = diff((X, y, DATA.info, DATA.groups), before, "(X, y, info, groups)")
        assert d is None, f"fit modified its input: {d}"
    return out


def _apply(case: Case, est, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if case.kind == "strategy":
            return est.predict_table(X, **({"clinical": CLINICAL} if getattr(est, "uses_clinical", False) else {}))
        if case.kind == "model":
            out = est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)
            return pd.DataFrame(np.asarray(out, float).reshape(len(X), -1), index=X.index)
        return est.transform(X)


@dataclass
class Fitted:
    est: BaseEstimator
    state: dict  # deep copy of vars(est) right after fit
    train_out: pd.DataFrame  # transform / predict_table of the training rows, right after fit
    held_out: pd.DataFrame  # ... of the (clean) held-out rows


_CACHE: dict[str, Fitted] = {}


def fitted(case: Case) -> Fitted:
    """One fit per case (a clone of a fresh instance), shared by the leakage and determinism checks."""
    if case.id not in _CACHE:
        est = _fit(case, clone(case.make(DATA)))
        state = copy.deepcopy(vars(est))
        A = _apply(case, est, _rows(case, _train_ids(case)))
        H = _apply(case, est, _rows(case, case.held))
        _CACHE[case.id] = Fitted(est, state, A, H)
    return _CACHE[case.id]


# ---------------------------------------------------------------------------------------------
# deep comparison
# ---------------------------------------------------------------------------------------------


def _same_scalar(a, b) -> bool:
    try:
        if pd.isna(a) and pd.isna(b):
            return True
    except (TypeError, ValueError):
        pass
    try:
        return bool(a == b)
    except Exception:
        return False


# wall-clock times that mofapy2 records per iteration
UNCOMPARED = ("['train_stats']['time']",)


def diff(a, b, path: str = "", _seen: dict | None = None) -> str | None:
    """The first difference between two (nested) objects, as a path and a description; None if equal.

    DataFrames / Series / Index: same axes, dtypes and values (NaN equal NaN); arrays: same shape, dtype and
    values; dicts, lists, tuples: element by element; estimators and other objects: their attributes.
    """
    seen = {} if _seen is None else _seen
    if a is b or path.endswith(UNCOMPARED):
        return None
    key = (id(a), id(b))
    if key in seen:  # cycles (mofapy2's nodes point at each other)
        return None
    seen[key] = (a, b)  # keeps temporaries alive, so that their ids are not reused within one comparison
    if type(a) is not type(b):
        return f"{path}: type {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, (pd.DataFrame, pd.Series)):
        if not a.index.equals(b.index):
            return f"{path}: index differs"
        if isinstance(a, pd.DataFrame) and not a.columns.equals(b.columns):
            return f"{path}: columns differ"
        if not a.equals(b):
            return f"{path}: values differ"
        return None
    if isinstance(a, pd.Index):
        return None if a.equals(b) and a.dtype == b.dtype else f"{path}: Index differs"
    if isinstance(a, np.ndarray):
        if a.shape != b.shape or a.dtype != b.dtype:
            return f"{path}: array shape/dtype {a.shape} {a.dtype} != {b.shape} {b.dtype}"
        if a.dtype.kind in "fc":
            if not np.array_equal(a, b, equal_nan=True):
                bad = np.argwhere(~((a == b) | (np.isnan(a) & np.isnan(b))))
                i = tuple(bad[0])
                return f"{path}: array values differ at {len(bad)} position(s), e.g. {i}: {a[i]!r} != {b[i]!r}"
            return None
        if a.dtype.kind in "biuUSmM":
            return None if np.array_equal(a, b) else f"{path}: array values differ"
        for i, (u, v) in enumerate(zip(a.ravel(), b.ravel())):
            d = diff(u, v, f"{path}[{i}]", seen)
            if d:
                return d
        return None
    if isinstance(a, dict):
        if list(a) != list(b):
            return f"{path}: keys {list(a)[:8]} != {list(b)[:8]}"
        for k in a:
            d = diff(a[k], b[k], f"{path}[{k!r}]", seen)
            if d:
                return d
        return None
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            return f"{path}: length {len(a)} != {len(b)}"
        for i, (u, v) in enumerate(zip(a, b)):
            d = diff(u, v, f"{path}[{i}]", seen)
            if d:
                return d
        return None
    if isinstance(a, (set, frozenset, str, bytes, bool, int, float, complex, np.generic, type(None))):
        return None if _same_scalar(a, b) else f"{path}: {a!r} != {b!r}"
    if isinstance(a, io.StringIO):
        return None if a.getvalue() == b.getvalue() else f"{path}: text differs"
    if hasattr(a, "toarray") and hasattr(a, "nnz"):  # scipy sparse
        return diff(a.toarray(), b.toarray(), path, seen)
    if isinstance(a, np.random.Generator):
        return diff(a.bit_generator.state, b.bit_generator.state, path, seen)
    if isinstance(a, np.random.RandomState):
        return diff(a.get_state(legacy=False), b.get_state(legacy=False), path, seen)
    if callable(a) and not hasattr(a, "__dict__"):
        return None if a == b else f"{path}: callables differ"
    if hasattr(a, "__dict__") and not isinstance(a, type):
        return diff(vars(a), vars(b), f"{path}.", seen)
    # extension types (e.g. sklearn's Tree): compare their pickled state
    try:
        ra, rb = a.__reduce_ex__(4), b.__reduce_ex__(4)
    except Exception:
        return None if _same_scalar(a, b) else f"{path}: {type(a).__name__} objects differ"
    return diff(tuple(ra[1:3]), tuple(rb[1:3]), f"{path}<state>", seen)


def state_diff(now: dict, snapshot: dict) -> str | None:
    """diff of two states (vars of an estimator), except that a strategy may add entries to its cache of
    per-pattern refits (``subset_models_``: final models for the layers a held-out sample has, fit on
    the training samples when such a sample first comes); the entries cached before must stay as they
    were."""
    now, snapshot = dict(now), dict(snapshot)
    # WithClinical: its fitted strategy, whose own cache may grow the same way
    if isinstance(snapshot.get("base_"), BaseEstimator):
        if d := state_diff(vars(now.pop("base_")), vars(snapshot.pop("base_"))):
            return d.replace("est.", "est.base_.", 1)
    if "subset_models_" in snapshot:
        a, b = now.pop("subset_models_"), snapshot.pop("subset_models_")
        if not set(b) <= set(a):
            return f"est.subset_models_: entries {sorted(set(b) - set(a))} dropped"
        if d := diff({k: a[k] for k in b}, b, "est.subset_models_"):
            return d
    return diff(now, snapshot, "est.")


def assert_same_output(got, expected, what: str, exact: bool = True):
    __tracebackhide__ = True
    try:
        if exact:
            pd.testing.assert_frame_equal(got, expected, check_exact=True)
        else:
            # a few ulps: BLAS products of a different number of rows round differently
            pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-10, atol=1e-12)
    except AssertionError as err:
        raise AssertionError(f"{what}:\n{err}") from None


# ---------------------------------------------------------------------------------------------
# 1. clone and params
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _params("clone"))
def test_clone_and_params_round_trip(case):
    est = case.make(DATA)
    params = est.get_params(deep=True)
    c = clone(est)
    assert type(c) is type(est)
    d = diff(c.get_params(deep=True), params, "get_params")
    assert d is None, f"clone changed a parameter: {d}"
    # set_params(**get_params()) round-trips, on the estimator and on a clone
    assert est.set_params(**est.get_params(deep=True)) is est
    assert (d := diff(est.get_params(deep=True), params, "get_params")) is None, d
    c2 = clone(est)
    c2.set_params(**params)
    assert (d := diff(c2.get_params(deep=True), params, "get_params")) is None, d
    # the parameters are copies: changing the clone's does not touch the original
    for name, value in c.get_params(deep=False).items():
        if isinstance(value, (pd.DataFrame, pd.Series, dict, list, BaseEstimator)) and value is not None:
            assert value is not params[name], f"clone shares parameter '{name}' with the original"


# ---------------------------------------------------------------------------------------------
# 2. no leakage from held-out rows
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _params("leakage"))
def test_no_leakage_from_held_out_rows(case):
    fit = fitted(case)
    est = fit.est
    held = case.held
    clean = _rows(case, held)
    poisoned = _poison(case, clean)
    poisoned_copy = copy.deepcopy(poisoned)
    out_p = _apply(case, est, poisoned)
    assert (d := diff(poisoned, poisoned_copy, "input")) is None, f"transform modified its input: {d}"
    # the fitted state is untouched by transforming (clean, then poisoned) rows
    d = state_diff(vars(est), fit.state)
    assert d is None, f"fitted state changed after transforming held-out rows: {d}"
    # the training rows come out exactly as before
    assert_same_output(
        _apply(case, est, _rows(case, _train_ids(case))),
        fit.train_out,
        "training rows transformed after poisoned held-out rows",
    )

    def rows_out(T, ids):
        return T.loc[list(ids)]

    # a held-out row's output depends on that row only: alone, with the clean others, with poisoned others
    for a in (held[0], held[2], held[-1]):  # held[2] is LACKING: without layer B for strategies and MOFA
        alone = _apply(case, est, _rows(case, [a]))
        assert_same_output(
            alone, rows_out(fit.held_out, [a]), f"row {a} alone vs with the clean held-out rows", exact=False
        )
        others = _poison(case, _rows(case, [s for s in held if s != a]))
        mixed = _apply(case, est, _concat([_rows(case, [a]), others]))
        assert_same_output(rows_out(mixed, [a]), alone, f"row {a} alone vs with poisoned held-out rows", exact=False)
    b = held[1]
    one = (
        {n: v.loc[[b]] for n, v in poisoned_copy.items()} if isinstance(poisoned_copy, dict) else poisoned_copy.loc[[b]]
    )
    assert_same_output(
        _apply(case, est, one), rows_out(out_p, [b]), f"poisoned row {b} alone vs with the others", exact=False
    )
    assert (d := state_diff(vars(est), fit.state)) is None, f"fitted state changed after transforming rows: {d}"


# ---------------------------------------------------------------------------------------------
# 3. determinism
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _params("determinism"))
def test_fit_is_deterministic(case):
    """A second fit, of the clone of the fitted estimator (same parameters, seed included), learns the same
    state (wall-clock timings aside) and gives the same outputs; that clone carries the parameters and
    nothing learnt, and its fit leaves its inputs (and the sample sheet) as they were."""
    first = fitted(case)
    c = clone(first.est)
    assert (d := diff(c.get_params(deep=True), case.make(DATA).get_params(deep=True), "get_params")) is None, d
    learnt = [k for k in vars(c) if k.endswith("_") and not k.startswith("__")]
    assert not learnt, f"clone of a fitted estimator carries learnt attributes {learnt}"
    second = _fit(case, c, check_inputs=True)
    d = diff(vars(second), first.state, "est.")
    assert d is None, f"two fits learnt different states: {d}"
    assert_same_output(
        _apply(case, second, _rows(case, _train_ids(case))), first.train_out, "training rows, two fits of clones"
    )
    assert_same_output(_apply(case, second, _rows(case, case.held)), first.held_out, "held-out rows, two fits")


def test_every_registered_step_class_has_a_contract_case():
    """New preprocessing methods join the contract: the class every registry entry builds (for some kind
    it accepts) is among the cases above."""
    from moflow.preprocess import KINDS, REGISTRY, make_step

    covered = {c.id.split("-")[0] for c in CASES}
    missing = set()
    for (step, method), spec in REGISTRY.items():
        for kind in spec.kinds or KINDS:
            try:
                est = make_step(
                    step,
                    {"method": method},
                    kind=kind,
                    info=DATA.info,
                    batch_column="batch",
                    covariates=(),
                    log_scale=True,
                    seed=0,
                )
            except Exception:
                continue
            name = type(est).__name__
            if name not in ("Identity",) and name not in covered:
                missing.add(f"{step}:{method} -> {name}")
            break
    assert not missing, sorted(missing)


# ---------------------------------------------------------------------------------------------
# every estimator class: a case, NotFittedError before fit, parameter constraints
# ---------------------------------------------------------------------------------------------


def estimator_classes() -> list[type]:
    """Every scikit-learn estimator class defined in a module of moflow.preprocess or moflow.integrate
    (every module imported)."""
    import importlib
    import inspect
    import pkgutil

    import moflow.integrate
    import moflow.preprocess

    found = {}
    for pkg in (moflow.preprocess, moflow.integrate):
        for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            module = importlib.import_module(info.name)
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if cls.__module__ == module.__name__ and issubclass(cls, BaseEstimator):
                    found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return [found[k] for k in sorted(found)]


ESTIMATORS = estimator_classes()

# class name -> why it has no contract case of its own
NO_CASE: dict[str, str] = {
    "Step": "the base class of the preprocessing steps (an identity transform; its subclasses have cases)",
    "_BatchBase": "the shared base of ComBat and LinearBatch (no fit of its own)",
    "StrategyBase": "the base class of the strategies (no design of its own; every subclass has cases)",
}

# the values an unfitted instance needs for the parameters without a default
REQUIRED = {"seed": 0, "kind": "continuous", "layer": "A"}


def _unfitted(cls):
    import inspect

    params = inspect.signature(cls).parameters.values()
    return cls(
        **{
            p.name: REQUIRED[p.name]
            for p in params
            if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        }
    )


def test_estimators_are_discovered():
    names = {c.__name__ for c in ESTIMATORS}
    assert {
        "LayerPreprocessor",
        "ComBat",
        "KNNImpute",
        "SingleLayer",
        "HierarchicalIntegration",
        "MOFA",
        "PenalizedCox",
        "SetScores",
        "EncodedClassifier",
    } <= names


def test_every_estimator_class_has_a_contract_case():
    """A new estimator without a contract case fails here (or is named in NO_CASE, with the reason)."""
    covered = {type(c.make(DATA)) for c in CASES}
    missing = sorted(c.__name__ for c in ESTIMATORS if c not in covered and c.__name__ not in NO_CASE)
    assert not missing, f"estimators without a contract case (add one, or a reason to NO_CASE): {missing}"
    stale = sorted(set(NO_CASE) - {c.__name__ for c in ESTIMATORS if c not in covered})
    assert not stale, f"NO_CASE names classes that are gone or now covered: {stale}"


@pytest.mark.parametrize("cls", ESTIMATORS, ids=[c.__name__ for c in ESTIMATORS])
def test_unfitted_estimator_refuses_to_transform_or_predict(cls):
    from sklearn.exceptions import NotFittedError

    from moflow.integrate import StrategyBase

    if not hasattr(cls, "fit"):  # an abstract base (StrategyBase): nothing to fit, its subclasses are checked
        assert cls.__name__ in NO_CASE
        return
    est = _unfitted(cls)
    X = DATA.layers if issubclass(cls, StrategyBase) or cls is MOFA else DATA.layers["A"]
    calls = [m for m in ("transform", "predict", "predict_table") if callable(getattr(est, m, None))]
    assert calls, f"{cls.__name__} neither transforms nor predicts"
    for method in calls:
        with pytest.raises(NotFittedError):
            getattr(est, method)(X)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=[c.__name__ for c in ESTIMATORS])
def test_parameter_constraints_cover_every_parameter(cls):
    """``fit`` validates the parameters in one shared way: scikit-learn's ``_parameter_constraints``,
    naming exactly the ``__init__`` parameters, which the defaults satisfy."""
    import inspect

    from sklearn.utils._param_validation import validate_parameter_constraints

    constraints = getattr(cls, "_parameter_constraints", None)
    assert isinstance(constraints, dict), f"{cls.__name__} declares no _parameter_constraints"
    if cls.__name__ in NO_CASE and not cls._get_param_names():
        return  # a base without __init__ of its own: its constraints are the ones its subclasses share
    assert set(constraints) == set(cls._get_param_names()), cls.__name__
    defaults = {
        p.name: p.default
        for p in inspect.signature(cls).parameters.values()
        if p.default is not inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }
    validate_parameter_constraints(constraints, defaults, caller_name=cls.__name__)
