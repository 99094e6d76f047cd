-- The monthly summary restores (issue 10).
--
-- pg_dump writes `REFRESH MATERIALIZED VIEW dom360.mv_tenant_consumption_summary` at the end of every
-- dump, and pg_restore/psql run it with `row_security = off`. A materialized view is refreshed as its
-- owner, the analytics role, which is subject to row-level security; with `row_security = off` a query
-- that a policy would filter raises instead ("query would be affected by row-level security policy"),
-- so every standard restore failed there and left the view unpopulated (and a careful
-- --single-transaction restore restored nothing).
--
-- Decision: the view now reads its rows through dom360.consumption_summary_rows(), a SECURITY INVOKER
-- function with `SET row_security = on`: run by the view's owner (the analytics role) it reads every
-- tenant through that role's analytics_read policies, whatever row_security the session has. Nothing
-- bypasses row-level security (no BYPASSRLS role, no superuser-owned view); the function only refuses
-- to let a session setting turn the policy filter into an error. The view keeps its name, columns,
-- unique index, owner and grants, so dom360db refresh (CONCURRENTLY), maintain and
-- tenant_consumption_summary() are unchanged.
--
-- Lock: the DROP takes an ACCESS EXCLUSIVE lock on the view only (readers of the summary wait for this
-- transaction; no table is locked beyond the read of the counters by the REFRESH below).
SET LOCAL ROLE {{ owner_role | ident }};

CREATE FUNCTION dom360.consumption_summary_rows()
    RETURNS TABLE (tenant_id uuid, month date, messages_count bigint, input_tokens bigint,
                   output_tokens bigint, total_tokens bigint, active_inboxes integer, refreshed_at timestamptz)
    LANGUAGE sql
    STABLE
    SECURITY INVOKER
    SET search_path = pg_catalog, pg_temp
    SET row_security = on
AS $$
    SELECT s.tenant_id,
           pg_catalog.date_trunc('month', s.day)::date AS month,
           sum(s.messages_count)::bigint                AS messages_count,
           sum(s.input_tokens)::bigint                  AS input_tokens,
           sum(s.output_tokens)::bigint                 AS output_tokens,
           sum(s.total_tokens)::bigint                  AS total_tokens,
           count(DISTINCT s.inbox_id)::integer          AS active_inboxes,
           pg_catalog.now()                             AS refreshed_at
      FROM dom360.consumption_inbox_daily_stripes AS s
     GROUP BY 1, 2
$$;

COMMENT ON FUNCTION dom360.consumption_summary_rows() IS 'The rows of mv_tenant_consumption_summary: monthly sums of the consumption counters for every tenant the caller''s policies show. SECURITY INVOKER with row_security = on, so the view''s REFRESH (as the analytics role) also works during a restore, which runs with row_security = off. Only the analytics role may call it.';
REVOKE ALL ON FUNCTION dom360.consumption_summary_rows() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dom360.consumption_summary_rows() TO {{ analytics_role | ident }};

RESET ROLE;
-- Recreated below in this same transaction with the same name, columns, index, owner and grants: no
-- client sees it missing (they wait on its lock for the length of this file).
-- squawk-ignore ban-drop-view
DROP MATERIALIZED VIEW dom360.mv_tenant_consumption_summary;
SET LOCAL ROLE {{ owner_role | ident }};

CREATE MATERIALIZED VIEW dom360.mv_tenant_consumption_summary AS
SELECT r.tenant_id, r.month, r.messages_count, r.input_tokens, r.output_tokens, r.total_tokens,
       r.active_inboxes, r.refreshed_at
  FROM dom360.consumption_summary_rows() AS r
WITH NO DATA;

-- On the view created just above in this transaction (empty, seen by nobody): nothing to block.
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX mv_tenant_consumption_summary_key ON dom360.mv_tenant_consumption_summary (tenant_id, month);

COMMENT ON MATERIALIZED VIEW dom360.mv_tenant_consumption_summary IS 'Monthly consumption per tenant for dashboards and BI; refreshed periodically (dom360db refresh: REFRESH … CONCURRENTLY). No row-level security: the app reads its own rows through dom360.tenant_consumption_summary(). Its rows come from dom360.consumption_summary_rows() (restorable under row_security = off).';

RESET ROLE;
-- Owned by the read-only cross-tenant analytics role, as before (schema/0013): refreshed as its owner.
ALTER MATERIALIZED VIEW dom360.mv_tenant_consumption_summary OWNER TO {{ analytics_role | ident }};
REVOKE ALL ON dom360.mv_tenant_consumption_summary FROM PUBLIC;
GRANT SELECT ON dom360.mv_tenant_consumption_summary TO {{ owner_role | ident }};
-- Populated now (as its owner), so an upgrade keeps the figures it had. The owner reads the counters
-- with the SELECT that policies/consumption_inbox_daily_stripes.sql grants it; on a fresh install that
-- file runs after this one, so the grant is given here too (the same grant: the policy file re-grants
-- from scratch).
GRANT SELECT ON dom360.consumption_inbox_daily_stripes TO {{ analytics_role | ident }};
REFRESH MATERIALIZED VIEW dom360.mv_tenant_consumption_summary;
