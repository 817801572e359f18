"""The dlt peer of `npm run bench`: what a user of the Python loading library
dlt would write to load the same objects from the same MinIO into DuckDB.

dlt's filesystem source lists the objects and reads them with its fastest
reader for the format (DuckDB's CSV reader and the Parquet reader handing Arrow
batches over, as dlt's docs recommend for speed; JSON lines through Python,
dlt's only JSON reader); gzip is inflated by fsspec as dlt opens the object.
dlt infers the table's schema itself (it has no DDL to be given), so the
table is not the product's: the row count is what is compared.

Usage (the bench venv's Python, see scripts/setup/dlt.ts):
  python bench/dlt_peer.py '<json job>'
Prints one JSON line: totalMs, rows, peakRssMb.
"""

import json
import os
import resource
import shutil
import sys
import tempfile
import time


def reader(files, fmt):
    from dlt.sources.filesystem import read_csv_duckdb, read_jsonl, read_parquet

    if fmt == "csv":
        return files | read_csv_duckdb(use_pyarrow=True, chunk_size=100_000, header=True)
    if fmt == "ndjson":
        return files | read_jsonl(chunksize=10_000)
    return files | read_parquet(use_pyarrow=True, chunksize=100_000)


def main(job, work):
    os.environ["DLT_DATA_DIR"] = work
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    import dlt
    from dlt.common.configuration.specs import AwsCredentials
    from dlt.sources.filesystem import filesystem

    credentials = AwsCredentials(
        aws_access_key_id=job["accessKey"],
        aws_secret_access_key=job["secretKey"],
        endpoint_url=job["endpoint"],
        region_name="us-east-1",
    )
    started = time.perf_counter()
    files = filesystem(bucket_url=job["bucketUrl"], file_glob=job["glob"], credentials=credentials)
    pipeline = dlt.pipeline(
        pipeline_name="bench",
        pipelines_dir=os.path.join(work, "pipelines"),
        destination=dlt.destinations.duckdb(job["dbPath"]),
        dataset_name="bench",
    )
    pipeline.run(reader(files, job["format"]).with_name("t"))
    total_ms = (time.perf_counter() - started) * 1000
    with pipeline.sql_client() as client:
        rows = client.execute_sql("SELECT count(*) FROM t")[0][0]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"totalMs": total_ms, "rows": rows, "peakRssMb": peak}))


def run_in_temp_dir(job):
    # dlt keeps its pipeline state and load packages under its data dir: a temp one per run, removed after.
    work = tempfile.mkdtemp(prefix="s3c-bench-dlt-")
    try:
        main(job, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    run_in_temp_dir(json.loads(sys.argv[1]))
