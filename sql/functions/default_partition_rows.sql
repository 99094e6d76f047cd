{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.default_partition_rows()
    RETURNS TABLE (partition regclass, row_count bigint, oldest timestamptz, newest timestamptz)
    LANGUAGE plpgsql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
/* For every default partition of a dom360 table partitioned by range: how many rows are parked there
   (dated outside every partition) and their date range. Exact (a count: the default partition should be
   empty). SECURITY DEFINER: reading it is the owner's (policy owner_maintenance). For `dom360db doctor`. */
DECLARE
    v_default regclass;
    v_key     text;
BEGIN
    FOR v_default, v_key IN
        SELECT pt.partdefid::regclass, a.attname
          FROM pg_partitioned_table AS pt
          JOIN pg_class AS c ON c.oid = pt.partrelid
          JOIN pg_attribute AS a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
         WHERE c.relnamespace = 'dom360'::regnamespace AND pt.partstrat = 'r' AND pt.partdefid <> 0
         ORDER BY c.relname
    LOOP
        -- the partition from here, not from the query: on Citus the query runs on the shards, where the same
        -- name is another relation
        partition := v_default;
        EXECUTE format('SELECT count(*), min(d.%2$I), max(d.%2$I) FROM %1$s AS d', v_default, v_key)
           INTO row_count, oldest, newest;
        RETURN NEXT;
    END LOOP;
END
$$;

{% call privileges('dom360.default_partition_rows()', execute=[owner_role]) -%}
COMMENT ON FUNCTION dom360.default_partition_rows() IS 'Rows parked in the default partition of each dom360 table partitioned by range (count, oldest, newest): should be none; dom360db partitions ensure moves them. For doctor.';
{%- endcall %}
