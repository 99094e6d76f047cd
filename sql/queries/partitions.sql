-- Queries of `dom360db partitions` and `dom360db maintain` (dom360db/partitions.py).

-- name: tables --
-- The dom360 tables partitioned by month (range on one timestamptz column), with their default partition.
SELECT c.oid::regclass::text AS parent, nullif(pt.partdefid, 0)::regclass::text AS default_partition
  FROM pg_partitioned_table pt
  JOIN pg_class c ON c.oid = pt.partrelid
  JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
 WHERE c.relnamespace = 'dom360'::regnamespace AND pt.partstrat = 'r' AND pt.partnatts = 1
   AND a.atttypid = 'timestamptz'::regtype
 ORDER BY c.relname;

-- name: list --
-- Every partition of a partitioned table, with its range and estimated rows.
-- Every partition of those tables: its range (NULL bounds for the default), estimated rows (NULL when never
-- analysed), total size with indexes, and whether a DETACH … CONCURRENTLY was interrupted.
SELECT i.inhparent::regclass::text AS parent,
       p.oid::regclass::text AS partition,
       b.range_from, b.range_to,
       pg_get_expr(p.relpartbound, p.oid) = 'DEFAULT' AS is_default,
       CASE WHEN p.reltuples >= 0 THEN p.reltuples::bigint END AS estimated_rows,
       pg_total_relation_size(p.oid) AS total_bytes,
       i.inhdetachpending AS detach_pending
  FROM pg_inherits i
  JOIN pg_class p ON p.oid = i.inhrelid
  CROSS JOIN LATERAL (
      SELECT m[1]::timestamptz AS range_from, m[2]::timestamptz AS range_to
        FROM (SELECT regexp_match(pg_get_expr(p.relpartbound, p.oid), 'FROM \(''([^'']+)''\) TO \(''([^'']+)''\)') AS m) AS x
  ) AS b
 WHERE i.inhparent = %(parent)s::regclass
 ORDER BY b.range_from NULLS LAST;

-- name: missing_months --
-- The months ahead that have no partition yet.
SELECT m FROM dom360.missing_month_partitions(%(parent)s::regclass, %(months_ahead)s) AS m;

-- name: lock_timeout --
-- lock_timeout for the current transaction.
SELECT set_config('lock_timeout', %(ms)s || 'ms', true);

-- name: create_month --
-- Create one month's partition.
SELECT dom360.create_month_partition(%(parent)s::regclass, %(month)s::date);

-- name: month_ddl --
-- The DDL that would create one month's partition.
SELECT dom360.month_partition_ddl(%(parent)s::regclass, %(month)s::date);

-- name: expired --
-- Partitions older than the retention window.
-- Partitions whose whole range ends before the start of the month `keep_months` months before the current
-- (UTC) one: with keep_months = 12 in December 2026, 2025-12 and later are kept.
SELECT p.partition
  FROM (SELECT i.inhrelid::regclass::text AS partition,
               (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz AS range_to
          FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = %(parent)s::regclass) AS p
 WHERE p.range_to <= (date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => %(keep_months)s)) AT TIME ZONE 'UTC'
 ORDER BY p.range_to;

-- name: detach_pending --
-- Partitions whose concurrent detach was interrupted.
SELECT i.inhrelid::regclass::text FROM pg_inherits i WHERE i.inhparent = %(parent)s::regclass AND i.inhdetachpending;

-- name: default_rows --
-- Rows waiting in default partitions.
SELECT partition::text, row_count, oldest, newest FROM dom360.default_partition_rows();
