{% from "functions/_delete_row.jinja" import delete_row with context -%}
{{ delete_row('delete_inbox', 'inboxes', 'inbox', 'An inbox with conversations is refused (foreign_key_violation).') }}
