{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.tenant_usage(p_from date DEFAULT NULL, p_to date DEFAULT NULL)
    RETURNS TABLE (inbox_id uuid, day date, messages_count bigint, input_tokens bigint, output_tokens bigint,
                   total_tokens bigint)
    LANGUAGE {{ 'plpgsql' if citus else 'sql' }}
    STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    /* Real-time consumption of the current tenant per inbox and UTC day, from p_from to p_to inclusive
       (NULL: unbounded). Exact at every commit. */
{% if citus %}    -- Citus: PL/pgSQL, so that the tenant is a bound parameter: the statement is routed to the tenant's shard
    -- (dom360.current_tenant_id() in the WHERE clause would send it to every shard).
    #variable_conflict use_column
DECLARE
    v_tenant pg_catalog.uuid := dom360.require_tenant();  -- fails closed: 42501 when no tenant is set
BEGIN
    RETURN QUERY
{% else %}    SELECT dom360.require_tenant();  -- fails closed: 42501 when no tenant is set (a statement of its own: always run)
{% endif %}    SELECT d.inbox_id, d.day, d.messages_count, d.input_tokens, d.output_tokens, d.total_tokens
      FROM dom360.consumption_inbox_daily AS d
     WHERE d.tenant_id = {{ 'v_tenant' if citus else 'dom360.current_tenant_id()' }}
       AND (p_from IS NULL OR d.day >= p_from) AND (p_to IS NULL OR d.day <= p_to)
     ORDER BY d.day, d.inbox_id{% if citus %};
END{% endif %}
$$;

{% call privileges('dom360.tenant_usage(date, date)', execute=[app_role]) -%}
COMMENT ON FUNCTION dom360.tenant_usage(date, date) IS 'The current tenant''s messages and tokens per inbox and UTC day between p_from and p_to (inclusive; NULL = unbounded), exact at every commit.';
{%- endcall %}
