"""Rule enrich_download: fetch one gene-set library (only when config turns network use on)."""

from moflow import io
from moflow.runtime import settings, setup
from moflow.tasks import enrich_download


def main(smk):
    setup(smk.log[0], smk.threads)
    out = enrich_download(smk.wildcards.library, smk.output.gmt, settings(smk))
    io.write_gmt(out["gmt"], smk.output.gmt)


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
