{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.purge_audit_log(p_older_than interval, p_batch_size integer DEFAULT 10000,
                                                  p_tenant_id uuid DEFAULT NULL)
    RETURNS bigint
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
/* Retention of dom360.audit_log: deletes at most p_batch_size rows older than p_older_than (at least one
   day), of every tenant (dom360.tenant_ids) or of p_tenant_id only (also for a deleted tenant, whose rows
   outlive it); returns how many it deleted. Call it again until it returns 0: each call is one short
   transaction (pg_cron, or a loop in psql), so no long lock and no huge WAL burst.
   SECURITY DEFINER so that the DELETE runs as the owner role, the one role dom360.audit_log_append_only()
   lets delete. Row-level security is forced on the owner: each tenant is set in turn, then the tenant that
   was set before is restored. Uses the index (tenant_id, occurred_at). */
DECLARE
    v_cutoff   timestamptz := now() - p_older_than;
    v_previous text := current_setting('app.tenant_id', true);
    v_deleted  bigint := 0;
    v_count    bigint;
    v_tenant   uuid;
BEGIN
    IF p_older_than IS NULL OR p_older_than < interval '1 day' THEN
        RAISE EXCEPTION 'dom360.purge_audit_log: the retention must be at least 1 day, not %', coalesce(p_older_than::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_batch_size IS NULL OR p_batch_size < 1 THEN
        RAISE EXCEPTION 'dom360.purge_audit_log: the batch size must be at least 1, not %', coalesce(p_batch_size::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR v_tenant IN
        SELECT p_tenant_id WHERE p_tenant_id IS NOT NULL
        UNION ALL
        SELECT t.id FROM dom360.tenant_ids() AS t(id) WHERE p_tenant_id IS NULL
    LOOP
        PERFORM set_config('app.tenant_id', v_tenant::text, true);
        DELETE FROM dom360.audit_log AS l
         WHERE l.tenant_id = v_tenant
           AND l.id IN (SELECT o.id
                          FROM dom360.audit_log AS o
                         WHERE o.tenant_id = v_tenant AND o.occurred_at < v_cutoff
                         ORDER BY o.occurred_at
                         LIMIT p_batch_size - v_deleted);
        GET DIAGNOSTICS v_count = ROW_COUNT;
        v_deleted := v_deleted + v_count;
        EXIT WHEN v_deleted >= p_batch_size;
    END LOOP;
    PERFORM set_config('app.tenant_id', coalesce(v_previous, ''), true);
    RETURN v_deleted;
END
$$;

{% call privileges('dom360.purge_audit_log(interval, integer, uuid)', execute=[owner_role]) -%}
COMMENT ON FUNCTION dom360.purge_audit_log(interval, integer, uuid) IS 'Retention (owner role and its members; pg_cron): deletes at most p_batch_size audit rows older than p_older_than (at least 1 day), of every tenant or of p_tenant_id; returns the count. Repeat until 0.';
{%- endcall %}
