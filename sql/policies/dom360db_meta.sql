-- The runner's own bookkeeping (schema dom360db_meta: applied_files, run_lock) belongs to the owner role, like
-- everything else the package creates. `migrate` creates it before any file runs, as the migrating login (the
-- owner role may not exist yet), and this file hands it over: a dump then names only roles that
-- `dom360db roles` creates, so it restores into a new cluster whatever login ran migrate (docs/operations.md).
-- The migrating login stays able to use it: a superuser, or a member of the owner role. dom360db_meta.run_lock is
-- handed over by migrate itself once it has released it (this file runs while migrate holds it: dom360db/migrate.py).
-- `dom360db render | psql` has no runner and no dom360db_meta: nothing to hand over then.
DO $meta$
BEGIN
    IF pg_catalog.to_regnamespace('dom360db_meta') IS NOT NULL THEN
        EXECUTE pg_catalog.format('ALTER SCHEMA dom360db_meta OWNER TO %I', {{ owner_role | literal }});
        EXECUTE pg_catalog.format('ALTER TABLE dom360db_meta.applied_files OWNER TO %I', {{ owner_role | literal }});
        REVOKE ALL ON SCHEMA dom360db_meta FROM PUBLIC;
        REVOKE ALL ON dom360db_meta.applied_files FROM PUBLIC;
    END IF;
END
$meta$;
