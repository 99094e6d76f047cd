-- current_tenant_id() lives in a versioned file, not in functions/, because every tenant table's
-- tenant_id column defaults to it: it must exist before the first table. Change it with a new
-- versioned file (CREATE OR REPLACE).
SET LOCAL ROLE {{ owner_role | ident }};

CREATE FUNCTION dom360.current_tenant_id()
    RETURNS uuid
    LANGUAGE sql
    STABLE
    PARALLEL SAFE
AS $$
    /* NULL when unset or '' (what an ended transaction-scoped setting leaves behind);
       a malformed value raises invalid_text_representation instead of silently matching nothing. */
    SELECT NULLIF(pg_catalog.current_setting('app.tenant_id', true), '')::uuid
$$;

COMMENT ON FUNCTION dom360.current_tenant_id() IS 'The tenant of the current transaction (setting app.tenant_id), NULL when none is set; raises on a malformed value. Row-level security compares every tenant row with it.';

REVOKE ALL ON FUNCTION dom360.current_tenant_id() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dom360.current_tenant_id() TO {{ app_role | ident }}, {{ analytics_role | ident }};
