{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.tenant_consumption_summary()
    RETURNS TABLE (month date, messages_count bigint, input_tokens bigint, output_tokens bigint,
                   total_tokens bigint, active_inboxes integer, refreshed_at timestamptz)
    LANGUAGE sql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    /* The current tenant's rows of the monthly summary (a materialized view has no row-level security,
       so the app has no SELECT on it; this function filters by the transaction's tenant: none raises). */
    SELECT dom360.require_tenant();  -- fails closed: 42501 when no tenant is set (a statement of its own: always run)
    SELECT s.month, s.messages_count, s.input_tokens, s.output_tokens, s.total_tokens, s.active_inboxes,
           s.refreshed_at
      FROM dom360.mv_tenant_consumption_summary AS s
     WHERE s.tenant_id = dom360.current_tenant_id()
     ORDER BY s.month
$$;

{% call privileges('dom360.tenant_consumption_summary()', execute=[app_role]) -%}
COMMENT ON FUNCTION dom360.tenant_consumption_summary() IS 'The current tenant''s monthly consumption from mv_tenant_consumption_summary (as of its last refresh).';
{%- endcall %}
