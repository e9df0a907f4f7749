"""Rule enrich_download: fetch one gene-set library (only when config turns network use on)."""

from moflow import io
from moflow.enrich import download_library
from moflow.errors import InputError
from moflow.runtime import setup


def main(smk):
    log = setup(smk.log[0], smk.threads)
    dl = smk.params.download
    library = smk.wildcards.library
    if not dl["enabled"]:
        raise InputError(
            f"gene-set library '{library}' ({smk.output.gmt}) is not here and network use is off "
            "(config enrichment: download: enabled: false). Copy the GMT file to that path, or turn downloads on "
            f"and list '{library}' under enrichment: download: libraries."
        )
    if library not in dl["libraries"]:
        raise InputError(f"gene-set library '{library}' is not listed in config enrichment: download: libraries "
                         f"({', '.join(dl['libraries']) or 'empty'}); nothing is downloaded unless listed there.")
    sets = download_library(library, source=dl["source"], organism=dl["organism"],
                            msigdb_version=dl["msigdb_version"])
    io.write_gmt(sets, smk.output.gmt)
    log.info("downloaded %s from %s: %d sets", library, dl["source"], len(sets))


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
