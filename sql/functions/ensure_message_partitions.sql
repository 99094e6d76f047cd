{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.ensure_message_partitions(p_months_ahead integer DEFAULT {{ months_ahead }})
    RETURNS integer
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
/* dom360.ensure_month_partitions() for dom360.messages: for pg_cron, e.g.
   SELECT cron.schedule('dom360-partitions', '17 3 * * *', 'SELECT dom360.ensure_message_partitions()'); */
BEGIN
    RETURN dom360.ensure_month_partitions('dom360.messages'::regclass, p_months_ahead);
END
$$;

{% call privileges('dom360.ensure_message_partitions(integer)', execute=[owner_role]) -%}
COMMENT ON FUNCTION dom360.ensure_message_partitions(integer) IS 'Creates the missing monthly partitions of dom360.messages, from months_behind ago to p_months_ahead ahead (UTC), and for every month with rows parked in dom360.messages_default (moving them there); returns how many were created.';
{%- endcall %}
