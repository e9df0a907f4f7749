"""Scoring new samples with a saved bundle (:class:`moflow.model.bundle.ModelBundle`), without retraining.

New data as they come: features in another order are aligned; features the model does not know are
left out and counted; input features a new matrix lacks are filled with their training medians and
counted, and where more than ``max_missing`` of a layer's model features are missing the layer is
treated as absent (for every new sample: the matrix lacks the columns). A sample absent from a layer's
matrix (or whose row holds no observed value) lacks that layer: it is scored by the strategy from the
layers it has, where the strategy can (late integration, and integration that refits on the layers
present), otherwise its row says why it was not scored.

Batches: a new sample of a batch the training data had gets that batch's stored correction (batch
effect, run-order drift); one of a batch the training data did not have cannot be corrected from the
training data, so the batch and drift steps leave it as measured, and its row says so (``notes``).
New sample IDs may repeat training IDs: they are scored as new samples (internally renamed) and the
collision is said.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from moflow.errors import InputError

NEW = "new::"  # internal prefix of the new samples' IDs: never equal to a training ID


class _AsMeasuredWhereUnseen:
    """A fitted batch or drift step that leaves the rows of batches it was not fit on as they are."""

    def __init__(self, step, seen: set[str]):
        self.step = step
        self.seen = seen
        self.uses_qc = getattr(step, "uses_qc", False)

    def _unseen(self, index) -> np.ndarray:
        info, column = self.step.info, self.step.batch_column
        return ~info.loc[index, column].astype(str).isin(self.seen).to_numpy()

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        unseen = self._unseen(X.index)
        if not unseen.any():
            return self.step.transform(X)
        out = X.astype(float).copy()
        if (~unseen).any():
            out.loc[~unseen] = self.step.transform(X.loc[~unseen]).to_numpy()
        return out


def _seen_batches(step) -> set[str] | None:
    """The batches a fitted step corrects (None: the step does not correct by batch)."""
    inner = getattr(step, "step_", None)  # AutoDrift: the step it chose
    if inner is not None and not getattr(step, "batches_", None):
        return _seen_batches(inner)
    if not getattr(step, "batch_column", ""):
        return None
    if hasattr(step, "batches_"):
        return {str(b) for b in step.batches_}
    if hasattr(step, "curves_"):
        return {str(b) for b in step.curves_}
    return None


def _set_info(obj, info: pd.DataFrame, depth: int = 0) -> None:
    """Give a fitted chain and every step inside it the sample sheet ``info`` (training and new rows)."""
    if depth > 4 or obj is None:
        return
    if hasattr(obj, "info"):
        obj.info = info
    for value in list(vars(obj).values()) if hasattr(obj, "__dict__") else []:
        if isinstance(value, list):
            for item in value:
                if isinstance(item, tuple) and len(item) == 2 and hasattr(item[1], "transform"):
                    _set_info(item[1], info, depth + 1)
        elif hasattr(value, "transform") and hasattr(value, "get_params"):
            _set_info(value, info, depth + 1)


def _predict_chain(chain, info: pd.DataFrame):
    """A copy of a fitted chain for new samples: their sheet rows known; batch and drift steps wrapped."""
    c = copy.deepcopy(chain)
    _set_info(c, info)
    steps = []
    for name, step in c.steps_:
        seen = _seen_batches(step)
        steps.append((name, step if seen is None else _AsMeasuredWhereUnseen(step, seen)))
    c.steps_ = steps
    return c


def check_new_sheet(sheet: pd.DataFrame, bundle, *, path: str) -> pd.DataFrame:
    """The new samples' sheet, checked: unique IDs; the columns the model's chains and covariates need.

    Parameters
    ----------
    sheet : pandas.DataFrame
        The sheet as read (strings), a column ``sample``.
    bundle : ModelBundle
        The bundle.
    path : str
        Names the sheet in messages.

    Returns
    -------
    pandas.DataFrame
        Indexed by sample ID (stripped).
    """
    if "sample" not in sheet.columns:
        raise InputError(f"{path}: no column 'sample'; name each new sample's ID in a column 'sample'.")
    ids = sheet["sample"].astype(str).str.strip()
    if (ids == "").any() or ids.isin(["nan", "None"]).any():
        row = int(np.flatnonzero((ids == "") | ids.isin(["nan", "None"]))[0]) + 2
        raise InputError(f"{path}, line {row}: a sample without an ID; give every row its sample ID.")
    dup = ids[ids.duplicated()]
    if len(dup):
        raise InputError(f"{path}: sample '{dup.iloc[0]}' is listed twice; list every new sample once.")
    out = sheet.copy()
    out.index = pd.Index(ids, name="sample")
    out = out.drop(columns="sample")
    for layer, chain in bundle.chains.items():
        for name, step in chain.steps_:
            col = getattr(step, "batch_column", "") or getattr(getattr(step, "step_", None), "batch_column", "")
            if _seen_batches(step) is not None and col and col not in out.columns:
                raise InputError(
                    f"{path}: no column '{col}': the model corrects layer '{layer}' ({name} step) by it; add each "
                    f"new sample's {col} (a {col} the training data did not have is left as measured, and said)."
                )
            needs_order = type(step).__name__ in ("QCRLSC", "SampleDrift") or type(
                getattr(step, "step_", None)
            ).__name__ in ("QCRLSC", "SampleDrift")
            if needs_order and "injection_order" not in out.columns:
                raise InputError(
                    f"{path}: no column 'injection_order': the model corrects layer '{layer}' for run-order drift; "
                    "add each new sample's injection_order in its run."
                )
    if bundle.encoder is not None:
        lacking = [c for c in bundle.encoder.columns if c not in out.columns]
        if lacking:
            raise InputError(
                f"{path}: no column '{lacking[0]}': the model ({bundle.strategy}) uses the clinical covariates "
                f"{', '.join(bundle.encoder.columns)}; add them to the sheet (an empty cell is filled as in training)."
            )
    return out


def align_features(X: pd.DataFrame, bundle, layer: str, *, path: str, max_missing: float) -> tuple[pd.DataFrame, dict]:
    """A new matrix in the model's input features: aligned, extra features left out, missing ones filled.

    Parameters
    ----------
    X : pandas.DataFrame
        The new samples x features matrix (parsed).
    bundle : ModelBundle
        The bundle.
    layer : str
        The layer.
    path : str
        Names the matrix in messages.
    max_missing : float
        The largest share of the layer's model features that may be missing; above it the layer is
        treated as absent (the returned matrix is None).

    Returns
    -------
    tuple
        (the aligned matrix, or None where the layer is treated as absent; counts: ``extra``,
        ``filled`` input features, ``missing_model_share``).
    """
    want = bundle.input_features[layer]
    model = bundle.model_features[layer]
    have = set(map(str, X.columns))
    X = X.copy()
    X.columns = X.columns.astype(str)
    if not have & set(want):
        raise InputError(
            f"{path}: none of the model's {len(want)} '{layer}' features is in this matrix (the model's first: "
            f"{', '.join(want[:3])}); name the features as in training (the same gene IDs, the same orientation)."
        )
    extra = len(have - set(want))
    lacking = [f for f in want if f not in have]
    missing_model = len(set(model) & set(lacking)) / max(1, len(model))
    counts = {"extra": extra, "filled": len(lacking), "missing_model_share": missing_model}
    if missing_model > max_missing:
        return None, counts
    out = X.reindex(columns=want)
    if lacking:
        out[lacking] = np.tile(bundle.medians[layer].reindex(lacking).to_numpy(float), (len(out), 1))
    return out, counts


def score_new(
    bundle,
    matrices: dict[str, pd.DataFrame],
    sheet: pd.DataFrame,
    *,
    paths: dict[str, str] | None = None,
    max_missing: float,
    other_ids=(),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Predictions of the new samples of ``sheet`` from their ``matrices``.

    Parameters
    ----------
    bundle : ModelBundle
        The bundle (:func:`moflow.model.bundle.load_bundle`).
    matrices : dict of str to pandas.DataFrame
        {layer: new samples x features} (parsed); a layer of the model may be absent.
    sheet : pandas.DataFrame
        The new samples' sheet (:func:`check_new_sheet`), indexed by sample; no outcome needed. QC
        injections (``sample_type`` qc) are used by the chains and not predicted.
    paths : dict of str to str, optional
        {layer: its file}, for messages.
    max_missing : float
        See :func:`align_features`.
    other_ids : iterable of str
        The samples of the new folder's matrices of layers the model does not use (a sample only they
        hold is listed with a note, not refused).

    Returns
    -------
    tuple of pandas.DataFrame
        (predictions: one row per new sample; per layer: its alignment counts).
    """
    from moflow.evaluate.folds import survival_columns
    from moflow.preprocess import qc_mask

    paths = paths or {}
    unknown = [n for n in matrices if n not in bundle.layers]
    sheet = sheet.copy()
    is_qc = (
        qc_mask(pd.DataFrame(index=sheet.index), sheet)
        if "sample_type" in sheet.columns
        else np.zeros(len(sheet), bool)
    )
    samples = [str(s) for s in sheet.index[~is_qc]]
    inside = set(map(str, other_ids)).union(*[set(map(str, X.index)) for X in matrices.values()])
    absent = [s for s in samples if s not in inside]
    if absent:
        raise InputError(
            f"the sample sheet names {len(absent)} sample(s) that no matrix holds (first: '{absent[0]}'); add their "
            "data, or remove them from the sheet."
        )
    rename = {s: NEW + str(s) for s in sheet.index}
    new_info = sheet.rename(index=rename)
    info = pd.concat([bundle.info, new_info.reindex(columns=new_info.columns)], axis=0)
    layers, rows = {}, []
    for layer in bundle.layers:
        path = paths.get(layer, f"layer '{layer}'")
        X = matrices.get(layer)
        if X is None:
            rows.append(
                {
                    "layer": layer,
                    "file": "",
                    "status": "absent: no matrix",
                    "extra": 0,
                    "filled": 0,
                    "missing_model_share": 1.0,
                }
            )
            continue
        known = [s for s in X.index.astype(str) if s in rename]
        not_in_sheet = len(X.index) - len(known)
        X = X.copy()
        X.index = X.index.astype(str)
        aligned, counts = align_features(X.loc[known], bundle, layer, path=path, max_missing=max_missing)
        status = "used"
        if aligned is None:
            status = f"absent: {counts['missing_model_share']:.0%} of its model features missing (> {max_missing:.0%})"
        rows.append({"layer": layer, "file": path, "status": status, **counts, "samples_not_in_sheet": not_in_sheet})
        if aligned is None:
            continue
        aligned = aligned.rename(index=rename)
        observed = aligned.notna().any(axis=1)
        aligned = aligned.loc[observed]
        chain = _predict_chain(bundle.chains[layer], info)
        Xp = chain.transform(aligned)
        layers[layer] = Xp
    new_ids = [rename[s] for s in samples]
    full = {n: layers[n].reindex(new_ids) if n in layers else None for n in bundle.layers}
    if all(X is None for X in full.values()):
        why = "; ".join(f"{r['layer']}: {r['status']}" for r in rows)
        raise InputError(
            f"none of the new samples can be scored: the model ({bundle.strategy}) uses the layers "
            f"{', '.join(bundle.layers)}, and none is usable ({why}); add their matrices to the omics sheet."
        )
    for n in bundle.layers:
        if full[n] is None:
            full[n] = pd.DataFrame(np.nan, index=new_ids, columns=bundle.model_features[n])
    kw = {}
    if bundle.encoder is not None:
        from moflow.integrate.clinical import clinical_frame

        frame = clinical_frame(new_info.loc[new_ids], bundle.encoder.columns)
        kw["clinical"] = bundle.encoder.transform(frame)
    T = bundle.model.predict_table(full, **kw).reindex(new_ids)
    if bundle.task == "classification":
        T = T.reindex(columns=[f"p_{c}" for c in bundle.classes])
        P = T.to_numpy(float)
        scored = ~np.isnan(P).any(axis=1)
        best = np.argmax(np.where(np.isnan(P), -np.inf, P), axis=1)
        T.insert(0, "predicted", np.where(scored, np.asarray(bundle.classes, dtype=object)[best], None))
    elif bundle.task == "survival":
        T = survival_columns(T, bundle.train_risk, bundle.y_train, bundle.grid)
    conformal = getattr(bundle, "conformal", None)
    if conformal is not None:  # the prediction set or interval at the bundle's coverage
        from moflow.model.conformal import apply_conformal

        T = pd.concat([T, apply_conformal(conformal, T)], axis=1)
    present = pd.DataFrame({n: full[n].notna().any(axis=1) for n in bundle.layers})
    T.insert(0, "layers_used", [",".join(n for n in bundle.layers if present.loc[s, n]) for s in new_ids])
    layer_rows = pd.DataFrame(rows)
    for r in rows:
        T[f"missing_model_features_{r['layer']}"] = r["missing_model_share"]
    notes = []
    training = set(bundle.train)
    batch_notes = _batch_notes(bundle, new_info.loc[new_ids])
    score_col = next(c for c in T.columns if c.startswith(("p_", "risk", "prediction")))
    for s, new in zip(samples, new_ids, strict=True):
        note = []
        if s in training:
            note.append("ID also a training sample's (scored as a new sample)")
        note += batch_notes.get(new, [])
        lacking = [n for n in bundle.layers if not present.loc[new, n]]
        if pd.isna(T.loc[new, score_col]):
            note.append(f"not scored: lacks {', '.join(lacking) or 'every layer'} and {bundle.strategy} needs it")
        elif lacking and conformal is not None:
            note.append(
                f"scored without {', '.join(lacking)}: its {'set' if bundle.task == 'classification' else 'interval'} "
                "was calibrated on training samples that mostly have every layer, and may hold the truth less often"
            )
        notes.append("; ".join(note))
    T["notes"] = notes
    T.index = pd.Index(samples, name="sample")
    T = T.reset_index()
    if unknown:
        layer_rows = pd.concat(
            [
                layer_rows,
                pd.DataFrame(
                    [
                        {"layer": n, "file": paths.get(n, ""), "status": "not a layer of the model: left out"}
                        for n in unknown
                    ]
                ),
            ],
            ignore_index=True,
        )
    return T, layer_rows


def _batch_notes(bundle, info: pd.DataFrame) -> dict[str, list[str]]:
    """{new sample: what its batch meant}: a batch the training data did not have is left as measured."""
    out: dict[str, list[str]] = {}
    for layer, chain in bundle.chains.items():
        for name, step in chain.steps_:
            seen = _seen_batches(step)
            col = getattr(step, "batch_column", "") or getattr(getattr(step, "step_", None), "batch_column", "")
            if seen is None or not col or col not in info.columns:
                continue
            for s, b in info[col].astype(str).items():
                if b not in seen:
                    out.setdefault(s, []).append(
                        f"{layer}: {col} '{b}' not in training, {name} step left it as measured"
                    )
    return out
