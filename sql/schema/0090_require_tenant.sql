-- One error contract for "no tenant set": every app-facing function fails closed through these two, with
-- insufficient_privilege (42501) and one message, the same for every function:
-- - PL/pgSQL functions that already hold the tenant in a variable test it and call raise_no_tenant()
--   (`IF v_tenant IS NULL THEN PERFORM dom360.raise_no_tenant(); END IF;`): the test they had, so the chat path
--   costs what it did (an extra assignment `v_tenant := dom360.require_tenant()` measured +10k instructions per
--   chat turn under callgrind: a PL/pgSQL statement more per call);
-- - the others (SQL functions, a first statement of their own) call require_tenant().
-- A versioned file (as current_tenant_id), because the repeatable functions call them and are applied after the
-- versioned files; change them with a new versioned file.
SET LOCAL ROLE {{ owner_role | ident }};

CREATE FUNCTION dom360.raise_no_tenant()
    RETURNS pg_catalog.uuid
    LANGUAGE plpgsql
    STABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
/* Raises the one "no tenant set" error; never returns. Called when no tenant is set: by require_tenant()
   (COALESCE evaluates it only then) and by the PL/pgSQL functions' own test. STABLE so that require_tenant()
   stays inlinable. */
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

COMMENT ON FUNCTION dom360.raise_no_tenant() IS 'Raises insufficient_privilege (42501) "dom360: no tenant set: call dom360.set_tenant() first in this transaction"; used by require_tenant() and by every app-facing PL/pgSQL function when its tenant variable is NULL.';
COMMENT ON FUNCTION dom360.require_tenant() IS 'The tenant of the current transaction; raises insufficient_privilege (42501) with one message when none is set. The app-facing SQL functions start with it (fail closed, one error contract).';

REVOKE ALL ON FUNCTION dom360.raise_no_tenant() FROM PUBLIC;
REVOKE ALL ON FUNCTION dom360.require_tenant() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dom360.raise_no_tenant() TO {{ app_role | ident }}, {{ analytics_role | ident }};
GRANT EXECUTE ON FUNCTION dom360.require_tenant() TO {{ app_role | ident }}, {{ analytics_role | ident }};
