{% from "functions/_privileges.jinja" import privileges with context -%}
{% from "partitions/_month.jinja" import month_partition with context -%}
CREATE OR REPLACE FUNCTION dom360.month_partition_ddl(p_parent regclass, p_month date)
    RETURNS text
    LANGUAGE plpgsql
    STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
/* The DDL that creates the partition <parent>_YYYY_MM of a dom360 table partitioned by month on one
   timestamptz column, for the UTC month containing p_month, and moves that month's rows out of the
   parent's default partition (sql/partitions/_month.jinja, rendered here with format() placeholders).
   Reads the catalog only; dom360.create_month_partition() runs it, `dom360db partitions ensure
   --dry-run` prints it. */
DECLARE
    v_schema  text;
    v_table   text;
    v_key     text;
    v_default text;
    v_columns text;
    v_name    text;
    v_from    timestamptz := date_trunc('month', p_month::timestamp) AT TIME ZONE 'UTC';
    v_to      timestamptz := (date_trunc('month', p_month::timestamp) + interval '1 month') AT TIME ZONE 'UTC';
BEGIN
    SELECT n.nspname, c.relname, a.attname, d.relname
      INTO v_schema, v_table, v_key, v_default
      FROM pg_class AS c
      JOIN pg_namespace AS n ON n.oid = c.relnamespace
      JOIN pg_partitioned_table AS pt ON pt.partrelid = c.oid
      JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum = pt.partattrs[0]
      LEFT JOIN pg_class AS d ON d.oid = pt.partdefid
     WHERE c.oid = p_parent AND pt.partstrat = 'r' AND pt.partnatts = 1 AND a.atttypid = 'timestamptz'::regtype;
    IF v_schema IS DISTINCT FROM 'dom360' THEN
        RAISE EXCEPTION 'dom360.month_partition_ddl: % is not a table of schema dom360 partitioned by range of one timestamptz column',
            p_parent USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_month IS NULL OR NOT isfinite(p_month) THEN
        RAISE EXCEPTION 'dom360.month_partition_ddl: month must be a finite date, not %', coalesce(p_month::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO v_columns
      FROM pg_attribute AS a
     WHERE a.attrelid = p_parent AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '';
    v_name := v_table || '_' || to_char(p_month, 'YYYY_MM');
    RETURN format(
        CASE WHEN v_default IS NULL THEN
$ddl${{ month_partition('%1$I.%2$I', '%1$I.%3$I', none, '%5$I', '%6$L', '%7$L', '%8$s', '%9$I', '%10$L') }}
$ddl$
        ELSE
$ddl${{ month_partition('%1$I.%2$I', '%1$I.%3$I', '%1$I.%4$I', '%5$I', '%6$L', '%7$L', '%8$s', '%9$I', '%10$L') }}
$ddl$
        END,
        v_schema, v_name, v_table, v_default, v_key, v_from, v_to, v_columns, v_name || '_range',
        format('Partition of %s.%s for %s (UTC). Reached through the parent only.', v_schema, v_table,
               to_char(p_month, 'YYYY-MM')));
END
$$;

{% call privileges('dom360.month_partition_ddl(regclass, date)', execute=[owner_role]) -%}
COMMENT ON FUNCTION dom360.month_partition_ddl(regclass, date) IS 'The DDL (text) that creates the monthly partition <table>_YYYY_MM of a dom360 table partitioned by month and moves that month''s rows out of its default partition; run by dom360.create_month_partition().';
{%- endcall %}
