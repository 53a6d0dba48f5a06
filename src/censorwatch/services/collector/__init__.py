"""The collector: probes open a report, submit measurements, close it (ooni/spec bk-003).

Each accepted measurement is fsync'd to an append-only spool before the reply, scrubbed of the
submitter's address, and stored (analysed) in the DuckDB store by a single writer thread.

Import names from their modules (`app`, `engine`, `server`, `limits`): this package re-exports
nothing, so that importing `limits` for an option default does not load the web server (FastAPI,
uvicorn), which took a third of every `censorwatch` command's start-up.
"""
