{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.audit_row_change()
    RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
/* AFTER INSERT, UPDATE or DELETE, for each row, on the audited tables: appends one row to
   dom360.audit_log. Trigger arguments: the columns of the table's primary key (the row's key).
   - tenant: the row's tenant_id (for dom360.tenants, its id);
   - actor: the role that made the change, the SET ROLE role else the login. current_user would be the
     owner here (SECURITY DEFINER), but the role setting and session_user are not changed by it;
   - app_user_id: the optional transaction setting app.user_id (the column's default);
   - changes: {"column": {"old": …, "new": …}} (see COMMENT ON COLUMN dom360.audit_log.changes); the values
     of secrets (columns named *_enc) are replaced by "[redacted]": not even their ciphertext is copied,
     which a key rotation would not re-encrypt.
   SECURITY DEFINER because the app role may only read audit_log. Row-level security is forced on the owner
   too, and the log row belongs to the changed row's tenant, which may not be the transaction's (a superuser
   or an administrator writing with no tenant set): the tenant is set for the INSERT and restored after. */
DECLARE
{% if citus %}    v_table    text  := regexp_replace(TG_TABLE_NAME, '_[0-9]+$', '');  -- Citus: fires on a shard, <table>_<shard id>
{% endif %}    v_old      jsonb := CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN to_jsonb(OLD) END;
    v_new      jsonb := CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN to_jsonb(NEW) END;
    v_row      jsonb := coalesce(v_new, v_old);
    v_tenant   uuid  := (v_row ->> CASE WHEN {{ 'v_table' if citus else 'TG_TABLE_NAME' }} = 'tenants' THEN 'id' ELSE 'tenant_id' END)::uuid;
    v_previous text  := current_setting('app.tenant_id', true);
    v_key      jsonb;
    v_changes  jsonb;
BEGIN
{% if citus %}    -- Citus: dom360.tenants is a reference table, so this fires on the copy of every node; only the node that
    -- holds the tenant's audit_log shard writes the row (there, locally).
    IF v_table = 'tenants' AND NOT EXISTS (
           SELECT FROM pg_dist_placement AS p
            WHERE p.shardid = get_shard_id_for_distribution_column('dom360.audit_log', v_tenant)
              AND p.groupid = (SELECT l.groupid FROM pg_dist_local_group AS l)) THEN
        RETURN NULL;
    END IF;
{% endif %}    SELECT jsonb_object_agg(k.col, v_row -> k.col) INTO v_key
      FROM unnest(TG_ARGV) AS k(col);
    SELECT coalesce(jsonb_object_agg(s.col, CASE TG_OP WHEN 'INSERT' THEN jsonb_build_object('new', r.new_value)
                                                       WHEN 'DELETE' THEN jsonb_build_object('old', r.old_value)
                                                       ELSE jsonb_build_object('old', r.old_value, 'new', r.new_value) END),
                    '{}') INTO v_changes
      FROM jsonb_object_keys(v_row) AS s(col)
     CROSS JOIN LATERAL (
           SELECT CASE WHEN s.col LIKE '%\_enc' AND v_old -> s.col <> 'null'::jsonb
                       THEN '"[redacted]"'::jsonb ELSE v_old -> s.col END AS old_value,
                  CASE WHEN s.col LIKE '%\_enc' AND v_new -> s.col <> 'null'::jsonb
                       THEN '"[redacted]"'::jsonb ELSE v_new -> s.col END AS new_value) AS r
     WHERE TG_OP <> 'UPDATE' OR v_old -> s.col IS DISTINCT FROM v_new -> s.col;

    PERFORM set_config('app.tenant_id', v_tenant::text, true);
    INSERT INTO dom360.audit_log (tenant_id, actor, table_name, operation, row_key, changes)
    VALUES (v_tenant,
            CASE WHEN current_setting('role') = 'none' THEN session_user::text ELSE current_setting('role') END,
            {{ 'v_table' if citus else 'TG_TABLE_NAME' }}, TG_OP, v_key, v_changes);
    PERFORM set_config('app.tenant_id', coalesce(v_previous, ''), true);
    RETURN NULL;
END
$$;

{% call privileges('dom360.audit_row_change()') -%}
COMMENT ON FUNCTION dom360.audit_row_change() IS 'Trigger of tenants, users, account_vars, agents and inboxes: appends the change (actor, tenant, table, operation, row key, changed columns with old and new values, secrets redacted) to dom360.audit_log. Arguments: the primary key columns.';
{%- endcall %}
{% for table, keys in [("tenants", ["id"]), ("users", ["tenant_id", "id"]), ("account_vars", ["tenant_id"]),
                       ("agents", ["tenant_id", "id"]), ("inboxes", ["tenant_id", "id"])] -%}
{# one trigger per audited table; its arguments are the table's primary key columns #}
DROP TRIGGER IF EXISTS audit_row_change ON dom360.{{ table }};
CREATE TRIGGER audit_row_change
    AFTER INSERT OR UPDATE OR DELETE ON dom360.{{ table }}
    FOR EACH ROW EXECUTE FUNCTION dom360.audit_row_change({{ keys | map("literal") | join(", ") }});
{% endfor -%}
