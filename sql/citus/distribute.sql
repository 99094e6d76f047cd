-- Rendered and run by `dom360db migrate` only when the target database has the citus extension: after the
-- versioned files and again at the end of every run. Idempotent: a table already distributed is left alone,
-- so a table a later versioned file adds is distributed by the next migrate.
--
-- The plan:
-- - dom360.tenants is a reference table (a copy on every node): its UNIQUE (slug) stays enforced (a
--   distributed table can only have unique keys that include its distribution column), set_tenant's lookup
--   and the foreign keys to it are local on every node. Writes to it are rare (one per tenant created or
--   changed) and go to every node.
-- - every other table of schema dom360 with a tenant_id column is hash-distributed by tenant_id, all in one
--   colocation group (the first one distributed anchors it): a tenant's rows of every table are on one node,
--   so the composite foreign keys (tenant_id, …), the triggers and the chat path stay on one shard. A
--   partitioned table's partitions (messages' months, its default partition) follow their parent, and the
--   partitions created later are distributed when they are created.
-- - foreign keys are dropped first (sql/citus/drop_foreign_keys.sql, committed before this file) and
--   re-created last: Citus refuses a foreign key between a distributed table and a table that is not (yet)
--   distributed.
-- - before a table is distributed, its tenant_id default current_tenant_id() becomes citus_tenant_id_default()
--   (Citus refuses any ALTER of the distribution column afterwards). Without a tenant, an INSERT leaving
--   tenant_id to its default must be refused as on one server: insufficient_privilege (42501), "no tenant
--   set". On one server the default gives NULL and row-level security refuses the row; on Citus the
--   coordinator evaluates the default first and refuses a NULL distribution value itself ("cannot perform an
--   INSERT with NULL in the partition column", 22004), before any policy. The new default gives the same
--   tenant when one is set (evaluated on the coordinator: the INSERT still goes to one shard), the one "no
--   tenant set" error otherwise. PL/pgSQL, not require_tenant() itself: that SQL function is inlined into
--   COALESCE(current_tenant_id(), raise_no_tenant()), and Citus evaluates each function call of a default on
--   its own, raise_no_tenant() included. A partitioned table's partitions follow their parent.
-- - everything else stays on the coordinator: dom360_meta (the runner's bookkeeping) and the materialized
--   view (refreshed there by a distributed query).
SET LOCAL citus.multi_shard_modify_mode = 'sequential';
-- Copying an existing database's rows into the shards must not fire the triggers again (audit rows, numbering,
-- counters are already there); SET LOCAL reaches the workers (citus.propagate_set_commands = 'local').
SET LOCAL session_replication_role = replica;

CREATE OR REPLACE FUNCTION dom360.citus_tenant_id_default()
    RETURNS pg_catalog.uuid
    LANGUAGE plpgsql
    STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
/* On Citus only: the default of every tenant table's tenant_id (sql/citus/distribute.sql). */
BEGIN
    RETURN dom360.require_tenant();
END
$$;
ALTER FUNCTION dom360.citus_tenant_id_default() OWNER TO {{ owner_role | ident }};
COMMENT ON FUNCTION dom360.citus_tenant_id_default() IS 'On Citus only, the default of tenant_id in every tenant table: the transaction''s tenant, or insufficient_privilege (42501) "no tenant set" (the refusal a single server gives through row-level security; Citus would otherwise refuse a NULL distribution value with another error class).';
REVOKE ALL ON FUNCTION dom360.citus_tenant_id_default() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dom360.citus_tenant_id_default() TO {{ app_role | ident }}, {{ analytics_role | ident }};

-- Tenants a reference table, then every other tenant table in the colocation group (the first
-- one distributed anchors it); then the foreign keys again.
DO $distribute$
DECLARE
    v_rel    pg_catalog.regclass;
    v_anchor pg_catalog.regclass;
    v_ddl    pg_catalog.text;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition
                    WHERE logicalrelid = 'dom360.tenants'::pg_catalog.regclass AND partmethod = 'n' AND repmodel = 't') THEN
        PERFORM pg_catalog.create_reference_table('dom360.tenants');
    END IF;

    SELECT d.logicalrelid INTO v_anchor
      FROM pg_catalog.pg_dist_partition AS d
      JOIN pg_catalog.pg_class AS c ON c.oid = d.logicalrelid
     WHERE d.partmethod = 'h' AND c.relnamespace = 'dom360'::pg_catalog.regnamespace AND NOT c.relispartition
     ORDER BY d.logicalrelid
     LIMIT 1;

    FOR v_rel IN
        SELECT c.oid::pg_catalog.regclass
          FROM pg_catalog.pg_class AS c
         WHERE c.relnamespace = 'dom360'::pg_catalog.regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
           AND c.relname <> 'tenants'
           AND EXISTS (SELECT FROM pg_catalog.pg_attribute AS a
                        WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
           AND NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition AS d WHERE d.logicalrelid = c.oid AND d.partmethod = 'h')
         ORDER BY c.oid
    LOOP
        IF EXISTS (SELECT FROM pg_catalog.pg_attribute AS a
                     JOIN pg_catalog.pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                    WHERE a.attrelid = v_rel AND a.attname = 'tenant_id'
                      AND pg_catalog.pg_get_expr(d.adbin, d.adrelid) IN ('dom360.current_tenant_id()', 'current_tenant_id()')) THEN
            EXECUTE format('ALTER TABLE %s ALTER COLUMN tenant_id SET DEFAULT dom360.citus_tenant_id_default()', v_rel);
        END IF;
        IF v_anchor IS NULL THEN
            PERFORM pg_catalog.create_distributed_table(v_rel, 'tenant_id', colocate_with => 'none');
            v_anchor := v_rel;
        ELSE
            PERFORM pg_catalog.create_distributed_table(v_rel, 'tenant_id', colocate_with => v_anchor::pg_catalog.text);
        END IF;
    END LOOP;

    FOR v_ddl IN SELECT f.ddl FROM dom360_meta.citus_foreign_keys AS f ORDER BY f.n LOOP
        EXECUTE v_ddl;
    END LOOP;
    DELETE FROM dom360_meta.citus_foreign_keys;
END
$distribute$;
