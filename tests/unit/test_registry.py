"""The step registry of moflow.preprocess: the config schema names exactly the registered methods,
every registered method builds a working step, and a method is refused for a kind it does not fit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from moflow.errors import InputError
from moflow.preprocess import (
    AUTO_CANDIDATES,
    IMPUTE_METHODS,
    KINDS,
    REGISTRY,
    STEP_ORDER,
    AutoImpute,
    Identity,
    MixedImpute,
    Step,
    WithinBatch,
    kind_defaults,
    kinds_for,
    make_step,
    methods,
)

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "config.schema.yaml"
STEPS = ("normalize", "qc_drift", "filter", "impute", "batch", "scale")  # imputation before batch correction


# --------------------------------------------------------------------------------------------
# the config schema
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema():
    return yaml.safe_load(SCHEMA.read_text())


def _resolve(schema: dict, node: dict) -> dict:
    """Follow local ``$ref`` pointers (``#/a/b``) until a node without one."""
    while isinstance(node, dict) and "$ref" in node:
        node_ = schema
        for part in node["$ref"].lstrip("#/").split("/"):
            node_ = node_[part]
        node = node_
    return node


def _layer_steps(schema: dict) -> dict:
    """The schema of one layer's entry under config ``preprocess`` (``{step: {...}, order: [...]}``)."""
    return _resolve(schema, _resolve(schema, schema["properties"]["preprocess"])["additionalProperties"])


def _step_option(schema: dict, step: str, option: str) -> dict:
    return _resolve(schema, _resolve(schema, _layer_steps(schema)["properties"][step])["properties"][option])


def test_registry_steps_are_the_step_order():
    assert tuple(dict.fromkeys(s for s, _ in REGISTRY)) == STEP_ORDER == STEPS


@pytest.mark.parametrize("step", STEPS)
def test_schema_methods_are_the_registry(schema, step):
    enum = _step_option(schema, step, "method")["enum"]
    assert len(enum) == len(set(enum))
    assert set(enum) == set(methods(step))
    assert "none" in methods(step)


def test_schema_step_order_is_step_order(schema):
    order = _resolve(schema, _layer_steps(schema)["properties"]["order"])
    assert tuple(_resolve(schema, order["items"])["enum"]) == STEP_ORDER


def test_schema_auto_candidates(schema):
    enum = set(_resolve(schema, _step_option(schema, "impute", "candidates")["items"])["enum"])
    assert enum == set(methods("impute")) - {"none", "auto"} == set(IMPUTE_METHODS) - {"auto"}
    assert set(AUTO_CANDIDATES) <= enum
    for bad in ("auto", "none"):
        with pytest.raises(InputError, match="impute auto: unknown candidate"):
            AutoImpute(candidates=[bad], seed=0).fit(_frame("continuous", missing=0.15))


@pytest.mark.parametrize("option", ["mnar", "mar"])
def test_schema_mixed_methods_are_what_mixed_accepts(schema, option):
    """The methods MixedImpute takes for its MNAR and MAR parts (tried on every impute method)."""
    enum = set(_step_option(schema, "impute", option)["enum"])
    X = _frame("continuous", missing=0.15)
    accepted = set()
    for m in methods("impute"):
        try:
            MixedImpute(**{option: m}, k=3, seed=0).fit(X)
        except InputError as err:
            assert f"unknown {option} method '{m}'" in str(err)
        else:
            accepted.add(m)
    assert accepted == enum


def test_defaults_name_registered_methods():
    for kind, steps in kind_defaults().items():
        assert kind in KINDS
        for step, opts in steps.items():
            method = opts.get("method", "default" if step == "filter" else "none")
            assert kind in kinds_for(step, method), (kind, step, method)


# --------------------------------------------------------------------------------------------
# every registered method builds a step
# --------------------------------------------------------------------------------------------

N, P = 40, 30


def _info() -> pd.DataFrame:
    idx = [f"S{i:02d}" for i in range(N)]
    qc = np.arange(N) % 5 == 0  # 8 QC injections, 4 per batch
    return pd.DataFrame(
        {
            "sample": idx,
            "sample_type": np.where(qc, "qc", "sample"),
            "injection_order": np.arange(1, N + 1),
            "batch": np.repeat(["b1", "b2"], N // 2),
            "age": np.linspace(30, 70, N),
        },
        index=idx,
    )


INFO = _info()
COHORT = INFO.index[INFO["sample_type"] == "sample"]
Y = pd.Series(np.tile(["case", "control"], len(COHORT) // 2), index=COHORT)


def _frame(kind: str, missing: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """A tiny layer of the kind (all samples, QC injections included), values as the kind holds them."""
    rng = np.random.default_rng(seed)
    shape = (N, P)
    if kind == "rnaseq_counts":
        V = rng.poisson(rng.gamma(2.0, 100.0, P)[None, :] * rng.uniform(0.5, 2.0, N)[:, None]).astype(float) + 1
    elif kind in ("proteomics_intensity", "metabolomics_intensity"):
        V = np.power(2.0, rng.normal(20, 1, shape) + rng.normal(0, 2, P)[None, :])
    elif kind == "methylation_beta":
        V = rng.uniform(0.05, 0.95, shape)
    elif kind == "binary":
        V = rng.integers(0, 2, shape).astype(float)
    else:
        V = rng.normal(8, 1, shape) + rng.normal(0, 2, P)[None, :]
    if missing:
        V[rng.random(shape) < missing] = np.nan
    return pd.DataFrame(V, index=INFO.index, columns=[f"f{j}" for j in range(P)])


def _build(step, method, kind, **kw):
    ctx = dict(kind=kind, info=INFO, batch_column="batch", covariates=("age",), log_scale=False, seed=0)
    ctx.update(kw)
    return make_step(step, {"method": method}, **ctx)


CASES = [
    (step, method, kind)
    for (step, method) in REGISTRY
    for kind in (kinds_for(step, method) if step == "normalize" else ("continuous",))
]


@pytest.mark.parametrize(("step", "method", "kind"), CASES, ids=["-".join(c) for c in CASES])
def test_every_registered_method_builds_and_runs(step, method, kind):
    est = _build(step, method, kind)
    assert isinstance(est, Step)
    X = _frame(kind, missing=0.15 if step == "impute" else 0.0)
    if step != "qc_drift" and not getattr(est, "uses_qc", False):
        X = X.loc[COHORT]
    out = est.fit_transform(X, Y.reindex(X.index))
    assert isinstance(out, pd.DataFrame) and list(out.index) == list(X.index)
    assert set(out.columns) <= set(X.columns) and out.shape[1] > 0
    if step == "impute":
        assert method == "none" or not out.isna().to_numpy().any()
    if method != "none":
        again = est.transform(X)
        assert again.shape == out.shape


def test_none_is_identity_except_kinds_with_a_log_transform():
    for step in STEPS:
        for kind in KINDS:
            est = _build(step, "none", kind)
            log_kinds = ("rnaseq_counts", "proteomics_intensity", "metabolomics_intensity")
            assert isinstance(est, Identity) == (step != "normalize" or kind not in log_kinds), (step, kind)
    assert isinstance(_build("normalize", "none", "proteomics_intensity", log_scale=True), Identity)
    assert isinstance(_build("batch", "combat", "continuous", batch_column=""), Identity)


# --------------------------------------------------------------------------------------------
# a method with a kind it does not take
# --------------------------------------------------------------------------------------------

REFUSED = [(step, method, kind) for (step, method) in REGISTRY for kind in KINDS if kind not in kinds_for(step, method)]


def test_some_methods_are_restricted_to_kinds():
    assert REFUSED
    assert kinds_for("normalize", "tmm") == ("rnaseq_counts",)
    assert set(kinds_for("normalize", "none")) == set(KINDS)


@pytest.mark.parametrize(("step", "method", "kind"), REFUSED, ids=["-".join(c) for c in REFUSED])
def test_method_refused_for_a_kind_it_does_not_take(step, method, kind):
    with pytest.raises(InputError, match=f"{step} method '{method}' does not apply to kind '{kind}'"):
        _build(step, method, kind)


def test_unknown_methods_and_steps():
    with pytest.raises(InputError, match=r"batch: unknown method 'magic' \(combat, linear, none\)"):
        _build("batch", "magic", "continuous")
    with pytest.raises(InputError, match="unknown preprocessing step 'smooth'"):
        methods("smooth")
    with pytest.raises(InputError, match="qc_drift: unknown method 'magic'"):
        kinds_for("qc_drift", "magic")


def test_schema_qc_drift_options_are_what_the_methods_take(schema):
    """Every qc_drift option of the schema is a parameter of some qc_drift method, every parameter of a
    method is in the schema, and a method refuses the options of another (issue 11)."""
    from moflow.preprocess import QCRLSC, AutoDrift, SampleDrift

    options = set(_resolve(schema, _layer_steps(schema)["properties"]["qc_drift"])["properties"]) - {"method"}
    taken = {}
    for method, cls in (("rlsc", QCRLSC), ("sample_lowess", SampleDrift), ("auto", AutoDrift)):
        taken[method] = set(cls().get_params()) - {"info", "batch_column"}
    assert set().union(*taken.values()) == options
    assert taken["auto"] == taken["rlsc"]
    for method, own in taken.items():
        for other in sorted(options - own):
            with pytest.raises(InputError, match=rf"qc_drift {method}: unknown option\(s\) \['{other}'\]"):
                make_step(
                    "qc_drift",
                    {"method": method, other: 1},
                    kind="metabolomics_intensity",
                    info=INFO,
                    batch_column="batch",
                    covariates=(),
                    log_scale=True,
                    seed=0,
                )


def test_step_order_imputes_before_batch_correction():
    """Issue 11: imputation runs in each batch's measured scale, then batch correction sees complete data."""
    assert STEP_ORDER.index("impute") < STEP_ORDER.index("batch")
    assert STEP_ORDER.index("filter") < STEP_ORDER.index("impute")


# --------------------------------------------------------------------------------------------
# scikit-learn conventions: parameter constraints, fitted checks
# --------------------------------------------------------------------------------------------


def _estimator_classes() -> list[type]:
    """Every estimator class the preprocess face exports."""
    from sklearn.base import BaseEstimator

    import moflow.preprocess as pp

    found = [getattr(pp, n) for n in sorted(pp.__all__)]
    return [c for c in found if isinstance(c, type) and issubclass(c, BaseEstimator)]


def _default_instance(cls):
    from moflow.preprocess import LayerPreprocessor

    kw = {"seed": 0} if "seed" in cls._get_param_names() else {}  # seed has no default (the schema's)
    return cls("continuous", **kw) if cls is LayerPreprocessor else cls(**kw)


ESTIMATORS = _estimator_classes()


def test_estimators_are_found():
    names = {c.__name__ for c in ESTIMATORS}
    assert {
        "Step",
        "Identity",
        "LayerPreprocessor",
        "MeanImpute",
        "WithinBatch",
        "ComBat",
        "LinearBatch",
        "QCRLSC",
        "SampleDrift",
        "AutoDrift",
        "Scaler",
        "FeatureFilter",
        "Log2",
    } <= names


@pytest.mark.parametrize("cls", ESTIMATORS, ids=[c.__name__ for c in ESTIMATORS])
def test_constraints_cover_every_parameter(cls):
    est = _default_instance(cls)
    assert set(cls._parameter_constraints) == set(est.get_params(deep=False))
    est._validate_params()  # the defaults satisfy them


@pytest.mark.parametrize("cls", ESTIMATORS, ids=[c.__name__ for c in ESTIMATORS])
def test_unfitted_estimators_refuse_to_transform(cls):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        _default_instance(cls).transform(_frame("continuous"))


def _schema_values(schema: dict, node: dict) -> list:
    """Values the schema allows for one option: its enum, the bounds of a number, one of each other type."""
    node = _resolve(schema, node)
    if "enum" in node:
        return list(node["enum"])
    types = node.get("type", [])
    types = [types] if isinstance(types, str) else types
    values = []
    for t in types:
        if t == "null":
            values.append(None)
        elif t == "boolean":
            values += [True, False]
        elif t == "string":
            values.append("x")
        elif t == "array":
            values.append(list(_schema_values(schema, node["items"])))
        elif t in ("number", "integer"):
            step = 1 if t == "integer" else 1e-6
            cast = int if t == "integer" else float
            bounds = [cast(node[k]) for k in ("minimum", "maximum") if k in node]
            bounds += [node["exclusiveMinimum"] + step] if "exclusiveMinimum" in node else []
            bounds += [node["exclusiveMaximum"] - step] if "exclusiveMaximum" in node else []
            values += bounds or [cast(1)]
    return values


def test_constraints_accept_every_schema_value(schema):
    """Every value the config schema allows for a step option passes the constraints of each estimator
    that takes the option (the batch guard: config ``batch_confounding``)."""
    checked = set()
    steps = _resolve(schema, _layer_steps(schema))["properties"]
    guard = _resolve(schema, schema["properties"]["batch_confounding"])["properties"]
    for step in STEPS:
        options = dict(_resolve(schema, steps[step])["properties"])
        options.pop("method")
        if step == "batch":
            options.update(max_association=guard["max_association"], allow_confounded=guard["allow"])
        for method in methods(step):
            for kind in kinds_for(step, method):
                est = _build(step, method, kind)
                est = est.imputer if isinstance(est, WithinBatch) else est  # the MAR imputers, within batch
                for option, node in options.items():
                    if option not in est.get_params(deep=False):
                        continue
                    for value in _schema_values(schema, node):
                        est.set_params(**{option: value})._validate_params()
                        checked.add((type(est).__name__, option))
    assert ("ComBat", "ddof") in checked and ("AutoImpute", "candidates") in checked and ("KNNImpute", "k") in checked
    assert ("SampleDrift", "reference_value") in checked and ("FeatureFilter", "qc_rsd_max") in checked


@pytest.mark.parametrize("kind", KINDS)
def test_constraints_accept_the_kind_defaults(kind):
    from moflow.preprocess import LayerPreprocessor

    pp = LayerPreprocessor(kind, info=INFO, batch_column="batch", covariates=("age",), layer="x", seed=42)
    pp._validate_params()
    for _, step in pp._build():
        step._validate_params()
