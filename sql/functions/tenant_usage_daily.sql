{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.tenant_usage_daily(p_from date DEFAULT NULL, p_to date DEFAULT NULL)
    RETURNS TABLE (day date, inbox_id uuid, agent_type text, messages_count bigint, input_tokens bigint,
                   output_tokens bigint, total_tokens bigint)
    LANGUAGE plpgsql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
/* The current tenant's rows of dom360.analytics_usage_daily between p_from and p_to (UTC days, inclusive;
   NULL: unbounded). SECURITY DEFINER so the app needs no grant on the view; row-level security is forced
   on the owner, so the view yields the transaction's tenant only, and no tenant is an error. */
DECLARE
    v_tenant uuid := dom360.require_tenant();  -- fails closed: 42501 when no tenant is set
BEGIN
    RETURN QUERY
    SELECT u.day, u.inbox_id, u.agent_type, u.messages_count, u.input_tokens, u.output_tokens, u.total_tokens
      FROM dom360.analytics_usage_daily AS u
     WHERE u.tenant_id = v_tenant
       AND (p_from IS NULL OR u.day >= p_from) AND (p_to IS NULL OR u.day <= p_to)
     ORDER BY u.day, u.inbox_id, u.agent_type;
END
$$;

{% call privileges('dom360.tenant_usage_daily(date, date)', execute=[app_role]) -%}
COMMENT ON FUNCTION dom360.tenant_usage_daily(date, date) IS 'Token usage trends of the current tenant: messages and tokens per UTC day, inbox and agent type between p_from and p_to (inclusive; NULL = unbounded), exact at every commit. Raises when no tenant is set.';
{%- endcall %}
