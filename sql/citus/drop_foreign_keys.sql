-- Rendered and run by `dom360db migrate` only where the target has Citus, in its own transaction, just before
-- sql/citus/distribute.sql (dom360db/citus.py).
CREATE TABLE IF NOT EXISTS dom360_meta.citus_foreign_keys (
    n   bigserial PRIMARY KEY,
    ddl pg_catalog.text NOT NULL
);
COMMENT ON TABLE dom360_meta.citus_foreign_keys IS 'Foreign keys of schema dom360 dropped by migrate to distribute the tenant tables on Citus, re-created (and deleted from here) by the next step; empty between runs.';

-- When a tenant table is still to distribute, drop the foreign keys of schema dom360, keeping
-- their definitions in dom360_meta.citus_foreign_keys (sql/citus/distribute.sql re-creates them and empties it).
-- A transaction of its own: Citus turns a "Citus local table" (a table a later versioned file created with a
-- foreign key to the reference table tenants) back into a plain table only once the drop of that foreign key
-- is committed, and only a plain table can be distributed. Kept in a table, not in memory, so that a run that
-- stops between the two re-creates them the next time.
DO $drop_fks$
DECLARE
    v_fk record;
BEGIN
    IF NOT EXISTS (
        SELECT FROM pg_catalog.pg_class AS c
         WHERE c.relnamespace = 'dom360'::pg_catalog.regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
           AND NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition AS d
                            WHERE d.logicalrelid = c.oid
                              AND CASE WHEN c.relname = 'tenants' THEN d.partmethod = 'n' AND d.repmodel = 't'
                                       ELSE d.partmethod = 'h' END)
           AND (c.relname = 'tenants' OR EXISTS (SELECT FROM pg_catalog.pg_attribute AS a
                                                  WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped))
    ) THEN
        RETURN;  -- nothing to distribute
    END IF;
    FOR v_fk IN
        SELECT k.conrelid::pg_catalog.regclass AS rel, k.conname, pg_catalog.pg_get_constraintdef(k.oid) AS def
          FROM pg_catalog.pg_constraint AS k
          JOIN pg_catalog.pg_class AS c ON c.oid = k.conrelid
         WHERE k.contype = 'f' AND c.relnamespace = 'dom360'::pg_catalog.regnamespace AND NOT c.relispartition
           AND k.conparentid = 0
         ORDER BY 1, 2
    LOOP
        INSERT INTO dom360_meta.citus_foreign_keys (ddl)
        VALUES (format('ALTER TABLE %s ADD CONSTRAINT %I %s', v_fk.rel, v_fk.conname, v_fk.def));
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', v_fk.rel, v_fk.conname);
    END LOOP;
END
$drop_fks$;

