"""Benchmarks of dom360 (bench/README.md). `python -m bench.run` is `make bench`'s chat-path benchmark:

- common: names, progress, connections, percentiles, pgbench, and the bench's SQL (bench/sql/*.sql, named queries);
- prepare: the database, the app login, tenants, the twin, the seed's design, the history, the checks;
- scenarios: pgbench runs (wait events, CPU from /proc, WAL, table activity) and their rounds;
- reads: EXPLAIN and auto_explain samples of the reads and of one chat turn;
- report: what a run found, rendered as Markdown;
- run: the command line and the order of it all.
"""
