"""The schema is the only home of defaults: an estimator's constructor takes no default for a value the
config sets, or the schema's.

:data:`TABLE` maps every (estimator class or builder function, parameter) that a config value feeds to
the schema key it comes from (as ``moflow.preprocess.chain_factory``, ``moflow.preprocess.registry``
and ``moflow.integrate.strategy_factory`` pass them). A parameter either has no default
(``inspect.Parameter.empty``; the callers pass the configured value) or its default equals the
schema's (:data:`ACCEPTED` lists the few defaults that mean the same as the schema's value in another
form). Per-kind options (``kind_defaults.<kind>.<step>.<option>``) are compared over the kinds whose
schema chain sets the option under a method that builds the class:

* ``SCHEMA``: every such kind gives one value, and a constructor default must equal it (a kind that
  leaves the option unset gets the constructor's default, which is then that value too);
* ``PER_KIND``: a kind's own choice (the schema sets it in some kinds, with a value other than the
  constructor's default); the other kinds get the constructor's default, the "not set" meaning the
  schema's description of the option documents;
* ``UNSET``: no kind sets it; the constructor's default is what "not set" means (documented in the
  option's description in the schema).

:func:`test_every_schema_named_parameter_is_in_the_table` makes the table complete: every
``__init__`` parameter of an estimator of ``moflow.preprocess`` / ``moflow.integrate`` whose name is a
schema option of the sections that build it is in the table or in :data:`EXCLUDED` (with the reason).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass

import pytest
from sklearn.base import BaseEstimator

import moflow.integrate as integrate_pkg
import moflow.preprocess as preprocess_pkg
from moflow.evaluate import make_splits
from moflow.integrate import (
    MOFA,
    ClinicalOnly,
    EarlyIntegration,
    HierarchicalIntegration,
    LateIntegration,
    MixedIntegration,
    MOFAStrategy,
    PenalizedCox,
    Recalibrated,
    RegulatorActivity,
    SetScores,
    SingleLayer,
    TreeReference,
    make_model,
)
from moflow.preprocess import (
    PQN,
    QCRLSC,
    AutoDrift,
    AutoImpute,
    ComBat,
    CountNormalizer,
    FeatureFilter,
    HalfMinImpute,
    IterativeImpute,
    KNNImpute,
    LayerPreprocessor,
    LinearBatch,
    MinProbImpute,
    MixedImpute,
    MValue,
    QRILCImpute,
    QuantileNormalizer,
    SampleDrift,
    kinds_for,
    layer_settings,
)
from moflow.settings import default_config, load_schema

SCHEMA, PER_KIND, UNSET = "schema", "per_kind", "unset"
COUNT_METHODS = ("median_of_ratios", "tmm", "upper_quartile", "total")


@dataclass(frozen=True)
class Entry:
    """``target`` (a class: its ``__init__``; or a function) parameter ``param`` <- schema ``key``.

    ``key``: a dotted path of the config (``*`` where the schema has a mapping of named entries: its
    ``additionalProperties``), or ``kind_defaults.*.<step>.<option>`` for a per-kind option, compared
    over the kinds whose schema chain sets it under one of ``methods`` (the step's config methods
    under which the option reaches this parameter) as ``expect`` says.
    """

    target: object
    param: str
    key: str
    methods: tuple = ()
    expect: str = SCHEMA

    @property
    def name(self) -> str:
        return f"{self.target.__name__}.{self.param}"


def _g(target, param, key):
    return Entry(target, param, key)


def _k(target, param, step_option, methods, expect=SCHEMA):
    return Entry(target, param, f"kind_defaults.*.{step_option}", tuple(methods), expect)


# the strategies: (class, its section of integration: penalty and model); single layers use early's
_STRATEGIES = (
    (SingleLayer, "early"),
    (EarlyIntegration, "early"),
    (MixedIntegration, "mixed"),
    (MOFAStrategy, "mofa"),
    (LateIntegration, "late"),
    (HierarchicalIntegration, "hierarchical"),
)

TABLE: list[Entry] = [
    # ---- integration (moflow.integrate.strategy_factory) ----
    *[
        e
        for cls, sec in _STRATEGIES
        for e in (
            _g(cls, "penalty", f"integration.{sec}.penalty"),
            _g(cls, "model", f"integration.{sec}.model"),
            _g(cls, "inner_folds", "integration.inner_folds"),
            _g(cls, "seed", "seed"),
        )
    ],
    _g(EarlyIntegration, "n_components", "integration.early.n_components"),
    _g(EarlyIntegration, "missing", "integration.early.missing"),
    _g(EarlyIntegration, "layer_weights", "integration.early.layer_weights"),
    _g(MixedIntegration, "n_components", "integration.mixed.n_components"),
    _g(HierarchicalIntegration, "method", "integration.hierarchical.method"),
    _g(HierarchicalIntegration, "min_size", "integration.hierarchical.min_size"),
    _g(HierarchicalIntegration, "max_size", "integration.hierarchical.max_size"),
    # built by HierarchicalIntegration from its own min_size / max_size / method and each regulator's min_targets
    _g(SetScores, "method", "integration.hierarchical.method"),
    _g(SetScores, "min_size", "integration.hierarchical.min_size"),
    _g(SetScores, "max_size", "integration.hierarchical.max_size"),
    _g(RegulatorActivity, "min_targets", "integration.hierarchical.regulators.*.min_targets"),
    # MOFA (strategy_factory.build_mofa)
    _g(MOFA, "n_factors", "integration.mofa.factors"),
    *[
        _g(MOFA, p, f"integration.mofa.{p}")
        for p in (
            "likelihoods",
            "spikeslab_weights",
            "ard_weights",
            "ard_factors",
            "scale_views",
            "convergence_mode",
            "max_iter",
            "drop_r2",
            "use_float32",
            "gpu_mode",
            "groups",
            "center_groups",
        )
    ],
    _g(MOFA, "seed", "seed"),
    # the strategies' models (moflow.integrate.models.make_model, called with the strategy's parameters)
    _g(make_model, "inner_folds", "integration.inner_folds"),
    _g(make_model, "seed", "seed"),
    _g(PenalizedCox, "inner_folds", "integration.inner_folds"),
    _g(PenalizedCox, "seed", "seed"),
    # the baselines (strategy_factory: clinical, trees), tuned by the same inner folds and seed
    *[
        _g(cls, p, k)
        for cls in (ClinicalOnly, TreeReference, Recalibrated)
        for p, k in (("inner_folds", "integration.inner_folds"), ("seed", "seed"))
    ],
    # ---- evaluation: the outer CV splits (moflow.tasks.evaluate_rules) ----
    _g(make_splits, "folds", "evaluation.folds"),
    _g(make_splits, "repeats", "evaluation.repeats"),
    _g(make_splits, "seed", "seed"),
    # ---- preprocessing (moflow.preprocess.chain_factory, registry) ----
    _g(LayerPreprocessor, "seed", "seed"),
    _g(LayerPreprocessor, "covariates", "covariates"),
    *[_g(cls, "covariates", "covariates") for cls in (ComBat, LinearBatch)],
    # the confounding guard: chain_factory sets the config-wide value where the layer gives none
    *[_g(cls, "max_association", "batch_confounding.max_association") for cls in (ComBat, LinearBatch)],
    *[_g(cls, "allow_confounded", "batch_confounding.allow") for cls in (ComBat, LinearBatch)],
    # every random step gets the layer chain's seed (registry -> make_imputer)
    *[_g(cls, "seed", "seed") for cls in (IterativeImpute, MinProbImpute, QRILCImpute, MixedImpute, AutoImpute)],
    # normalize
    _k(CountNormalizer, "pseudocount", "normalize.pseudocount", COUNT_METHODS),
    _k(CountNormalizer, "transformation", "normalize.transformation", COUNT_METHODS, UNSET),
    _k(PQN, "transformation", "normalize.transformation", ("pqn", "tic", "none"), UNSET),
    _k(PQN, "glog_lambda", "normalize.glog_lambda", ("pqn", "tic", "none"), UNSET),
    _k(MValue, "offset", "normalize.offset", ("mvalue",)),
    _k(QuantileNormalizer, "n_quantiles", "normalize.n_quantiles", ("quantile",), UNSET),
    # qc_drift (auto passes its options to the QCRLSC it builds)
    *[_k(cls, "frac", "qc_drift.frac", ("rlsc", "auto")) for cls in (QCRLSC, AutoDrift)],
    *[
        _k(cls, p, f"qc_drift.{p}", ("rlsc", "auto"), UNSET)
        for cls in (QCRLSC, AutoDrift)
        for p in ("smoother", "spline_lam", "min_qc")
    ],
    *[
        _k(SampleDrift, p, f"qc_drift.{p}", ("sample_lowess",), UNSET)
        for p in ("frac", "smoother", "spline_lam", "min_samples", "level", "reference_column", "reference_value")
    ],
    # filter (method default: on unless switched off)
    _k(FeatureFilter, "min_observed", "filter.min_observed", ("default",)),
    _k(FeatureFilter, "observed_in", "filter.observed_in", ("default",), UNSET),
    # kind choices: rnaseq_counts min_value 1 (a normalized count of 1), binary min_variance 1e-8, top_variable
    # 2000 / 5000 for the wide kinds, the QC filters for metabolomics; None / 0 (no filter) elsewhere
    *[
        _k(FeatureFilter, p, f"filter.{p}", ("default",), PER_KIND)
        for p in ("min_value", "min_variance", "top_variable", "qc_rsd_max", "qc_min_detection")
    ],
    # impute: k is one option of knn, mixed (its kNN part) and auto (its kNN-based candidates)
    *[_k(cls, "k", "impute.k", ("knn", "mixed", "auto")) for cls in (KNNImpute, MixedImpute, AutoImpute)],
    _k(KNNImpute, "weights", "impute.weights", ("knn",), UNSET),
    _k(IterativeImpute, "n_nearest_features", "impute.n_nearest_features", ("iterative",), UNSET),
    _k(IterativeImpute, "max_iter", "impute.max_iter", ("iterative",), UNSET),
    _k(HalfMinImpute, "shift", "impute.shift", ("halfmin",), UNSET),
    _k(MinProbImpute, "q", "impute.q", ("minprob",), UNSET),
    *[_k(cls, "tune_sigma", "impute.tune_sigma", ("minprob", "qrilc"), UNSET) for cls in (MinProbImpute, QRILCImpute)],
    *[_k(MixedImpute, p, f"impute.{p}", ("mixed",), UNSET) for p in ("mnar", "mar", "group_missing", "shift_sd")],
    # proteomics_intensity lists its own candidates (knn first); the constructor's order is every other kind's
    _k(AutoImpute, "candidates", "impute.candidates", ("auto",), PER_KIND),
    _k(AutoImpute, "fraction", "impute.fraction", ("auto",), UNSET),
    # batch
    *[
        _k(ComBat, p, f"batch.{p}", ("combat",), UNSET)
        for p in ("protect_outcome", "parametric", "mean_only", "ref_batch", "unseen_batch", "ddof", "tol", "max_iter")
    ],
    *[_k(LinearBatch, p, f"batch.{p}", ("linear",), UNSET) for p in ("protect_outcome", "ref_batch", "unseen_batch")],
    # the per-layer form of the guard: no kind sets it (the config-wide batch_confounding does, above)
    *[
        _k(cls, "max_association", "batch.max_association", ("combat", "linear"), UNSET)
        for cls in (ComBat, LinearBatch)
    ],
    *[
        _k(cls, "allow_confounded", "batch.allow_confounded", ("combat", "linear"), UNSET)
        for cls in (ComBat, LinearBatch)
    ],
]

# (target, param) -> (constructor default, schema default): the same meaning in another form
ACCEPTED: dict[tuple, tuple] = {
    # None: every layer weighs 1, as the schema's empty mapping (EarlyIntegration reads layer_weights or {})
    (EarlyIntegration, "layer_weights"): (None, {}),
    # None: no likelihood given, as the schema's empty mapping (MOFA reads likelihoods or {}; the factory adds
    # bernoulli for binary layers from the omics sheet, mofa_likelihoods)
    (MOFA, "likelihoods"): (None, {}),
    # None: one group, as the schema's empty column name (the factory passes the sheet's groups only when named)
    (MOFA, "groups"): (None, ""),
    # (): no covariates, as the schema's empty list (chain_factory passes tuple(settings.covariates))
    (LayerPreprocessor, "covariates"): ((), []),
    (ComBat, "covariates"): ((), []),
    (LinearBatch, "covariates"): ((), []),
}

# (class name, param) -> why a parameter named like a schema option is not compared with it
EXCLUDED: dict[tuple[str, str], str] = {
    ("CountNormalizer", "method"): "the registry passes the config method name (it picks the class); per kind",
    ("PQN", "method"): "the registry passes the config method name (pqn / tic / none); per kind",
    ("Scaler", "method"): "the registry passes the config method name; per kind (binary: none)",
    ("Log2", "pseudocount"): "rnaseq_counts normalize none: the registry passes the kind's pseudocount (shared "
    "option); proteomics intensities: Log2() is log2(x), the default 0",
    ("MOFA", "tolerance"): "integration.mofa.check_tolerance reaches only the fits that check (CV folds, "
    "stability seeds); None (convergence_mode) is the full-cohort model's",
    ("MOFAStrategy", "mofa"): "the MOFA the factory builds (build_mofa); None: MOFA(seed=seed), whose defaults "
    "the MOFA rows check",
    ("HierarchicalIntegration", "collections"): "the prior's (name, sets, layers) from build_prior, not the "
    "schema's collection names",
    ("HierarchicalIntegration", "regulators"): "the prior's (name, edges, layer, min_targets) from build_prior, "
    "not the schema's mapping of edge files",
    ("RegulatorActivity", "edges"): "the checked edge table (parse_edges), not the schema's path",
    (
        "Recalibrated",
        "method",
    ): "the factory passes each method of evaluation: recalibration (a list, empty by default)",
    ("SingleLayer", "layer"): "the strategy's layer (single_<layer>), not a regulator's target layer",
    ("PenalizedCox", "max_iter"): "Coxnet's iteration cap, not configurable (integration.mofa.max_iter is MOFA's)",
    ("_FixedCox", "max_iter"): "copied from the fitted PenalizedCox (with_tuned_penalty), not configurable",
}


# ---------------------------------------------------------------------------------------------
# the schema's value of an entry
# ---------------------------------------------------------------------------------------------

CONFIG = default_config()
RAW_SCHEMA = load_schema()


def _schema_node(key: str) -> dict:
    node = RAW_SCHEMA
    for part in key.split("."):
        node = node["additionalProperties"] if part == "*" else node["properties"][part]
    return node


def _global_default(key: str):
    if "*" in key:
        return _schema_node(key)["default"]
    value = CONFIG
    for part in key.split("."):
        value = value[part]
    return value


def kind_values(entry: Entry) -> dict[str, object]:
    """kind -> the option's value, for the kinds whose schema chain sets it under one of ``entry.methods``."""
    _, _, step, option = entry.key.split(".")
    out = {}
    for kind, chain in CONFIG["kind_defaults"].items():
        opts = chain.get(step, {})
        method = opts.get("method", "default" if step == "filter" else "none")
        if method in entry.methods and option in opts:
            out[kind] = opts[option]
    return out


def _default(entry: Entry):
    target = entry.target
    sig = inspect.signature(target.__init__ if inspect.isclass(target) else target)
    assert entry.param in sig.parameters, f"{entry.name}: no such parameter"
    return sig.parameters[entry.param].default


def check_entry(entry: Entry, accepted: dict = ACCEPTED) -> None:
    """Raise AssertionError where the constructor's default contradicts the schema."""
    __tracebackhide__ = True
    default = _default(entry)
    if not entry.key.startswith("kind_defaults."):
        schema = _global_default(entry.key)
        if default is inspect.Parameter.empty or default == schema and type(default) is type(schema):
            return
        assert accepted.get((entry.target, entry.param)) == (default, schema), (
            f"{entry.name} defaults to {default!r}, the schema's {entry.key} to {schema!r}: take no default "
            "or the schema's"
        )
        return
    values = kind_values(entry)
    distinct = list({repr(v): v for v in values.values()}.values())
    if entry.expect == UNSET:
        assert not values, f"{entry.name}: the schema now sets {entry.key} ({values}): compare it (SCHEMA)"
    elif entry.expect == SCHEMA:
        assert len(distinct) == 1, f"{entry.name}: the kinds set {entry.key} to {values}: no one schema default"
        schema = distinct[0]
        same = default == schema or (isinstance(default, tuple) and list(default) == schema)
        assert default is inspect.Parameter.empty or same, (
            f"{entry.name} defaults to {default!r}, the schema's {entry.key} to {schema!r} ({sorted(values)}): "
            "take no default or the schema's"
        )
    else:  # PER_KIND: some kinds choose their own value; the others get the constructor's default
        accepting = set().union(*(kinds_for(entry.key.split(".")[2], m) for m in entry.methods))
        assert values and set(values) != accepting, (
            f"{entry.name}: {entry.key} is set in {sorted(values)} (of {sorted(accepting)}): compare it (SCHEMA)"
        )
        assert default is not inspect.Parameter.empty, (
            f"{entry.name}: kinds that leave {entry.key} unset need a default"
        )
        assert any(v != default and not (isinstance(default, tuple) and list(default) == v) for v in values.values()), (
            f"{entry.name}: every kind that sets {entry.key} gives the constructor's default {default!r}: SCHEMA"
        )


@pytest.mark.parametrize("entry", TABLE, ids=[f"{e.name}<-{e.key}" for e in TABLE])
def test_constructor_default_is_the_schemas(entry):
    check_entry(entry)


def test_the_check_can_fail():
    """Planted: a wrong default, a stale UNSET, a stale PER_KIND all raise."""

    class Wrong(BaseEstimator):
        def __init__(self, seed=0, k=5, min_observed=0.5, min_value=None):
            self.seed, self.k, self.min_observed, self.min_value = seed, k, min_observed, min_value

    with pytest.raises(AssertionError, match="Wrong.seed defaults to 0"):
        check_entry(_g(Wrong, "seed", "seed"))
    with pytest.raises(AssertionError, match="Wrong.k defaults to 5"):
        check_entry(_k(Wrong, "k", "impute.k", ("knn",)))
    with pytest.raises(AssertionError, match="now sets"):
        check_entry(_k(Wrong, "min_observed", "filter.min_observed", ("default",), UNSET))
    with pytest.raises(AssertionError, match="SCHEMA"):
        check_entry(_k(Wrong, "min_observed", "filter.min_observed", ("default",), PER_KIND))
    with pytest.raises(AssertionError, match="defaults to None"):
        check_entry(_k(Wrong, "min_value", "filter.min_value", ("default",)))  # rnaseq's 1.0 is a kind's choice
    # an accepted equivalence is one exact pair
    with pytest.raises(AssertionError):
        check_entry(_g(Wrong, "seed", "seed"), accepted={(Wrong, "seed"): (0, 7)})
    check_entry(_g(Wrong, "seed", "seed"), accepted={(Wrong, "seed"): (0, 42)})


def test_layer_preprocessor_settings_none_is_the_schemas_chain():
    """LayerPreprocessor(settings=None) builds the kind's chain from kind_defaults (layer_settings)."""
    assert inspect.signature(LayerPreprocessor).parameters["settings"].default is None
    for kind, chain in CONFIG["kind_defaults"].items():
        assert layer_settings(kind) == chain


# ---------------------------------------------------------------------------------------------
# completeness
# ---------------------------------------------------------------------------------------------


def estimator_classes(pkg) -> list[type]:
    """Every scikit-learn estimator class defined in a module of ``pkg`` (each module imported)."""
    found = {}
    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and issubclass(cls, BaseEstimator):
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return [found[k] for k in sorted(found)]


def _names(node: dict) -> set[str]:
    """Every property name at or below a schema node ($refs followed)."""
    out = set()
    stack = [node]
    while stack:
        n = stack.pop()
        while isinstance(n, dict) and "$ref" in n:
            target = RAW_SCHEMA
            for part in n["$ref"].lstrip("#/").split("/"):
                target = target[part]
            n = target
        if not isinstance(n, dict):
            continue
        for name, child in (n.get("properties") or {}).items():
            out.add(name)
            stack.append(child)
        if isinstance(n.get("additionalProperties"), dict):
            stack.append(n["additionalProperties"])
    return out


# option names of the sections that build each package's estimators
PREPROCESS_NAMES = (
    (_names(RAW_SCHEMA["$defs"]["layer_steps"]) - {"order"})
    | _names(RAW_SCHEMA["properties"]["batch_confounding"])
    | {"seed", "covariates"}
)
INTEGRATE_NAMES = _names(RAW_SCHEMA["properties"]["integration"]) | {"seed"}


def unlisted(classes, names: set[str], table=TABLE, excluded=EXCLUDED) -> list[str]:
    listed = {(e.target, e.param) for e in table}
    out = []
    for cls in classes:
        for p in cls._get_param_names():
            if p in names and (cls, p) not in listed and (cls.__name__, p) not in excluded:
                out.append(f"{cls.__name__}.{p}")
    return out


def test_every_schema_named_parameter_is_in_the_table():
    missing = unlisted(estimator_classes(preprocess_pkg), PREPROCESS_NAMES)
    missing += unlisted(estimator_classes(integrate_pkg), INTEGRATE_NAMES)
    assert not missing, f"parameters named like a schema option, neither in TABLE nor in EXCLUDED: {missing}"
    stale = [
        k
        for k in EXCLUDED
        if not any(
            c.__name__ == k[0] and k[1] in c._get_param_names()
            for c in estimator_classes(preprocess_pkg) + estimator_classes(integrate_pkg)
        )
    ]
    assert not stale, f"EXCLUDED names parameters that no longer exist: {stale}"


def test_completeness_check_can_fail():
    class NewEstimator(BaseEstimator):
        def __init__(self, n_components=3, seed=42):
            self.n_components, self.seed = n_components, seed

    assert unlisted([NewEstimator], INTEGRATE_NAMES) == ["NewEstimator.n_components", "NewEstimator.seed"]
