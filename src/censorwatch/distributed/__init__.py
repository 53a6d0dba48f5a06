"""Scale-out batch jobs on Dask distributed: re-analyse OONI raw-layout trees into Parquet."""
