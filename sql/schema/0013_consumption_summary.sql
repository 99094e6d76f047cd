SET LOCAL ROLE {{ owner_role | ident }};

CREATE MATERIALIZED VIEW dom360.mv_tenant_consumption_summary AS
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
WITH DATA;

CREATE UNIQUE INDEX mv_tenant_consumption_summary_key ON dom360.mv_tenant_consumption_summary (tenant_id, month);

COMMENT ON MATERIALIZED VIEW dom360.mv_tenant_consumption_summary IS 'Monthly consumption per tenant for dashboards and BI; refreshed periodically (dom360db refresh: REFRESH … CONCURRENTLY). No row-level security: the app reads its own rows through dom360.tenant_consumption_summary().';

RESET ROLE;
-- A materialized view is refreshed as its owner, and row-level security is forced on the owner role:
-- refreshed as the owner it would see no tenant. Its owner is the read-only cross-tenant analytics role,
-- whose policy reads every tenant. (That role may refresh it; it cannot write any table.)
ALTER MATERIALIZED VIEW dom360.mv_tenant_consumption_summary OWNER TO {{ analytics_role | ident }};
REVOKE ALL ON dom360.mv_tenant_consumption_summary FROM PUBLIC;
GRANT SELECT ON dom360.mv_tenant_consumption_summary TO {{ owner_role | ident }};
