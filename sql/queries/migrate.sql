-- The runner's own queries (and `dom360db maintain`'s refresh). Each starts with a `-- name: … --` header and a one-line description and is loaded by dom360db.queries.
-- The tracking objects live in their own schema, dom360db_meta, apart from the product's schema.

-- name: meta_schema --
-- The runner's bookkeeping schema.
CREATE SCHEMA IF NOT EXISTS dom360db_meta;

-- name: meta_comment --
-- Document the bookkeeping schema.
COMMENT ON SCHEMA dom360db_meta IS 'dom360db migration runner bookkeeping: which SQL files were applied, when, by whom.';

-- name: meta_table --
-- The table of applied files.
CREATE TABLE IF NOT EXISTS dom360db_meta.applied_files (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         text        NOT NULL CHECK (kind IN ('versioned', 'repeatable')),
    version      integer     CHECK ((kind = 'versioned') = (version IS NOT NULL)),
    path         text        NOT NULL,
    name         text        NOT NULL,
    checksum     text        NOT NULL,
    params       jsonb       NOT NULL DEFAULT '{}',
    applied_by   text        NOT NULL DEFAULT current_user,
    os_user      text,
    applied_at   timestamptz NOT NULL DEFAULT now(),
    duration_ms  numeric(12, 3) NOT NULL,
    tool_version text        NOT NULL
);

-- name: meta_table_comment --
-- Document the table of applied files.
COMMENT ON TABLE dom360db_meta.applied_files IS 'One row per application of a SQL file by `dom360db migrate`. A versioned file appears once; a repeatable file once per change of its rendered text (the latest row is in force).';

-- name: meta_columns_comment --
-- Document the columns of the table of applied files.
DO $$
BEGIN
    COMMENT ON COLUMN dom360db_meta.applied_files.checksum IS 'sha256 of the rendered SQL (after template parameters), hex.';
    COMMENT ON COLUMN dom360db_meta.applied_files.params IS 'The template parameters the file referenced, with the values it was rendered with.';
    COMMENT ON COLUMN dom360db_meta.applied_files.applied_by IS 'Database role that applied the file (current_user).';
    COMMENT ON COLUMN dom360db_meta.applied_files.os_user IS 'Operating-system user that ran dom360db.';
    COMMENT ON COLUMN dom360db_meta.applied_files.duration_ms IS 'Wall time spent applying the file, in milliseconds.';
END $$;

-- name: meta_versioned_unique --
-- A versioned file is applied at most once.
CREATE UNIQUE INDEX IF NOT EXISTS applied_files_version_key
    ON dom360db_meta.applied_files (version) WHERE kind = 'versioned';

-- name: meta_exists --
-- Whether the bookkeeping table exists.
SELECT to_regclass('dom360db_meta.applied_files') IS NOT NULL;

-- name: applied --
-- The last application of every file.
SELECT DISTINCT ON (path) kind, version, path, checksum, applied_at
  FROM dom360db_meta.applied_files
 ORDER BY path, id DESC;

-- name: record --
-- Record one applied file.
INSERT INTO dom360db_meta.applied_files (kind, version, path, name, checksum, params, os_user, duration_ms, tool_version)
VALUES (%(kind)s, %(version)s, %(path)s, %(name)s, %(checksum)s, %(params)s, %(os_user)s, %(duration_ms)s, %(tool_version)s);

-- name: meta_run_lock --
-- The lock of concurrent migrate runs (dom360db/runlock.py): a table only the migrating role has privileges on.
CREATE TABLE IF NOT EXISTS dom360db_meta.run_lock ();

-- name: run_lock_not_owned --
-- Whether the run lock table is still the migrating login's while the owner role exists (hand_over_run_lock).
SELECT to_regrole(%(owner_role)s) IS NOT NULL
   AND (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = 'dom360db_meta.run_lock'::regclass)
       <> to_regrole(%(owner_role)s);

-- name: hand_over_run_lock --
-- The run lock table to the owner role (as policies/dom360db_meta.sql does for the rest of dom360db_meta), so that
-- a dump names only roles `dom360db roles` creates; run by migrate after releasing it (under file_lock_timeout).
ALTER TABLE dom360db_meta.run_lock OWNER TO {owner};

-- name: file_lock_timeout --
-- lock_timeout for the current file's transaction.
SELECT set_config('lock_timeout', %(ms)s || 'ms', true);

-- name: session_lock_timeout --
-- lock_timeout for the whole session (autocommit files).
SELECT set_config('lock_timeout', %(ms)s || 'ms', false);

-- name: meta_run_lock_comment --
-- Document the run lock table.
COMMENT ON TABLE dom360db_meta.run_lock IS 'No rows: `dom360db migrate` holds LOCK TABLE … IN EXCLUSIVE MODE on it while it runs, so runs are serialized by a lock no other role (the app''s login included) has the privileges to take.';

-- name: run_lock_holder --
-- Who holds the run lock, for the message of a waiting runner.
SELECT a.pid, coalesce(a.usename::text, '?'), coalesce(a.application_name, ''), now() - a.backend_start AS held_for
  FROM pg_locks l JOIN pg_stat_activity a USING (pid)
 WHERE l.locktype = 'relation' AND l.granted AND l.relation = to_regclass(%(table)s)
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
 ORDER BY a.backend_start
 LIMIT 1;

-- name: no_idle_timeout --
-- The runner's own transaction may idle while it waits.
SET idle_in_transaction_session_timeout = 0;

-- name: reset_session --
-- Forget every session setting a file made.
DISCARD ALL;

-- name: reset_role --
-- Back to the connecting role before recording a file.
RESET ROLE;

-- name: ensure_partitions --
-- Create the monthly partitions ahead, once the function exists.
SELECT CASE WHEN to_regprocedure('dom360.ensure_message_partitions(integer)') IS NULL THEN NULL
            ELSE dom360.ensure_message_partitions(%(months_ahead)s::int) END;

-- name: refresh_summary --
-- Refresh the consumption summary materialized view.
-- CONCURRENTLY (readers never wait) once populated; an unpopulated view (CONCURRENTLY refuses it) is
-- populated with a plain REFRESH.
DO $refresh$
BEGIN
    IF (SELECT c.relispopulated FROM pg_catalog.pg_class c WHERE c.oid = 'dom360.mv_tenant_consumption_summary'::regclass) THEN
        REFRESH MATERIALIZED VIEW CONCURRENTLY dom360.mv_tenant_consumption_summary;
    ELSE
        REFRESH MATERIALIZED VIEW dom360.mv_tenant_consumption_summary;
    END IF;
END
$refresh$;

-- name: has_secure_database --
-- Whether the files that define it are applied (a run of the first files only has not: the call would not parse).
SELECT to_regprocedure('dom360.secure_database()') IS NOT NULL;

-- name: secure_database --
-- Database privileges are not copied by CREATE DATABASE … TEMPLATE or pg_restore: re-applied on every run.
SELECT dom360.secure_database();
