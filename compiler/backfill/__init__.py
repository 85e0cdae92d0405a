"""`accoil-map backfill`: a mapping's generated module over many files, on Dask.

The same transform as `run` (`accoil_map.runner.process_lines`), one task per
input file, or per part of a splittable one, on an embedded local cluster or
on an existing one. Each stage is a module of its own:

- `extra`: the optional dependencies, with a clear message when missing;
- `inputs`: files, folders, globs and fsspec URLs -> `Source`s, in order;
- `formats`: a file's container (plain, gzip, zstd, zip, Parquet) and shape
  (as exported, or PostHog's batch export), from its name and first bytes;
- `reading`: the numbered lines of a source or of one of its parts;
- `adapters`: input shapes that differ from what a mapping reads;
- `outputs`: atomic, deterministic output files (temp + rename);
- `accoil_import`: Accoil's bulk-import CSV files;
- `task`: what a Dask worker runs: a source or a part to output files;
- `manifest`: the JSON-lines record of every input done, for resuming;
- `driver`: the cluster, the tasks, retries, the manifest;
- `progress`: what a person sees while it runs, and the summary;
- `command`: the `backfill` subcommand's options.

Nothing here imports Dask until a backfill starts: `accoil-map run` never pays for it.
"""
