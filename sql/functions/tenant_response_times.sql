CREATE OR REPLACE FUNCTION dom360.tenant_response_times(p_from date DEFAULT NULL, p_to date DEFAULT NULL)
    RETURNS TABLE (day date, agent_type text, turns bigint, answered bigint, unanswered bigint,
                   p50_seconds double precision, p95_seconds double precision)
    LANGUAGE plpgsql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
/* The current tenant's rows of dom360.analytics_response_daily for turns started between p_from and p_to
   (UTC days, inclusive; NULL: unbounded). Reads the tenant's messages (the tenant filter reaches the
   scan; the day filter applies to the turns). SECURITY DEFINER as tenant_usage_daily. */
DECLARE
    v_tenant uuid := dom360.current_tenant_id();
BEGIN
    IF v_tenant IS NULL THEN
        PERFORM dom360.raise_no_tenant();  -- fails closed: 42501, the one message (schema/0090)
    END IF;
    RETURN QUERY
    SELECT r.day, r.agent_type, r.turns, r.answered, r.unanswered, r.p50_seconds, r.p95_seconds
      FROM dom360.analytics_response_daily AS r
     WHERE r.tenant_id = v_tenant
       AND (p_from IS NULL OR r.day >= p_from) AND (p_to IS NULL OR r.day <= p_to)
     ORDER BY r.day, r.agent_type;
END
$$;

ALTER FUNCTION dom360.tenant_response_times(date, date) OWNER TO {{ owner_role | ident }};
COMMENT ON FUNCTION dom360.tenant_response_times(date, date) IS 'Agent response time of the current tenant per UTC day and agent type (turns started between p_from and p_to, inclusive; NULL = unbounded): turns, answered, unanswered, p50 and p95 seconds from a user message to the next assistant message. Raises when no tenant is set.';
REVOKE ALL ON FUNCTION dom360.tenant_response_times(date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dom360.tenant_response_times(date, date) TO {{ app_role | ident }};
