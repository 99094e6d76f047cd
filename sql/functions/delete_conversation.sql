{% from "functions/_delete_row.jinja" import delete_row with context -%}
{{ delete_row('delete_conversation', 'conversations', 'conversation', 'A conversation with messages is refused (foreign_key_violation, trigger conversations_keep_messages_delete): close it instead.') }}
