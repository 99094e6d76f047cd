{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.tenant_cost_daily(p_from date DEFAULT NULL, p_to date DEFAULT NULL)
    RETURNS TABLE (day date, inbox_id uuid, agent_type text, input_tokens bigint, output_tokens bigint,
                   currency text, input_price_per_1k numeric, output_price_per_1k numeric,
                   input_cost numeric, output_cost numeric, cost numeric)
    LANGUAGE plpgsql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
/* The current tenant's rows of dom360.analytics_cost_daily between p_from and p_to (UTC days, inclusive;
   NULL: unbounded): cost computed now from the prices in force on each day. SECURITY DEFINER as
   tenant_usage_daily (forced row-level security keeps the owner on the transaction's tenant). */
DECLARE
    v_tenant uuid := dom360.require_tenant();  -- fails closed: 42501 when no tenant is set
BEGIN
    RETURN QUERY
    SELECT c.day, c.inbox_id, c.agent_type, c.input_tokens, c.output_tokens, c.currency, c.input_price_per_1k,
           c.output_price_per_1k, c.input_cost, c.output_cost, c.cost
      FROM dom360.analytics_cost_daily AS c
     WHERE c.tenant_id = v_tenant
       AND (p_from IS NULL OR c.day >= p_from) AND (p_to IS NULL OR c.day <= p_to)
     ORDER BY c.day, c.inbox_id, c.agent_type;
END
$$;

{% call privileges('dom360.tenant_cost_daily(date, date)', execute=[app_role]) -%}
COMMENT ON FUNCTION dom360.tenant_cost_daily(date, date) IS 'Cost of the current tenant per UTC day, inbox and agent type between p_from and p_to (inclusive; NULL = unbounded): tokens times the dom360.token_prices row in force that day, computed when called (NULL cost: no price in force). Raises when no tenant is set.';
{%- endcall %}
