-- current_tenant_id() with every type name schema-qualified (issue #16). The old body cast with a bare `::uuid`,
-- and the planner inlines this function into every policy and column default, re-parsing its text with the
-- caller's search_path, where the session's temporary schema comes first for type names: an app login that
-- planted a domain pg_temp.uuid ran its own code inside every later transaction of that server connection
-- (docs/security.md). Still LANGUAGE sql, STABLE, no SET clause and SECURITY INVOKER, so it stays inlinable.
SET LOCAL ROLE {{ owner_role | ident }};

CREATE OR REPLACE FUNCTION dom360.current_tenant_id()
    RETURNS pg_catalog.uuid
    LANGUAGE sql
    STABLE
    PARALLEL SAFE
AS $$
    /* NULL when unset or '' (what an ended transaction-scoped setting leaves behind);
       a malformed value raises invalid_text_representation instead of silently matching nothing.
       Every name qualified: this text is parsed again, with the caller's search_path, wherever it is inlined. */
    SELECT NULLIF(pg_catalog.current_setting('app.tenant_id', true), ''::pg_catalog.text)::pg_catalog.uuid
$$;
