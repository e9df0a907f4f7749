"""The cloud profiles' storage, tried without a cloud: the tiny end-to-end cohort runs once locally
and once with every file in an S3 bucket of a local emulator (moto's server), through the same
storage settings the kubernetes and aws-batch profiles use (default-storage-provider s3 and a
default-storage-prefix); every table of the two runs must be identical byte for byte, and the input
summary must name the files as the sheets wrote them (not their local copies under
.snakemake/storage/).

    pip install -e '.[s3]' 'moto[server]'
    python tools/storage/s3_check.py            # about 2 minutes on 2 cores

Jobs run locally (no cloud executor is reachable); what is exercised is the storage plugin:
inputs fetched from the bucket, outputs uploaded to it, nothing read from the working folder but
the sheets Snakemake parses at start-up. Not part of CI (it needs moto).
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUCKET = "moflow-check"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "emulator", "AWS_SECRET_ACCESS_KEY": "emulator", "AWS_DEFAULT_REGION": "us-east-1"}


def say(msg: str) -> None:
    print(f"[s3 check] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tables(root: Path) -> list[str]:
    return sorted(
        str(p.relative_to(root))
        for p in (root / "results").rglob("*")
        if p.is_file() and p.suffix in (".tsv", ".parquet")
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args(argv)
    try:
        import boto3
        import snakemake_storage_plugin_s3  # noqa: F401
    except ImportError as exc:
        say(f"missing {exc.name}: pip install -e '.[s3]' 'moto[server]'")
        return 2
    if shutil.which("moto_server") is None:
        say("moto_server not on PATH: pip install 'moto[server]'")
        return 2

    work = Path(tempfile.mkdtemp(prefix="moflow-s3-check."))
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = {**os.environ, **CREDENTIALS}
    server = subprocess.Popen(
        ["moto_server", "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    ok = False
    try:
        subprocess.run(
            [sys.executable, str(REPO / "tools" / "slurm" / "make_tiny.py"), str(work / "local"), str(work / "bucket")],
            check=True,
        )
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            **{k.lower(): v for k, v in CREDENTIALS.items() if k != "AWS_DEFAULT_REGION"},
            region_name="us-east-1",
        )
        for _ in range(50):  # the server takes a moment to listen
            try:
                s3.create_bucket(Bucket=BUCKET)
                break
            except Exception:
                time.sleep(0.2)
        else:
            say(f"the emulator did not start on {endpoint}")
            return 1
        for p in (work / "bucket").rglob("*"):
            if p.is_file():
                s3.upload_file(str(p), BUCKET, f"run/{p.relative_to(work / 'bucket')}")

        runs = {
            "local": [],
            "bucket": [
                "--default-storage-provider",
                "s3",
                "--default-storage-prefix",
                f"s3://{BUCKET}/run",
                "--storage-s3-endpoint-url",
                endpoint,
                "--storage-s3-region",
                "us-east-1",
                "--storage-s3-access-key",
                "emulator",
                "--storage-s3-secret-key",
                "emulator",
            ],
        }
        for name, extra in runs.items():
            t = time.perf_counter()
            with open(work / f"{name}.log", "w") as log:
                rc = subprocess.run(
                    ["snakemake", "-s", str(REPO / "Snakefile"), "-d", str(work / name), "--cores", "2", *extra],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                ).returncode
            say(f"{name} run: exit {rc} after {time.perf_counter() - t:.0f} s")
            if rc != 0:
                say(f"see {work / (name + '.log')}")
                return 1

        fetched = work / "fetched"
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="run/results/"):
            for obj in page.get("Contents", []):
                rel = obj["Key"][len("run/") :]
                if rel.endswith((".tsv", ".parquet")):
                    (fetched / rel).parent.mkdir(parents=True, exist_ok=True)
                    s3.download_file(BUCKET, obj["Key"], str(fetched / rel))
        local, remote = tables(work / "local"), tables(fetched)
        if local != remote:
            say(
                f"different sets of tables: only local {sorted(set(local) - set(remote))}, "
                f"only in the bucket {sorted(set(remote) - set(local))}"
            )
            return 1
        differ = [r for r in local if not filecmp.cmp(work / "local" / r, fetched / r, shallow=False)]
        if differ:
            say(f"{len(differ)} of {len(local)} tables differ: {differ}")
            return 1
        summary = (fetched / "results" / "inputs" / "summary.tsv").read_text()
        if ".snakemake" in summary:
            say("results/inputs/summary.tsv names local storage copies:\n" + summary)
            return 1
        say(f"local vs bucket: {len(local)} tables identical byte for byte; summary names the sheets' paths")
        ok = True
        return 0
    finally:
        server.terminate()
        server.wait(timeout=10)
        if ok and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            say(f"kept {work}")


if __name__ == "__main__":
    sys.exit(main())
