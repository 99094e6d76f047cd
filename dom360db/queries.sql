-- The runner's own queries. Each starts with a `-- name --` header and is loaded by dom360db.queries.
-- The tracking objects live in their own schema, dom360db_meta, apart from the product's schema.

-- meta_schema --
CREATE SCHEMA IF NOT EXISTS dom360db_meta;

-- meta_comment --
COMMENT ON SCHEMA dom360db_meta IS 'dom360db migration runner bookkeeping: which SQL files were applied, when, by whom.';

-- meta_table --
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

-- meta_table_comment --
COMMENT ON TABLE dom360db_meta.applied_files IS 'One row per application of a SQL file by `dom360db migrate`. A versioned file appears once; a repeatable file once per change of its rendered text (the latest row is in force).';

-- meta_columns_comment --
DO $$
BEGIN
    COMMENT ON COLUMN dom360db_meta.applied_files.checksum IS 'sha256 of the rendered SQL (after template parameters), hex.';
    COMMENT ON COLUMN dom360db_meta.applied_files.params IS 'The template parameters the file referenced, with the values it was rendered with.';
    COMMENT ON COLUMN dom360db_meta.applied_files.applied_by IS 'Database role that applied the file (current_user).';
    COMMENT ON COLUMN dom360db_meta.applied_files.os_user IS 'Operating-system user that ran dom360db.';
    COMMENT ON COLUMN dom360db_meta.applied_files.duration_ms IS 'Wall time spent applying the file, in milliseconds.';
END $$;

-- meta_versioned_unique --
CREATE UNIQUE INDEX IF NOT EXISTS applied_files_version_key
    ON dom360db_meta.applied_files (version) WHERE kind = 'versioned';

-- meta_exists --
SELECT to_regclass('dom360db_meta.applied_files') IS NOT NULL;

-- applied --
SELECT DISTINCT ON (path) kind, version, path, checksum, applied_at
  FROM dom360db_meta.applied_files
 ORDER BY path, id DESC;

-- record --
INSERT INTO dom360db_meta.applied_files (kind, version, path, name, checksum, params, os_user, duration_ms, tool_version)
VALUES (%(kind)s, %(version)s, %(path)s, %(name)s, %(checksum)s, %(params)s, %(os_user)s, %(duration_ms)s, %(tool_version)s);

-- meta_run_lock --
-- The lock of concurrent migrate runs (dom360db/runlock.py): a table only the migrating role has privileges on.
CREATE TABLE IF NOT EXISTS dom360db_meta.run_lock ();

-- file_lock_timeout --
SELECT set_config('lock_timeout', %(ms)s || 'ms', true);

-- session_lock_timeout --
SELECT set_config('lock_timeout', %(ms)s || 'ms', false);

-- meta_run_lock_comment --
COMMENT ON TABLE dom360db_meta.run_lock IS 'No rows: `dom360db migrate` holds LOCK TABLE … IN EXCLUSIVE MODE on it while it runs, so runs are serialized by a lock no other role (the app''s login included) has the privileges to take.';

-- run_lock_holder --
SELECT a.pid, coalesce(a.usename::text, '?'), coalesce(a.application_name, ''), now() - a.backend_start AS held_for
  FROM pg_locks l JOIN pg_stat_activity a USING (pid)
 WHERE l.locktype = 'relation' AND l.granted AND l.relation = to_regclass(%(table)s)
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
 ORDER BY a.backend_start
 LIMIT 1;

-- no_idle_timeout --
SET idle_in_transaction_session_timeout = 0;

-- reset_session --
DISCARD ALL;

-- reset_role --
RESET ROLE;

-- ensure_partitions --
SELECT CASE WHEN to_regprocedure('dom360.ensure_message_partitions(integer)') IS NULL THEN NULL
            ELSE dom360.ensure_message_partitions(%(months_ahead)s::int) END;

-- refresh_summary --
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

-- has_secure_database --
-- Whether the files that define it are applied (a run of the first files only has not: the call would not parse).
SELECT to_regprocedure('dom360.secure_database()') IS NOT NULL;

-- secure_database --
-- Database privileges are not copied by CREATE DATABASE … TEMPLATE or pg_restore: re-applied on every run.
SELECT dom360.secure_database();
