"""The model bundle: the chosen predictor refit on every training sample, with all it needs to score new ones.

:func:`fit_bundle` refits, exactly as the evaluation's split ``final`` does (the same chains, strategies,
seeds and training samples in the same order), every layer's preprocessing chain and the strategy the
nested CV chose (:func:`moflow.evaluate.best_strategy`, or the one ``predictor: strategy`` names), and
keeps what scoring new samples needs: the fitted chains, the layers' input and model features, the
training medians of every input feature (to fill a feature a new matrix lacks), the outcome's coding,
the clinical covariates' encoder, a survival outcome's training risks (risk groups and survival
probabilities of new samples), the omics sheet and the settings.

:func:`bundle_bytes` turns a bundle into the file's bytes and its manifest (format, moflow and package
versions, the bytes' sha256); :func:`load_bundle` checks the manifest before it unpickles anything: a
file changed since it was written, or one written by another moflow version, is refused with one line.
The bundle is a pickle: skops, which loads without running code, cannot hold pandas frames (skops
0.16: ``TypeError: no default __reduce__``), which the fitted chains and strategies keep. A pickle runs
code when loaded: load only bundles you made; the checksum guards against a changed or damaged file,
not against someone who rewrites both files. The bundle also holds the training samples' preprocessed
layers (strategies refit their final model for a new sample that lacks a layer): share it as you would
share the data.
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from moflow.errors import InputError

FORMAT = 1  # the bundle's layout: a bundle of another format is refused
PACKAGES = ("numpy", "pandas", "scikit-learn", "scikit-survival", "scipy", "mofapy2")


@dataclass
class ModelBundle:
    """A fitted predictor and what scoring new samples needs (:func:`fit_bundle`).

    Attributes
    ----------
    strategy : str
        The scoreboard row it is (``early``, ``late+clinical``, ``single_rna``, ...).
    chosen_by : str
        Why this strategy: ``best in nested CV`` or ``named in config``.
    task : str
        ``classification``, ``regression`` or ``survival``.
    layers : list of str
        The layers the strategy was fit on, in omics-sheet order.
    chains : dict of str to LayerPreprocessor
        {layer: its preprocessing chain, fitted on the training samples}.
    input_features, model_features : dict of str to list of str
        {layer: the features of its input matrix} and {layer: the features its chain hands the model}.
    medians : dict of str to pandas.Series
        {layer: the training median of every input feature}: fills a feature a new matrix lacks.
    model : estimator
        The fitted strategy (a :class:`moflow.integrate.baselines.WithClinical` with the covariates).
    encoder : ClinicalEncoder or None
        The clinical covariates' encoder, fitted on the training samples (with ``+clinical`` only).
    classes : list of str or None
        The classes (classification).
    train : list of str
        The training samples, in order.
    info : pandas.DataFrame
        The training samples' sheet without the outcome (their batches, injection order, ...).
    omics : pandas.DataFrame
        The omics sheet of the run (kind, orientation, scale of every layer, the model's and the others).
    train_risk, y_train : pandas.Series, pandas.DataFrame or None
        A survival outcome's training risks and outcome (risk groups and survival probabilities).
    grid : list of float
        The times of the survival probabilities (survival).
    config : dict
        The run's settings as configured.
    max_missing : float
        ``predictor: max_missing_features`` of the run (scoring new samples; a predict run may override it).
    conformal : Conformal or None
        The thresholds of the prediction sets or intervals, from the outer CV's out-of-fold predictions
        of the strategy (:func:`moflow.model.conformal.fit_conformal`); None for a survival outcome.
    coverage : pandas.DataFrame or None
        The coverage the sets or intervals reached in the training run (``results/model/coverage.tsv``).
    """

    strategy: str
    chosen_by: str
    task: str
    layers: list
    chains: dict
    input_features: dict
    model_features: dict
    medians: dict
    model: object
    encoder: object
    classes: list | None
    train: list
    info: pd.DataFrame
    omics: pd.DataFrame
    train_risk: pd.Series | None = None
    y_train: pd.DataFrame | None = None
    grid: list = field(default_factory=list)
    config: dict = field(default_factory=dict)
    max_missing: float | None = None
    conformal: object = None
    coverage: pd.DataFrame | None = None

    def summary(self) -> pd.DataFrame:
        """One row per layer: the strategy, why, the training samples and the layer's input and model features."""
        return pd.DataFrame(
            [
                {
                    "strategy": self.strategy,
                    "chosen_by": self.chosen_by,
                    "task": self.task,
                    "n_training_samples": len(self.train),
                    "layer": layer,
                    "input_features": len(self.input_features[layer]),
                    "model_features": len(self.model_features[layer]),
                }
                for layer in self.layers
            ]
        )


def choose_strategy(board: pd.DataFrame, named: str) -> tuple[str, str]:
    """The strategy to save: the one ``named`` in config (checked against the scoreboard), or the best.

    Parameters
    ----------
    board : pandas.DataFrame
        The scoreboard (:func:`moflow.evaluate.scoreboard`), best first.
    named : str
        ``predictor: strategy``: ``best`` or a scoreboard row.

    Returns
    -------
    tuple of str
        (strategy, why it was chosen).
    """
    from moflow.evaluate.ranking import best_strategy

    if named in ("", "best"):
        return str(best_strategy(board)["strategy"]), "best in nested CV"
    rows = [str(s) for s in board["strategy"]]
    if named not in rows or named in ("naive", "trees"):
        from moflow.wording import listing

        choices = [r for r in rows if r not in ("naive", "trees")]
        raise InputError(
            f"config predictor: strategy '{named}' is not a strategy this run scored; name one of "
            f"{listing(choices)}, or 'best'."
        )
    return named, "named in config"


def fit_bundle(
    raw: dict[str, pd.DataFrame],
    cohort,
    strategy: str,
    *,
    chosen_by: str,
    strategies: dict,
    preprocessors: dict,
    clinical: tuple | None,
    grid=None,
    config: dict | None = None,
    max_missing: float,
    conformal=None,
    coverage: pd.DataFrame | None = None,
    target: pd.Series | None = None,
) -> ModelBundle:
    """Refit ``strategy`` on every training sample, as the evaluation's split ``final`` does.

    Parameters
    ----------
    raw : dict of str to pandas.DataFrame
        {layer: validated input matrix}.
    cohort : Cohort
        The cohort (:func:`moflow.cohort.make_cohort`).
    strategy : str
        The scoreboard row to refit (:func:`choose_strategy`).
    chosen_by : str
        Why (kept in the bundle).
    strategies, preprocessors : dict
        {name: factory} (:func:`moflow.integrate.build_strategies`) and {layer: unfitted chain}
        (:func:`moflow.preprocess.build_preprocessors`), as the fold loop gets them.
    clinical : tuple or None
        (unfitted encoder, covariates) (:func:`moflow.integrate.clinical.clinical_inputs`).
    grid : array-like of float, optional
        A survival outcome's evaluation times.
    config : dict, optional
        The settings as configured, kept in the bundle.
    max_missing : float
        ``predictor: max_missing_features``, kept in the bundle.
    conformal : Conformal, optional
        The prediction sets' or intervals' thresholds, kept in the bundle.
    coverage : pandas.DataFrame, optional
        The coverage they reached in the training run, kept in the bundle.
    target : pandas.Series, optional
        Classes the model learns instead of the outcome (the subtypes: :mod:`moflow.subtypes.classifier`), of
        the samples it is fit on; the chains still see the cohort's outcome (or none), as in the run.

    Returns
    -------
    ModelBundle
        The fitted bundle.
    """
    from sklearn.base import clone

    from moflow.integrate import SharedFits
    from moflow.integrate.baselines import WITH_CLINICAL, WithClinical
    from moflow.preprocess.fit_apply import fit_apply

    y = cohort.y
    learnt = y if target is None else target
    task = cohort.task if target is None else "classification"
    train = [str(s) for s in learnt.drop(index=list(cohort.test), errors="ignore").index]  # as make_splits' "final"
    qc = {layer: cohort.qc for layer in cohort.omics.index[cohort.omics["has_qc"]]}
    base_name = strategy.removesuffix(WITH_CLINICAL)
    if base_name not in strategies:
        raise InputError(f"strategy '{strategy}' cannot be refit: this run has no strategy '{base_name}'")
    chains, layers_tr, medians, inputs = {}, {}, {}, {}
    for name, X in raw.items():
        rows_tr = [s for s in train if s in X.index] + list(qc.get(name, []))
        chain = clone(preprocessors[name])
        Xt, _ = fit_apply(chain, X, y, rows_tr, [])
        chains[name] = chain
        layers_tr[name] = Xt.reindex(train)
        inputs[name] = [str(c) for c in X.columns]
        medians[name] = training_medians(X.loc[[s for s in train if s in X.index]])
    ytr = learnt.loc[train]
    model = strategies[base_name]().fit(layers_tr, ytr, shared=SharedFits())
    encoder = None
    if strategy.endswith(WITH_CLINICAL):
        if clinical is None:
            raise InputError(f"strategy '{strategy}' needs the clinical covariates (config clinical: columns)")
        encoder, frame = clinical
        encoder = clone(encoder).fit(frame.loc[train])
        model = WithClinical(model).fit(layers_tr, ytr, clinical=encoder.transform(frame.loc[train]))
    for fitted in (model, getattr(model, "base_", None)):  # the training design, kept for a refit with the
        if hasattr(fitted, "full_design_"):  # covariates (done above): its training layers stay (new samples
            del fitted.full_design_  # lacking a layer refit from them), the copy goes
    used = list(model.base_.layers_ if isinstance(model, WithClinical) else model.layers_)
    classes = sorted(ytr.astype(str).unique()) if task == "classification" else None
    train_risk = None
    if task == "survival":
        kw = {"clinical": encoder.transform(clinical[1].loc[train])} if encoder is not None else {}
        train_risk = model.predict_table(layers_tr, **kw)["risk"].reindex(train)
    order = [n for n in cohort.omics.index if n in used]
    return ModelBundle(
        strategy=strategy,
        chosen_by=chosen_by,
        task=task,
        layers=order,
        chains={n: chains[n] for n in order},
        input_features={n: inputs[n] for n in order},
        model_features={n: [str(c) for c in layers_tr[n].columns] for n in order},
        medians={n: medians[n] for n in order},
        model=model,
        encoder=encoder,
        classes=classes,
        train=train,
        info=cohort.info.loc[[s for s in cohort.info.index if s in set(train) or s in set(cohort.qc)]],
        omics=cohort.omics,
        train_risk=train_risk,
        y_train=ytr if task == "survival" else None,
        grid=[] if grid is None else [float(t) for t in grid],
        config=dict(config or {}),
        max_missing=float(max_missing),
        conformal=conformal,
        coverage=coverage,
    )


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    import moflow

    out = {"moflow": moflow.__version__}
    for p in PACKAGES:
        try:
            out[p] = version(p)
        except PackageNotFoundError:
            out[p] = None
    return out


def bundle_bytes(bundle: ModelBundle) -> tuple[bytes, dict]:
    """The bundle's file (a pickle) and its manifest (format, versions, the bytes' sha256, what it holds).

    Parameters
    ----------
    bundle : ModelBundle
        The fitted bundle.

    Returns
    -------
    tuple
        (bytes, manifest dict).
    """
    payload = pickle.dumps(bundle, protocol=pickle.HIGHEST_PROTOCOL)
    manifest = {
        "format": FORMAT,
        "versions": _versions(),
        "sha256": hashlib.sha256(payload).hexdigest(),
        "bytes": len(payload),
        "strategy": bundle.strategy,
        "chosen_by": bundle.chosen_by,
        "task": bundle.task,
        "classes": bundle.classes,
        "layers": {
            n: {"input_features": len(bundle.input_features[n]), "model_features": len(bundle.model_features[n])}
            for n in bundle.layers
        },
        "n_training_samples": len(bundle.train),
    }
    return payload, manifest


def load_bundle(payload: bytes, manifest: dict, *, path: str = "the bundle") -> ModelBundle:
    """The bundle of ``payload``, after its manifest is checked: format, moflow version, checksum.

    Parameters
    ----------
    payload : bytes
        The bundle file's bytes.
    manifest : dict
        Its manifest (:func:`bundle_bytes`).
    path : str
        Names the file in messages.

    Returns
    -------
    ModelBundle
        The bundle.

    Raises
    ------
    InputError
        A bundle of another format or moflow version, or one whose bytes changed since it was written.
    """
    import moflow

    if not isinstance(manifest, dict) or "sha256" not in manifest:
        raise InputError(f"{path}: its manifest is missing or unreadable; save the bundle again (rerun the workflow).")
    if manifest.get("format") != FORMAT:
        raise InputError(
            f"{path}: bundle format {manifest.get('format')!r}, this moflow reads format {FORMAT}; refit the model "
            "with this moflow version (rerun the workflow on the training data)."
        )
    made = (manifest.get("versions") or {}).get("moflow")
    if made != moflow.__version__:
        raise InputError(
            f"{path}: written by moflow {made}, this is moflow {moflow.__version__}; score with moflow {made}, or "
            "refit the model with this version (rerun the workflow on the training data)."
        )
    digest = hashlib.sha256(payload).hexdigest()
    if digest != manifest["sha256"]:
        raise InputError(
            f"{path}: the file changed since it was written (sha256 {digest[:12]}..., the manifest says "
            f"{manifest['sha256'][:12]}...); use the bundle as the workflow wrote it, or rerun the workflow."
        )
    bundle = pickle.loads(payload)
    if not isinstance(bundle, ModelBundle):
        raise InputError(f"{path}: not a moflow model bundle")
    return bundle


def training_medians(X: pd.DataFrame) -> pd.Series:
    """Every feature's median over the rows of ``X`` (missing cells left out; never observed: missing)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a feature never observed: All-NaN slice
        return pd.Series(np.nanmedian(X.to_numpy(float), axis=0), index=X.columns.astype(str))
