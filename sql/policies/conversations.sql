{% from "policies/_tenant_table.jinja" import tenant_table with context -%}
{#- INSERT and UPDATE on every column but message_count, the numbering counter: it starts at 0 and only the
    messages trigger (running as the owner) moves it, so numbering starts at 1 and stays gapless. Column
    privileges cost nothing on the chat path, where the WHEN clause of a trigger that guarded this column, and
    a CHECK (message_count >= 0), were parsed and planned on every message (bench/README.md). A column added to
    conversations later must be added here to be writable by the app.
    No DELETE: it would let the app LOCK the table in any mode, stalling every tenant's messages (every message
    updates its conversation); the app deletes through dom360.delete_conversation() (docs/security.md). -#}
{% set app_columns = 'tenant_id, id, inbox_id, external_id, status, agent_type, created_at, updated_at, last_message_at, closed_at, first_message_at' -%}
{{ tenant_table('conversations', 'SELECT, INSERT (' ~ app_columns ~ ')', update_columns=app_columns) }}
