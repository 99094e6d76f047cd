{% from "policies/_tenant_table.jinja" import tenant_table with context -%}
{#- INSERT on every column but id: message ids come from the sequence only (the column default), so one tenant
    cannot take an id another tenant's message gets, and ids stay unique and increasing (issue #16).
    total_tokens is generated; inbox_id and message_index are replaced by the trigger. A column added to
    messages later must be added here to be writable by the app. -#}
{% set app_columns = 'tenant_id, conversation_id, inbox_id, message_index, role, content, input_tokens, output_tokens, tool_calls, metadata, request_id, created_at' -%}
{{ tenant_table('messages', 'SELECT, INSERT (' ~ app_columns ~ ')') }}

-- USAGE: the column default's nextval() runs as the inserting role. It also lets the app read the sequence's
-- last value (global message volume; docs/security.md, side channels); it does not let it set the sequence.
GRANT USAGE ON SEQUENCE dom360.messages_id_seq TO {{ app_role | ident }};
