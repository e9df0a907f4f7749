"""Rule simulate_demo: write the simulated demo cohort."""

from moflow import io
from moflow.runtime import settings, setup
from moflow.tasks import simulate_demo


def main(smk):
    log = setup(smk.log[0], smk.threads)
    cohort = simulate_demo(settings(smk))
    io.write_demo_cohort(cohort, dict(smk.output.items()))
    log.info("demo cohort written: %s", cohort.params)


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
