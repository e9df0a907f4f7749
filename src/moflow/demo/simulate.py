"""A simulated multi-omics cohort with planted structure: the embedded demo and the test bed.

Planted, and written to a ground-truth table so tests can check that the pipeline finds them:

* latent factors, some shared across layers, one (``F1``) tied to a binary outcome;
* each factor drives a named gene set (``PLANTED_F<k>_...``), plus decoy gene sets that drive nothing;
* per-layer batch shifts (batches independent of the outcome);
* RNA-seq counts: negative binomial with varying library sizes;
* proteomics log2 intensities sharing gene symbols with RNA, with left-censored missingness;
* metabolomics peak intensities with dilution, pooled QC injections and an injection-order drift;
* optionally (``survival=True``) a censored time-to-event outcome whose hazard is driven by ``F1``
  (:func:`simulate_survival`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

FACTORS = {
    # name: (layers it drives, gene-set name or None)
    "F1": (("rna", "protein", "metabolomics"), "PLANTED_F1_OUTCOME_RESPONSE"),
    "F2": (("rna", "protein"), "PLANTED_F2_SHARED_PROGRAM"),
    "F3": (("rna",), "PLANTED_F3_RNA_PROGRAM"),
    "F4": (("rna", "metabolomics"), "PLANTED_F4_METABOLIC_PROGRAM"),
}

# survival outcome (simulate_survival): Weibull baseline hazard, median event time at F1 = 0,
# administrative end of follow-up (years)
SURVIVAL_SHAPE = 1.5
SURVIVAL_MEDIAN = 5.0
SURVIVAL_FOLLOW_UP = 10.0


@dataclass
class DemoCohort:
    """The simulated cohort (:func:`simulate_cohort`, :func:`simulate_tcga_like`).

    Attributes
    ----------
    layers : dict of str to pandas.DataFrame
        Samples x features, by layer.
    sheet : pandas.DataFrame
        The sample sheet: cohort samples first, then QC injections.
    gene_sets : dict of str to list of str
        Planted and decoy gene sets.
    factors : pandas.DataFrame
        The latent factors (samples x ``F1``...).
    loadings : pandas.DataFrame
        The non-zero planted weights: layer, feature, factor, weight.
    gene_set_truth : pandas.DataFrame
        Per gene set: the factor it follows, whether it is planted, the layers that factor drives.
    params : dict
        The simulation's parameters and observed summaries (e.g. the missing proteomics fraction).
    """

    layers: dict[str, pd.DataFrame]
    sheet: pd.DataFrame
    gene_sets: dict[str, list[str]]
    factors: pd.DataFrame
    loadings: pd.DataFrame
    gene_set_truth: pd.DataFrame
    params: dict = field(default_factory=dict)


def _injection_plan(samples_by_batch: list[list[str]], qc_every: int, rng) -> pd.DataFrame:
    rows = []
    order = 0
    qc_count = 0
    for b, members in enumerate(samples_by_batch):
        members = list(rng.permutation(members))
        batch = f"b{b + 1}"
        seq: list[tuple[str, str]] = []
        for i, s in enumerate(members):
            if i % qc_every == 0:
                qc_count += 1
                seq.append((f"QC{qc_count:03d}", "qc"))
            seq.append((s, "sample"))
        qc_count += 1
        seq.append((f"QC{qc_count:03d}", "qc"))
        n = len(seq)
        for pos, (sid, stype) in enumerate(seq):
            order += 1
            rows.append(
                {
                    "sample": sid,
                    "sample_type": stype,
                    "batch": batch,
                    "injection_order": order,
                    "_batch_pos": pos / (n - 1),
                }
            )
    return pd.DataFrame(rows)


def _dropout_horizon(T: np.ndarray, censoring: float, follow_up: float) -> float:
    """The horizon D of uniform drop-out times ``U(0, D)`` giving an expected censored fraction ``censoring``.

    The fraction is of event times ``T``, with administrative censoring at ``follow_up``; ``inf`` (no
    drop-out) when administrative censoring alone censors at least that fraction.
    """
    admin = T > follow_up

    def expected(D: float) -> float:
        return float(np.mean(np.where(admin, 1.0, np.minimum(T / D, 1.0))))

    if expected(np.inf) >= censoring:
        return float("inf")
    lo, hi = 1e-9, 1.0
    while expected(hi) > censoring:  # expected() falls from 1 towards the administrative fraction
        hi *= 2.0
    for _ in range(200):
        mid = np.sqrt(lo * hi)
        if expected(mid) > censoring:
            lo = mid
        else:
            hi = mid
    return float(hi)


def simulate_survival(f1, *, beta: float = 1.0, censoring: float = 0.35, seed: int = 0) -> pd.DataFrame:
    """Censored event times from a proportional-hazards model driven by the outcome factor.

    Hazard ``h(t | F1) = h0(t) exp(beta F1)`` with a Weibull baseline ``h0`` (shape
    :data:`SURVIVAL_SHAPE`, scale such that the median event time at ``F1 = 0`` is
    :data:`SURVIVAL_MEDIAN` years): ``T = scale (E exp(-beta F1))^(1/shape)``, ``E ~ Exp(1)``.
    Censoring is independent of ``T`` given the horizon: administrative at :data:`SURVIVAL_FOLLOW_UP`
    years plus uniform drop-out ``U(0, D)``, with ``D`` solved (:func:`_dropout_horizon`) so that the
    *expected* censored fraction is ``censoring`` (no drop-out when administrative censoring alone
    reaches it: about 22% of samples at ``beta = 1``). Observed time ``min(T, C)``, event ``T <= C``.

    All draws come from ``np.random.default_rng([seed, 1729])``, a generator of their own, so that
    adding a survival outcome changes nothing else of a simulated cohort.

    Parameters
    ----------
    f1 : array-like or pandas.Series
        The outcome factor of each sample.
    beta : float
        Log hazard ratio per unit of ``F1``.
    censoring : float
        The expected censored fraction, in [0, 1) (else ValueError).
    seed : int
        Seed of the survival draws.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``f1`` (when a Series) with ``time`` (float, years, > 0) and ``event`` (bool); its
        ``attrs['dropout_horizon']`` holds ``D``.
    """
    if not 0.0 <= censoring < 1.0:
        raise ValueError("censoring must be a fraction in [0, 1)")
    index = f1.index if isinstance(f1, pd.Series) else None
    f1 = np.asarray(f1, dtype=float)
    rng = np.random.default_rng([seed, 1729])
    scale = SURVIVAL_MEDIAN / np.log(2.0) ** (1.0 / SURVIVAL_SHAPE)
    T = scale * (rng.standard_exponential(len(f1)) * np.exp(-beta * f1)) ** (1.0 / SURVIVAL_SHAPE)
    D = _dropout_horizon(T, censoring, SURVIVAL_FOLLOW_UP)
    u = rng.uniform(size=len(f1))
    C = np.minimum(u * D if np.isfinite(D) else np.inf, SURVIVAL_FOLLOW_UP)
    out = pd.DataFrame({"time": np.minimum(T, C), "event": T <= C}, index=index)
    out.attrs["dropout_horizon"] = D
    return out


def simulate_cohort(
    *,
    n_samples: int = 150,
    n_batches: int = 3,
    n_genes: int = 2000,
    n_proteins: int = 500,
    n_metabolites: int = 200,
    case_fraction: float = 1 / 3,
    set_size: int = 40,
    n_decoys: int = 20,
    protein_missing: float = 0.15,
    batch_strength: float = 1.0,
    qc_every: int = 8,
    seed: int = 0,
    survival: bool = False,
    survival_beta: float = 1.0,
    censoring: float = 0.35,
) -> DemoCohort:
    """Simulate the demo cohort.

    Parameters
    ----------
    n_samples, n_batches, n_genes, n_proteins, n_metabolites
        Sizes. Proteins are a subset of the genes (shared symbols).
    case_fraction
        Fraction of samples with outcome ``case`` (about 1:2 by default).
    set_size, n_decoys
        Size of each planted gene set and number of decoy gene sets.
    protein_missing
        Target fraction of left-censored (intensity-dependent) missing proteomics cells.
    batch_strength
        Multiplier of the per-layer batch shifts (0 disables batch effects).
    qc_every
        A pooled QC injection every ``qc_every`` samples in each metabolomics batch run.
    seed
        Seed of the random generators; the same seed gives identical output.
    survival, survival_beta, censoring
        With ``survival``, the sheet gets a censored time-to-event outcome after ``outcome``:
        ``time`` (follow-up in years, a string with 3 decimals, at least ``'0.001'``) and ``event``
        (``'1'`` event, ``'0'`` censored), empty for QC injections like ``outcome``. Its log hazard
        ratio per SD of ``F1`` is ``survival_beta``; ``censoring`` is the target (expected) censored
        fraction; see :func:`simulate_survival`. Drawn from a generator of their own: everything
        else is identical to ``survival=False``.
    """
    if n_proteins > n_genes:
        raise ValueError("n_proteins must not exceed n_genes (proteins share gene symbols)")
    rng = np.random.default_rng(seed)
    samples = [f"S{i + 1:04d}" for i in range(n_samples)]
    genes = np.array([f"GENE{i + 1:05d}" for i in range(n_genes)])
    metabolites = np.array([f"MET{i + 1:04d}" for i in range(n_metabolites)])
    factor_names = list(FACTORS)
    K = len(factor_names)

    # latent factors and outcome (F1 drives the outcome through a noisy threshold)
    Z = rng.standard_normal((n_samples, K))
    Z = (Z - Z.mean(0)) / Z.std(0)
    liability = Z[:, 0] + 0.6 * rng.standard_normal(n_samples)
    n_cases = int(round(case_fraction * n_samples))
    cases = np.argsort(-liability)[:n_cases]
    outcome = np.full(n_samples, "control", dtype=object)
    outcome[cases] = "case"

    # batches: independent of the outcome, balanced sizes
    batch_idx = rng.permutation(np.arange(n_samples) % n_batches)
    samples_by_batch = [[samples[i] for i in np.flatnonzero(batch_idx == b)] for b in range(n_batches)]

    # gene sets: planted sets on disjoint genes; proteins include most planted genes
    perm = rng.permutation(n_genes)
    planted: dict[str, np.ndarray] = {}
    cursor = 0
    for f, (_layers, _gs) in FACTORS.items():
        planted[f] = genes[perm[cursor : cursor + set_size]]
        cursor += set_size
    protein_planted = np.concatenate(
        [planted[f][: int(0.75 * set_size)] for f, (layers, _) in FACTORS.items() if "protein" in layers]
    )
    others = genes[perm[cursor:]]
    n_extra = n_proteins - len(protein_planted)
    proteins = np.concatenate([protein_planted, rng.choice(others, n_extra, replace=False)])
    proteins = np.array(sorted(proteins))

    gene_sets: dict[str, list[str]] = {}
    truth_rows = []
    for f, (layers, gs) in FACTORS.items():
        gene_sets[gs] = sorted(planted[f].tolist())
        truth_rows.append({"gene_set": gs, "factor": f, "planted": True, "layers": ",".join(layers)})
    for d in range(n_decoys):
        # decoys mix unrelated genes with a few planted ones, as real overlapping collections do
        members = list(rng.choice(others, set_size - 4, replace=False))
        f = factor_names[d % K]
        members += list(rng.choice(planted[f], 4, replace=False))
        name = f"DECOY_{d + 1:02d}"
        gene_sets[name] = sorted(members)
        truth_rows.append({"gene_set": name, "factor": "", "planted": False, "layers": ""})
    gene_set_truth = pd.DataFrame(truth_rows)

    # loadings per layer: planted genes load positively on their factor
    def gene_loadings(feature_names: np.ndarray, layer: str, scale: float) -> np.ndarray:
        W = np.zeros((len(feature_names), K))
        pos = {g: i for i, g in enumerate(feature_names)}
        for k, (f, (layers, _)) in enumerate(FACTORS.items()):
            if layer not in layers:
                continue
            for g in planted[f]:
                if g in pos:
                    W[pos[g], k] = scale * rng.uniform(0.6, 1.2)
        return W

    W_rna = gene_loadings(genes, "rna", 0.7)
    W_prot = gene_loadings(proteins, "protein", 0.9)
    W_met = np.zeros((n_metabolites, K))
    for k, (_f, (layers, _)) in enumerate(FACTORS.items()):
        if "metabolomics" in layers:
            idx = rng.choice(n_metabolites, 25, replace=False)
            W_met[idx, k] = rng.choice([-1, 1], 25) * rng.uniform(0.3, 0.6, 25)

    def batch_shift(n_features: int, sd: float) -> np.ndarray:
        shifts = rng.normal(0, sd * batch_strength, (n_batches, n_features))
        return shifts[batch_idx]

    # RNA-seq counts
    base = rng.normal(4.5, 1.6, n_genes)
    log_mu = base + Z @ W_rna.T + batch_shift(n_genes, 0.45) + rng.normal(0, 0.2, (n_samples, n_genes))
    size = np.exp(rng.normal(0, 0.4, n_samples))[:, None]
    mu = size * np.exp(log_mu)
    dispersion = 0.08
    r = 1.0 / dispersion
    counts = rng.negative_binomial(r, r / (r + mu))
    rna = pd.DataFrame(counts, index=samples, columns=genes)

    # proteomics log2 intensities with left-censored missingness
    pbase = rng.normal(24, 2.0, n_proteins)
    prot = pbase + Z @ W_prot.T + batch_shift(n_proteins, 0.6) + rng.normal(0, 0.35, (n_samples, n_proteins))
    thresh = np.quantile(prot, protein_missing) + rng.normal(0, 0.6, prot.shape)
    prot_missing = prot < thresh
    prot = np.where(prot_missing, np.nan, prot)
    protein = pd.DataFrame(prot, index=samples, columns=proteins)

    # metabolomics: dilution, batch shift, injection-order drift, pooled QCs
    plan = _injection_plan(samples_by_batch, qc_every, rng)
    mbase = rng.normal(11, 1.5, n_metabolites)
    m_shift = rng.normal(0, 0.35 * batch_strength, (n_batches, n_metabolites))
    drift_slope = rng.normal(-0.5, 0.2, n_metabolites)
    drift_curve = rng.normal(0, 0.2, n_metabolites)
    z_of = {s: Z[i] for i, s in enumerate(samples)}
    rows = []
    for rec in plan.itertuples():
        b = int(rec.batch[1:]) - 1
        t = rec._5  # position within the batch run, 0..1
        drift = drift_slope * t + drift_curve * (t - 0.5) ** 2 * 4
        if rec.sample_type == "qc":
            signal = mbase + 0.0
            noise = rng.normal(0, 0.04, n_metabolites)
            dilution = 0.0
        else:
            signal = mbase + W_met @ z_of[rec.sample]
            noise = rng.normal(0, 0.12, n_metabolites)
            dilution = rng.normal(0, 0.25)
        rows.append(np.exp(signal + m_shift[b] + drift + noise + dilution))
    metab = pd.DataFrame(np.vstack(rows), index=plan["sample"].to_numpy(), columns=metabolites)

    # sample sheet: cohort samples first, then QC injections
    outcome_of = dict(zip(samples, outcome))
    sheet = plan.drop(columns="_batch_pos").copy()
    sheet["outcome"] = sheet["sample"].map(outcome_of).fillna("")
    columns = ["sample", "sample_type", "outcome", "batch", "injection_order"]
    survival_params = {}
    if survival:
        surv = simulate_survival(pd.Series(Z[:, 0], index=samples), beta=survival_beta, censoring=censoring, seed=seed)
        times = np.maximum(surv["time"], 0.001).map(lambda t: f"{t:.3f}")
        sheet["time"] = sheet["sample"].map(times).fillna("")
        sheet["event"] = sheet["sample"].map(surv["event"].map({True: "1", False: "0"})).fillna("")
        columns[3:3] = ["time", "event"]
        survival_params = {
            "survival_beta": survival_beta,
            "censoring": censoring,
            "censored_observed": float(1.0 - surv["event"].mean()),
            "dropout_horizon": surv.attrs["dropout_horizon"],
        }
    sheet = sheet[columns]
    sheet["_sort"] = (sheet["sample_type"] == "qc").astype(int)
    sheet = sheet.sort_values(["_sort", "sample"]).drop(columns="_sort").reset_index(drop=True)

    factors = pd.DataFrame(Z, index=pd.Index(samples, name="sample"), columns=factor_names)
    load_rows = []
    for layer, W, names in (("rna", W_rna, genes), ("protein", W_prot, proteins), ("metabolomics", W_met, metabolites)):
        nz = np.argwhere(W != 0)
        for i, k in nz:
            load_rows.append({"layer": layer, "feature": names[i], "factor": factor_names[k], "weight": W[i, k]})
    loadings = pd.DataFrame(load_rows)

    return DemoCohort(
        layers={"rna": rna, "protein": protein, "metabolomics": metab},
        sheet=sheet,
        gene_sets=gene_sets,
        factors=factors,
        loadings=loadings,
        gene_set_truth=gene_set_truth,
        params={
            "n_samples": n_samples,
            "n_batches": n_batches,
            "n_genes": n_genes,
            "n_proteins": n_proteins,
            "n_metabolites": n_metabolites,
            "seed": seed,
            "case_fraction": case_fraction,
            "protein_missing_observed": float(prot_missing.mean()),
            **survival_params,
        },
    )


def protein_groups(
    proteins, *, seed: int = 0, shared_fraction: float = 0.1, isoform_fraction: float = 0.1, other_genes=()
) -> pd.DataFrame:
    """A MaxQuant-style annotation for simulated proteins, to exercise feature-to-gene mapping.

    Every protein (a gene symbol here) becomes a protein group with accession-like IDs. A
    ``shared_fraction`` of the groups also list a second gene (from ``other_genes``, e.g. genes not
    measured as proteins): ``'P00012;Q00012'`` -> ``'GENE00012;GENE01999'`` (one-to-many). An
    ``isoform_fraction`` of the proteins are measured twice, as a second group ``'P00034-2'`` of the
    same gene (many-to-one).

    Parameters
    ----------
    proteins : iterable of str
        The simulated proteins (gene symbols).
    seed : int
        Seed of the random choices.
    shared_fraction : float
        Chance that a group also lists a second gene (only where ``other_genes`` leaves any).
    isoform_fraction : float
        Chance that a protein gets a second, isoform group.
    other_genes : iterable of str
        Candidates for the second gene; proteins among them are left out.

    Returns
    -------
    pandas.DataFrame
        One row per group: feature (group ID), gene (';'-separated, leading gene first) and protein
        (the simulated protein the group measures).
    """
    rng = np.random.default_rng(seed)
    proteins = list(map(str, proteins))
    others = [g for g in map(str, other_genes) if g not in set(proteins)]
    rows = []
    for i, prot in enumerate(proteins):
        acc = f"P{i + 1:05d}"
        genes = [prot]
        if others and rng.random() < shared_fraction:
            acc += f";Q{i + 1:05d}"
            genes.append(others[int(rng.integers(len(others)))])
        rows.append({"feature": acc, "gene": ";".join(genes), "protein": prot})
        if rng.random() < isoform_fraction:
            rows.append({"feature": f"P{i + 1:05d}-2", "gene": prot, "protein": prot})
    return pd.DataFrame(rows)


def simulate_tcga_like(
    *,
    n_samples: int = 1000,
    n_genes: int = 20000,
    n_probes: int = 20000,
    n_mirnas: int = 1000,
    n_proteins: int = 500,
    n_batches: int = 4,
    protein_missing: float = 0.16,
    seed: int = 0,
    survival: bool = False,
    survival_beta: float = 1.0,
    censoring: float = 0.35,
) -> DemoCohort:
    """A cohort shaped like a TCGA project (the scale benchmark's), with no QC injections.

    RNA-seq counts, methylation beta values, miRNA counts and proteomics with missing values, on the
    same latent factors, outcome (case 1:2 control) and batches as :func:`simulate_cohort`.

    Methylation: M-values ``base + Z W + batch shift + noise`` (10% of probes load on F1 or F2,
    negatively: methylation silences), returned as beta ``2^M / (2^M + 1)``. miRNA: negative
    binomial counts whose log-mean loads on F1 and F3 (about 5% of the miRNAs each).

    ``survival``, ``survival_beta``, ``censoring``: a censored time-to-event outcome driven by F1 in the
    sheet's ``time`` and ``event`` columns, as in :func:`simulate_cohort` (nothing else changes).

    Parameters
    ----------
    n_samples, n_genes, n_probes, n_mirnas, n_proteins, n_batches
        Sizes (methylation probes, miRNAs; proteins are a subset of the genes).
    protein_missing
        Target fraction of left-censored missing proteomics cells.
    seed
        Seed of the random generators; the same seed gives identical output.
    survival, survival_beta, censoring
        As in :func:`simulate_cohort`.

    Returns
    -------
    DemoCohort
        Layers ``rna``, ``methylation`` (float32 betas), ``mirna`` and ``protein``; the sheet holds the
        cohort samples only, without ``injection_order``.
    """
    base = simulate_cohort(
        n_samples=n_samples,
        n_batches=n_batches,
        n_genes=n_genes,
        n_proteins=n_proteins,
        n_metabolites=50,
        protein_missing=protein_missing,
        seed=seed,
        survival=survival,
        survival_beta=survival_beta,
        censoring=censoring,
    )
    rng = np.random.default_rng([seed, 1])
    sheet = base.sheet[base.sheet["sample_type"] == "sample"].drop(columns="injection_order").reset_index(drop=True)
    samples = sheet["sample"].to_numpy()
    Z = base.factors.loc[samples].to_numpy()
    batch_idx = pd.factorize(sheet["batch"], sort=True)[0]
    K = Z.shape[1]

    def loadings(n: int, factors: tuple[int, ...], share: float, scale: float, sign: float) -> np.ndarray:
        W = np.zeros((n, K))
        for k in factors:
            idx = rng.choice(n, max(1, int(share * n)), replace=False)
            W[idx, k] = sign * scale * rng.uniform(0.6, 1.2, len(idx))
        return W

    def shifts(n: int, sd: float) -> np.ndarray:
        return rng.normal(0, sd, (n_batches, n))[batch_idx]

    probes = [f"cg{i + 1:08d}" for i in range(n_probes)]
    W_meth = loadings(n_probes, (0, 1), 0.05, 0.8, -1.0)
    M = rng.normal(0, 2.5, n_probes) + Z @ W_meth.T + shifts(n_probes, 0.3) + rng.normal(0, 0.5, (n_samples, n_probes))
    beta = 1.0 / (1.0 + np.exp2(-M))
    mirnas = [f"hsa-mir-{i + 1}" for i in range(n_mirnas)]
    W_mir = loadings(n_mirnas, (0, 2), 0.05, 0.6, 1.0)
    log_mu = (
        rng.normal(5, 2, n_mirnas)
        + Z @ W_mir.T
        + shifts(n_mirnas, 0.4)
        + rng.normal(0, 0.4, n_samples)[:, None]
        + rng.normal(0, 0.2, (n_samples, n_mirnas))
    )
    r = 1.0 / 0.1
    mir = rng.negative_binomial(r, r / (r + np.exp(log_mu)))
    layers = {
        "rna": base.layers["rna"].loc[samples],
        "methylation": pd.DataFrame(beta.astype(np.float32), index=samples, columns=probes),
        "mirna": pd.DataFrame(mir, index=samples, columns=mirnas),
        "protein": base.layers["protein"].loc[samples],
    }
    extra = []
    for layer, W, names in (("methylation", W_meth, probes), ("mirna", W_mir, mirnas)):
        extra += [
            {"layer": layer, "feature": names[i], "factor": base.factors.columns[k], "weight": W[i, k]}
            for i, k in np.argwhere(W != 0)
        ]
    loadings_table = pd.concat(
        [base.loadings[base.loadings["layer"] != "metabolomics"], pd.DataFrame(extra)], ignore_index=True
    )
    params = {**base.params, "n_probes": n_probes, "n_mirnas": n_mirnas, "n_metabolites": 0}
    return DemoCohort(
        layers=layers,
        sheet=sheet,
        gene_sets=base.gene_sets,
        factors=base.factors.loc[samples],
        loadings=loadings_table,
        gene_set_truth=base.gene_set_truth,
        params=params,
    )
