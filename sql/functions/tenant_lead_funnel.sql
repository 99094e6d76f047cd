{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.tenant_lead_funnel(p_from date DEFAULT NULL, p_to date DEFAULT NULL)
    RETURNS TABLE (month date, stage text, stage_order integer, conversations bigint, rate_from_previous numeric,
                   rate_from_new numeric, median_hours_to_reach double precision)
    LANGUAGE plpgsql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
/* The current tenant's rows of dom360.analytics_lead_funnel for the cohort months that overlap p_from ..
   p_to (inclusive; NULL: unbounded). SECURITY DEFINER as tenant_usage_daily. */
DECLARE
    v_tenant uuid := dom360.require_tenant();  -- fails closed: 42501 when no tenant is set
BEGIN
    RETURN QUERY
    SELECT f.month, f.stage, f.stage_order, f.conversations, f.rate_from_previous, f.rate_from_new,
           f.median_hours_to_reach
      FROM dom360.analytics_lead_funnel AS f
     WHERE f.tenant_id = v_tenant
       AND (p_from IS NULL OR f.month >= date_trunc('month', p_from)::date) AND (p_to IS NULL OR f.month <= p_to)
     ORDER BY f.month, f.stage_order;
END
$$;

{% call privileges('dom360.tenant_lead_funnel(date, date)', execute=[app_role]) -%}
COMMENT ON FUNCTION dom360.tenant_lead_funnel(date, date) IS 'Lead conversion funnel of the current tenant per cohort month (months overlapping p_from .. p_to; NULL = unbounded): conversations that reached each stage, rates from the previous stage and from new, median hours to reach. Raises when no tenant is set.';
{%- endcall %}
