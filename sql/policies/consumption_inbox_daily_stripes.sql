{% from "policies/_tenant_table.jinja" import tenant_table with context -%}
{{ tenant_table('consumption_inbox_daily_stripes', 'SELECT') }}

-- The sums, as the reader (security_invoker): the same row-level security applies.
REVOKE ALL ON dom360.consumption_inbox_daily FROM PUBLIC;
GRANT SELECT ON dom360.consumption_inbox_daily TO {{ app_role | ident }}, {{ analytics_role | ident }};
