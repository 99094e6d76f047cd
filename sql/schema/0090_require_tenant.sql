-- One error contract for "no tenant set": every app-facing function starts with dom360.require_tenant(),
-- which returns the transaction's tenant or raises insufficient_privilege (42501) with one message, the
-- same for every function. A versioned file (as current_tenant_id), because the repeatable functions
-- call it and are applied after the versioned files; change it with a new versioned file.
SET LOCAL ROLE {{ owner_role | ident }};

CREATE FUNCTION dom360.raise_no_tenant()
    RETURNS pg_catalog.uuid
    LANGUAGE plpgsql
    STABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
/* Raises the one "no tenant set" error; never returns. Called by require_tenant() only when no tenant is
   set (COALESCE evaluates it only then). STABLE so that require_tenant() stays inlinable. */
BEGIN
    RAISE EXCEPTION 'dom360: no tenant set: call dom360.set_tenant() first in this transaction'
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'BEGIN; SELECT dom360.set_tenant($1); ...; COMMIT (the tenant is transaction-scoped)';
END
$$;

CREATE FUNCTION dom360.require_tenant()
    RETURNS pg_catalog.uuid
    LANGUAGE sql
    STABLE
    PARALLEL SAFE
AS $$
    /* A SQL function without SET or SECURITY DEFINER so that PostgreSQL inlines it: in a PL/pgSQL
       assignment it is a simple expression (no executor run, no function call beyond the two below).
       Every name is qualified: it runs with the caller's search_path. */
    SELECT COALESCE(dom360.current_tenant_id(), dom360.raise_no_tenant())
$$;

COMMENT ON FUNCTION dom360.raise_no_tenant() IS 'Raises insufficient_privilege (42501) "dom360: no tenant set: call dom360.set_tenant() first in this transaction"; used by require_tenant().';
COMMENT ON FUNCTION dom360.require_tenant() IS 'The tenant of the current transaction; raises insufficient_privilege (42501) with one message when none is set. Every app-facing function starts with it (fail closed, one error contract).';

REVOKE ALL ON FUNCTION dom360.raise_no_tenant() FROM PUBLIC;
REVOKE ALL ON FUNCTION dom360.require_tenant() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dom360.raise_no_tenant() TO {{ app_role | ident }}, {{ analytics_role | ident }};
GRANT EXECUTE ON FUNCTION dom360.require_tenant() TO {{ app_role | ident }}, {{ analytics_role | ident }};
