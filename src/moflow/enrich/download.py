"""Optional download of a gene-set library (network only when config asks for it)."""

from __future__ import annotations

import logging

from moflow.errors import InputError

DOWNLOAD_HOSTS = {"enrichr": "maayanlab.cloud", "msigdb": "data.broadinstitute.org"}


def download_library(
    library: str,
    *,
    source: str = "enrichr",
    organism: str = "human",
    msigdb_version: str = "2023.2.Hs",
    timeout: float = 10.0,
) -> dict[str, list[str]]:
    """Fetch one gene-set library through gseapy (Enrichr library name, or MSigDB category such as ``h.all``).

    The only function of the package that uses the network; the workflow calls it only when config
    ``enrichment: download: enabled`` is true. Fails at once, with the fix, when the server cannot be
    reached.

    Parameters
    ----------
    library : str
        The Enrichr library name or MSigDB category.
    source : str
        ``enrichr`` or ``msigdb`` (:data:`DOWNLOAD_HOSTS`).
    organism : str
        Enrichr's organism.
    msigdb_version : str
        The MSigDB release.
    timeout : float
        Seconds to wait for the connection test.

    Returns
    -------
    dict of str to list of str
        Set name -> genes.
    """
    import socket

    host = DOWNLOAD_HOSTS.get(source)
    if host is None:
        raise InputError(
            f"config enrichment: download: source must be one of {', '.join(DOWNLOAD_HOSTS)}, not '{source}'."
        )
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
    except OSError as exc:
        raise InputError(
            f"cannot reach {host} to download gene-set library '{library}' ({exc}). This machine seems offline. "
            "Download the GMT file elsewhere, copy it here and name it in config enrichment: gene_sets, "
            "or set enrichment: download: enabled: false."
        ) from None
    import gseapy

    logging.getLogger("gseapy").setLevel(logging.ERROR)
    if source == "enrichr":
        sets = gseapy.get_library(name=library, organism=organism)
    else:
        sets = gseapy.Msigdb().get_gmt(category=library, dbver=msigdb_version)
    if not sets:
        lister = "gseapy.get_library_name()" if source == "enrichr" else "gseapy.Msigdb().list_category()"
        raise InputError(f"{source} returned no gene sets for library '{library}'. Check the name ({lister}).")
    return {str(k): [str(g) for g in v] for k, v in sets.items()}
