{% from "functions/_delete_row.jinja" import delete_row with context -%}
{{ delete_row('delete_agent', 'agents', 'agent') }}
