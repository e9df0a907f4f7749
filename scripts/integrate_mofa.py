"""Rule integrate_mofa: MOFA fit on the training samples; factors (external test samples projected),
weights, variance explained, associations with every covariate, stability across seeds."""

import pandas as pd

from moflow import io
from moflow.integrate import observed_rows
from moflow.mofa import factor_associations, stability
from moflow.pipeline import build_mofa, covariate_table, load_integration_inputs
from moflow.runtime import setup


def main(smk):
    log = setup(smk.log[0], smk.threads)
    d = load_integration_inputs(smk.input.samples, smk.input.omics, smk.input.matrices, smk.params)
    config, sheet, omics, y, layers, train = d
    fit_layers = {n: X.loc[train].loc[observed_rows(X.loc[train])] for n, X in layers.items()}
    mofa = build_mofa(omics, config, sheet=sheet).fit(fit_layers)
    mofa.save(smk.output.model)
    if mofa.groups is not None:
        log.info("MOFA groups from column '%s': %s", config["integration"]["mofa"]["groups"],
                 mofa.groups.reindex(train).value_counts().to_dict())
    factors = mofa.Z_train_.reindex(train)
    others = [s for s in y.index if s not in set(train)]
    if others:  # external test samples: projected onto the trained model, never fitted
        factors = pd.concat([factors, mofa.transform({n: X.loc[others] for n, X in layers.items()})])
    factors = factors.rename_axis("sample")
    io.write_table(factors.reset_index(), smk.output.factors)
    io.write_table(mofa.weights(), smk.output.weights)
    io.write_table(mofa.r2_, smk.output.variance)
    assoc = factor_associations(factors.loc[train], covariate_table(sheet, config, train))
    io.write_table(assoc, smk.output.associations)
    n_seeds = int(smk.params.integration["mofa"].get("stability_seeds", 0))
    base = int(smk.params.seed)
    runs = {base + k: build_mofa(omics, config, seed=base + k, sheet=sheet).fit(fit_layers).Z_train_ for k in range(1, n_seeds + 1)}
    stab = stability(mofa.Z_train_, runs)
    io.write_table(stab, smk.output.stability)
    log.info("MOFA: %d factors on %d training samples\n%s\nstability:\n%s", mofa.K_, len(train),
             assoc.sort_values("p").head(10).to_string(index=False),
             stab.groupby("factor")["abs_r"].mean().to_string() if len(stab) else "no extra seeds")


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
