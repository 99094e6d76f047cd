{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.create_month_partition(p_parent regclass, p_month date)
    RETURNS boolean
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
/* Creates the partition <parent>_YYYY_MM of a dom360 table partitioned by month, for the UTC month
   containing p_month, moving that month's rows out of the default partition (the DDL is
   dom360.month_partition_ddl()'s); returns false when the partition exists already. Serialised with
   every other partition change of the table by its SHARE UPDATE EXCLUSIVE lock. Writers wait only for the moment
   of the move and the ATTACH (milliseconds unless many rows are parked); readers do not wait, except
   readers of the default partition. Set lock_timeout to bound the waits for locks. SECURITY DEFINER so that partitions are owned by the owner role whoever
   creates them (migrate, pg_cron, an administrator). */
DECLARE
    v_schema text;
    v_name   text;
    v_found  regclass;
BEGIN
    SELECT n.nspname, c.relname || '_' || to_char(p_month, 'YYYY_MM') INTO v_schema, v_name
      FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
     WHERE c.oid = p_parent AND c.relkind = 'p';
    IF v_schema IS DISTINCT FROM 'dom360' THEN
        RAISE EXCEPTION 'dom360.create_month_partition: % is not a partitioned table of schema dom360', p_parent
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Serialised with every other change of this table's partitions by the parent's own SHARE UPDATE EXCLUSIVE
    -- lock (what ATTACH and DETACH … CONCURRENTLY take anyway): readers and writers go on, and no app login can
    -- take it first (modes above ROW EXCLUSIVE need UPDATE, DELETE or TRUNCATE on the table). It was an
    -- advisory lock, which any role may hold forever (issue #16).
    EXECUTE format('LOCK TABLE %s IN SHARE UPDATE EXCLUSIVE MODE', p_parent);
    v_found := to_regclass(format('%I.%I', v_schema, v_name));
    IF v_found IS NOT NULL THEN
        IF NOT EXISTS (SELECT FROM pg_inherits AS i WHERE i.inhrelid = v_found AND i.inhparent = p_parent) THEN
            RAISE EXCEPTION 'dom360.create_month_partition: % exists but is not a partition of %', v_found, p_parent
                USING ERRCODE = 'duplicate_table',
                      HINT = 'a table detached by `dom360db partitions retain --detach-only`? Archive and drop it, or rename it';
        END IF;
        RETURN false;
    END IF;
{% if citus %}    -- Citus: one statement per EXECUTE (it plans and propagates each DDL statement on its own).
    DECLARE
        v_stmt text;
    BEGIN
        FOR v_stmt IN SELECT s FROM regexp_split_to_table(dom360.month_partition_ddl(p_parent, p_month), E';\n') AS s
                       WHERE btrim(s) <> '' LOOP
            EXECUTE v_stmt;
        END LOOP;
    END;
{% else %}    EXECUTE dom360.month_partition_ddl(p_parent, p_month);
{% endif %}    RETURN true;
END
$$;

{% call privileges('dom360.create_month_partition(regclass, date)', execute=[owner_role]) -%}
COMMENT ON FUNCTION dom360.create_month_partition(regclass, date) IS 'Creates the monthly partition <table>_YYYY_MM (UTC month of p_month) of a dom360 table partitioned by month, with forced row-level security and no grants, moving that month''s rows out of the default partition; false when it exists.';
{%- endcall %}
