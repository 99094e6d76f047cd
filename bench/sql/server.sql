-- name: settings --
-- The server settings the report lists (nothing is tuned by the benchmark).
SELECT name, setting || coalesce(' ' || unit, '') FROM pg_settings
 WHERE name IN ('server_version', 'shared_buffers', 'work_mem', 'effective_cache_size', 'max_wal_size',
                'checkpoint_timeout', 'synchronous_commit', 'fsync', 'wal_level', 'full_page_writes', 'jit',
                'max_connections', 'autovacuum', 'random_page_cost', 'shared_preload_libraries')
 ORDER BY name

-- name: month --
-- The current UTC month, YYYY-MM (a loaded history is reused only within the month it was loaded in).
SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM')

-- name: partitions --
-- The partitions of dom360.messages with their bounds (NULL bounds: the default partition), oldest first.
SELECT c.relname,
       (regexp_match(pg_get_expr(c.relpartbound, c.oid), $$FROM \('([^']+)'\) TO \('([^']+)'\)$$))[1]::timestamptz,
       (regexp_match(pg_get_expr(c.relpartbound, c.oid), $$FROM \('([^']+)'\) TO \('([^']+)'\)$$))[2]::timestamptz
  FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'dom360.messages'::regclass
 ORDER BY 2 NULLS LAST

-- name: range_partition --
-- A partition part of parent for [lo, hi).
CREATE TABLE {part} PARTITION OF {parent} FOR VALUES FROM ({lo}) TO ({hi})

-- name: default_partition --
-- The default partition part of parent.
CREATE TABLE {part} PARTITION OF {parent} DEFAULT

-- name: waits --
-- State and wait event of the pgbench backends now (sampled every 50 ms during a run).
SELECT a.state || ': ' || coalesce(a.wait_event_type || ':' || a.wait_event, 'on CPU (no wait event)'), count(*)::int
  FROM pg_stat_activity AS a
 WHERE a.datname = current_database() AND a.application_name = 'pgbench' AND a.pid <> pg_backend_pid()
 GROUP BY 1

-- name: table_stats --
-- Inserted, updated and HOT-updated rows so far of the tables a chat turn writes besides the messages.
SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables
 WHERE schemaname = 'dom360' AND relname IN ('conversations', 'consumption_inbox_daily_stripes', 'message_requests')

-- name: wal_and_multixact --
-- The current WAL position in bytes and the next multixact id of the last checkpoint.
SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint,
       (SELECT next_multixact_id::text::bigint FROM pg_control_checkpoint())

-- name: wal_position --
-- The current WAL position in bytes.
SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint

-- name: disk --
-- Bytes on disk: the database, and dom360.messages with its partitions and their indexes.
SELECT pg_database_size(current_database()),
       pg_total_relation_size('dom360.messages')
       + coalesce((SELECT sum(pg_total_relation_size(i.inhrelid)) FROM pg_inherits AS i
                    WHERE i.inhparent = 'dom360.messages'::regclass), 0)
