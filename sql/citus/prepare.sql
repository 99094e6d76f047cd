-- Rendered and run by `dom360db migrate` only when the target database has the citus extension, before any
-- file of sql/schema, sql/functions or sql/policies, as a superuser (dom360db/citus.py checks it first).
-- Idempotent.
--
-- 1. Citus opens its connections to the workers as the current user: inside `SET ROLE` and inside a
--    SECURITY DEFINER function that is the role itself. The package's roles must therefore be able to log
--    in (to the workers; restrict where from with pg_hba.conf, see docs/citus.md). They are created here
--    with LOGIN (schema/0001_roles.sql keeps any role it finds as it is, apart from the dangerous attributes
--    it removes), and made distributed objects of this database: Citus otherwise creates them on the workers
--    lazily, the first time an object they own is created, and then as the non-superuser role that owns it,
--    which fails (`must be superuser to alter superuser roles`). Owning a throw-away PL/pgSQL function once
--    does it as the superuser, and distributes the plpgsql extension too.
DO $roles$
DECLARE
    v_role pg_catalog.text;
BEGIN
    FOREACH v_role IN ARRAY ARRAY[{{ owner_role | literal }}, {{ app_role | literal }}, {{ analytics_role | literal }}] LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = v_role) THEN
            EXECUTE format('CREATE ROLE %I LOGIN', v_role);
        ELSIF NOT (SELECT rolcanlogin FROM pg_catalog.pg_roles WHERE rolname = v_role) THEN
            EXECUTE format('ALTER ROLE %I LOGIN', v_role);
        END IF;
    END LOOP;
    CREATE SCHEMA IF NOT EXISTS dom360_meta;
    CREATE FUNCTION dom360_meta.citus_distribute_roles() RETURNS void LANGUAGE plpgsql AS 'BEGIN END';
    FOREACH v_role IN ARRAY ARRAY[{{ owner_role | literal }}, {{ app_role | literal }}, {{ analytics_role | literal }}] LOOP
        EXECUTE format('ALTER FUNCTION dom360_meta.citus_distribute_roles() OWNER TO %I', v_role);
    END LOOP;
    DROP FUNCTION dom360_meta.citus_distribute_roles();
END
$roles$;

-- 2. The settings the schema relies on, for every session of this database (Citus reads both on the
--    coordinator): triggers on distributed tables (the audit trail, the message numbering and counters
--    fire on the shards), and `SET LOCAL` propagated to the workers (set_tenant's app.tenant_id, which the
--    shards' row-level security reads).
DO $settings$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET citus.enable_unsafe_triggers = on', pg_catalog.current_database());
    EXECUTE format('ALTER DATABASE %I SET citus.propagate_set_commands = %L', pg_catalog.current_database(), 'local');
END
$settings$;
