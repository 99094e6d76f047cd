CREATE OR REPLACE FUNCTION dom360.create_month_partition(p_parent regclass, p_month date)
    RETURNS boolean
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
/* Creates the partition <parent>_YYYY_MM of a table of schema dom360 partitioned by month, for the month
   containing p_month; returns false when it exists already. A new partition carries the parent's
   posture itself: row-level security enabled and forced, the tenant policy, and no privilege for anyone
   but the owner (the app reaches rows through the parent only). SECURITY DEFINER so that partitions are
   owned by the owner role whoever creates them (migrate, pg_cron, an administrator). */
DECLARE
    v_schema text;
    v_table  text;
    v_name   text;
    v_from   timestamptz := date_trunc('month', p_month::timestamp) AT TIME ZONE 'UTC';
    v_to     timestamptz := (date_trunc('month', p_month::timestamp) + interval '1 month') AT TIME ZONE 'UTC';
BEGIN
    SELECT n.nspname, c.relname INTO STRICT v_schema, v_table
      FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
     WHERE c.oid = p_parent AND c.relkind = 'p';
    IF v_schema <> 'dom360' THEN
        RAISE EXCEPTION 'dom360.create_month_partition: % is not a partitioned table of schema dom360', p_parent;
    END IF;
    v_name := v_table || '_' || to_char(p_month, 'YYYY_MM');
    IF to_regclass(format('%I.%I', v_schema, v_name)) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.%I FOR VALUES FROM (%L) TO (%L)',
                   v_schema, v_name, v_schema, v_table, v_from, v_to);
    EXECUTE format('ALTER TABLE %I.%I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', v_schema, v_name);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I.%I USING (tenant_id = dom360.current_tenant_id()) '
                   'WITH CHECK (tenant_id = dom360.current_tenant_id())', v_schema, v_name);
    EXECUTE format('REVOKE ALL ON %I.%I FROM PUBLIC, %I, %I', v_schema, v_name,
                   {{ app_role | literal }}, {{ analytics_role | literal }});
    EXECUTE format('COMMENT ON TABLE %I.%I IS %L', v_schema, v_name,
                   format('Partition of %s.%s for %s (UTC). Reached through the parent only.', v_schema, v_table,
                          to_char(p_month, 'YYYY-MM')));
    RETURN true;
END
$$;

ALTER FUNCTION dom360.create_month_partition(regclass, date) OWNER TO {{ owner_role | ident }};
COMMENT ON FUNCTION dom360.create_month_partition(regclass, date) IS 'Creates the monthly partition <table>_YYYY_MM (UTC month of p_month) of a dom360 table partitioned by month, with forced row-level security and no grants; false when it exists.';
REVOKE ALL ON FUNCTION dom360.create_month_partition(regclass, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dom360.create_month_partition(regclass, date) TO {{ owner_role | ident }};
