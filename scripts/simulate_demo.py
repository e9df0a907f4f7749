"""Rule simulate_demo: write the simulated demo cohort."""

from moflow import io
from moflow.runtime import setup
from moflow.demo import simulate_cohort


def main(smk):
    log = setup(smk.log[0], smk.threads)
    cohort = simulate_cohort(**smk.params.demo)
    io.write_demo_cohort(cohort, dict(smk.output.items()))
    log.info("demo cohort written: %s", cohort.params)


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
