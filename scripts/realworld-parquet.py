"""Writes the derived Parquet files of the real-world corpus (issue #17).

Run by scripts/realworld-corpus.ts with a pinned pyarrow on PYTHONPATH; reads
a JSON list of jobs on stdin, one per derived file:

  {"input": PATH, "reader": "orc"|"csv"|"json", "output": PATH,
   "transform": {...}, "write": {...}}

transform (all optional, applied in this order):
  "select": [column, ...]          keep these columns, in this order
  "cast": {column: TYPE, ...}      TYPE is a pyarrow alias ("float16", "uint64",
                                   "large_string", "date32", "time64[us]", ...),
                                   "decimal128(P,S)", "decimal256(P,S)",
                                   "timestamp[UNIT,tz=ZONE]" or "dictionary"
  "null_column": NAME              append a column of Arrow type null
  "rename": [name, ...]            new names for all columns (duplicates allowed)
write:
  keyword arguments of pyarrow.parquet.write_table, plus
  "batches": N                     write through ParquetWriter in N row groups
                                   with an empty row group between the first two

The output depends only on the input bytes, the job and the pyarrow version,
so its sha256 is stable and is checked against the manifest.
"""
import json
import re
import sys

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.orc as paorc
import pyarrow.parquet as pq


def parse_type(spec):
    m = re.fullmatch(r"decimal(128|256)\((\d+),\s*(\d+)\)", spec)
    if m:
        ctor = pa.decimal128 if m.group(1) == "128" else pa.decimal256
        return ctor(int(m.group(2)), int(m.group(3)))
    m = re.fullmatch(r"timestamp\[(s|ms|us|ns),\s*tz=([^\]]+)\]", spec)
    if m:
        return pa.timestamp(m.group(1), tz=m.group(2))
    return pa.type_for_alias(spec)


def read(job):
    path, reader = job["input"], job["reader"]
    if reader == "orc":
        return paorc.read_table(path)
    if reader == "csv":
        return pacsv.read_csv(path)
    if reader == "json":
        return pajson.read_json(path)
    raise ValueError(f"unknown reader {reader!r}")


def transform(table, spec):
    if "select" in spec:
        table = table.select(spec["select"])
    for name, type_spec in spec.get("cast", {}).items():
        i = table.schema.get_field_index(name)
        col = table.column(i)
        col = col.dictionary_encode() if type_spec == "dictionary" else col.cast(parse_type(type_spec))
        table = table.set_column(i, name, col)
    if "null_column" in spec:
        table = table.append_column(spec["null_column"], pa.nulls(table.num_rows))
    if "rename" in spec:
        table = table.rename_columns(spec["rename"])
    return table


def write(table, path, options):
    options = dict(options)
    batches = options.pop("batches", None)
    if batches is None:
        pq.write_table(table, path, **options)
        return
    step = -(-table.num_rows // batches)
    with pq.ParquetWriter(path, table.schema, **options) as writer:
        for k in range(batches):
            writer.write_table(table.slice(k * step, step))
            if k == 0:
                writer.write_table(table.slice(0, 0))


def main():
    jobs = json.load(sys.stdin)
    for job in jobs:
        table = transform(read(job), job.get("transform", {}))
        write(table, job["output"], job.get("write", {}))
        print(f"{job['output']}: {table.num_rows} rows", file=sys.stderr)


if __name__ == "__main__":
    main()
