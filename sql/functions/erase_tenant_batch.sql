{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.erase_tenant_batch(p_tenant_id uuid, p_batch_size integer DEFAULT 5000)
    RETURNS TABLE (table_name text, deleted bigint)
    LANGUAGE plpgsql
    VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
/* One step of erasing a tenant (dom360db tenant delete): deletes at most p_batch_size of the tenant's rows
   from the first table that still has some, children before parents (dom360.tenant_tables() in reverse
   load order: messages before conversations), one partition at a time, and returns that table and the
   count; no row when nothing is left but the tenant row, its account_vars and its audit log, which
   dom360.erase_tenant_finish() removes (the log is kept). Call it in its own short transaction until it
   returns no row: no long lock on messages, and an interruption (even kill -9) leaves a state the same
   loop finishes, because every call starts from whatever is left.
   The first call closes the tenant (status closed), so dom360.set_tenant() refuses it and the app writes
   no more of its rows; that UPDATE is audited, and marks the erase as begun.
   A conversation is deleted only once its messages are gone; its message counter is reset first, which the
   trigger that protects conversations with messages requires.
   SECURITY INVOKER: for the owner role and its members (and superusers), with their own privileges; row-level
   security is forced on the owner, so the tenant is set for the call and the previous setting restored. */
DECLARE
    v_previous text := current_setting('app.tenant_id', true);
    v_table    text;
    v_leaf     regclass;
    v_ids      uuid[];
    v_count    bigint;
BEGIN
    IF p_tenant_id IS NULL THEN
        RAISE EXCEPTION 'dom360.erase_tenant_batch: tenant id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF p_batch_size IS NULL OR p_batch_size < 1 THEN
        RAISE EXCEPTION 'dom360.erase_tenant_batch: the batch size must be at least 1, not %', coalesce(p_batch_size::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM set_config('app.tenant_id', p_tenant_id::text, true);
    UPDATE dom360.tenants AS t SET status = 'closed' WHERE t.id = p_tenant_id AND t.status <> 'closed';

    FOR v_table IN
        SELECT r.table_name FROM dom360.tenant_tables() AS r
         WHERE r.table_name NOT IN ('tenants', 'account_vars', 'audit_log')
         ORDER BY r.load_order DESC, r.table_name
    LOOP
        IF v_table = 'conversations' THEN
            SELECT array_agg(b.id) INTO v_ids
              FROM (SELECT c.id FROM dom360.conversations AS c
                     WHERE c.tenant_id = p_tenant_id
                       AND NOT EXISTS (SELECT FROM dom360.messages AS m
                                        WHERE m.tenant_id = c.tenant_id AND m.conversation_id = c.id)
                     LIMIT p_batch_size) AS b;
            IF v_ids IS NOT NULL THEN
                UPDATE dom360.conversations AS c SET message_count = 0
                 WHERE c.tenant_id = p_tenant_id AND c.id = ANY (v_ids) AND c.message_count <> 0;
                DELETE FROM dom360.conversations AS c WHERE c.tenant_id = p_tenant_id AND c.id = ANY (v_ids);
                GET DIAGNOSTICS v_count = ROW_COUNT;
                PERFORM set_config('app.tenant_id', coalesce(v_previous, ''), true);
                RETURN QUERY SELECT v_table, v_count;
                RETURN;
            END IF;
            CONTINUE;
        END IF;
        FOR v_leaf IN
            SELECT l.rel FROM (
                SELECT p.relid AS rel FROM pg_partition_tree(format('dom360.%I', v_table)::regclass) AS p WHERE p.isleaf
                UNION ALL  -- pg_partition_tree() returns nothing for a table that is not partitioned
                SELECT c.oid::regclass FROM pg_class AS c
                 WHERE c.oid = format('dom360.%I', v_table)::regclass AND c.relkind = 'r') AS l
             ORDER BY l.rel::text
        LOOP
            EXECUTE format('DELETE FROM %1$s AS d WHERE d.ctid = ANY (ARRAY(SELECT s.ctid FROM %1$s AS s WHERE s.tenant_id = $1 LIMIT $2))',
                           v_leaf)
              USING p_tenant_id, p_batch_size;
            GET DIAGNOSTICS v_count = ROW_COUNT;
            IF v_count > 0 THEN
                PERFORM set_config('app.tenant_id', coalesce(v_previous, ''), true);
                RETURN QUERY SELECT v_table, v_count;
                RETURN;
            END IF;
        END LOOP;
    END LOOP;
    PERFORM set_config('app.tenant_id', coalesce(v_previous, ''), true);
END
$$;

{% call privileges('dom360.erase_tenant_batch(uuid, integer)', execute=[owner_role]) -%}
COMMENT ON FUNCTION dom360.erase_tenant_batch(uuid, integer) IS 'Owner role and its members (dom360db tenant delete): closes the tenant, then deletes at most p_batch_size of its rows from the first table that has some (children first, one partition at a time); returns (table, deleted), no row when only the tenant row, account_vars and the audit log remain. One short transaction per call; repeat until no row, then dom360.erase_tenant_finish().';
{%- endcall %}
