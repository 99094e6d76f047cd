{% from "policies/_tenant_table.jinja" import tenant_table with context -%}
{#- UPDATE on each column, not on the table, and no DELETE (the app calls dom360.delete_user()): PostgreSQL lets a role
    LOCK a table in a mode above ROW EXCLUSIVE only with table-level UPDATE, DELETE or TRUNCATE, and such a lock held
    by one tenant's transaction would stall every tenant (docs/security.md). A column added later must be added here
    to be updatable by the app. -#}
{% set app_columns = 'tenant_id, id, email, name, role, created_at' -%}
{{ tenant_table('users', 'SELECT, INSERT, UPDATE (' ~ app_columns ~ ')') }}
