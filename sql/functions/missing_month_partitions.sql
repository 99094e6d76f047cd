{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.missing_month_partitions(p_parent regclass, p_months_ahead integer DEFAULT {{ months_ahead }})
    RETURNS SETOF date
    LANGUAGE plpgsql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
/* The months (first day, UTC; each once) that dom360.ensure_month_partitions() would create partitions for: every
   month from {{ months_behind }} month(s) ago to p_months_ahead months ahead without a partition, and
   the months with rows parked in the default partition (at most 12 of those per call, nearest first). SECURITY DEFINER: reading the default partition
   is the owner's (policy owner_maintenance). */
DECLARE
    v_schema  text;
    v_table   text;
    v_key     text;
    v_default regclass;
    v_first   date := date_trunc('month', now() AT TIME ZONE 'UTC') - interval '{{ months_behind }} month';
    v_last    date := date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => p_months_ahead);
BEGIN
    IF p_months_ahead IS NULL OR p_months_ahead < 0 OR p_months_ahead > 120 THEN
        RAISE EXCEPTION 'dom360.missing_month_partitions: months ahead must be between 0 and 120, not %',
            coalesce(p_months_ahead::text, 'NULL') USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT n.nspname, c.relname, a.attname, nullif(pt.partdefid, 0)::regclass INTO v_schema, v_table, v_key, v_default
      FROM pg_partitioned_table AS pt
      JOIN pg_class AS c ON c.oid = pt.partrelid
      JOIN pg_namespace AS n ON n.oid = c.relnamespace
      JOIN pg_attribute AS a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
     WHERE pt.partrelid = p_parent AND pt.partstrat = 'r';
    IF v_schema IS DISTINCT FROM 'dom360' THEN
        RAISE EXCEPTION 'dom360.missing_month_partitions: % is not a table of schema dom360 partitioned by range', p_parent
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
        SELECT m.month::date
          FROM generate_series(v_first, v_last, interval '1 month') AS m(month)
         WHERE to_regclass(format('%I.%I', v_schema, v_table || '_' || to_char(m.month, 'YYYY_MM'))) IS NULL;
    IF v_default IS NOT NULL THEN  -- months outside that window (those inside it are listed already)
        -- At most 12 of them per call, the nearest to the current month first: rows dated anywhere (an import,
        -- a skewed clock, a hostile app's created_at in 2040) must not make one run create partitions without
        -- bound. The others stay parked (doctor reports them) for the next runs.
        RETURN QUERY EXECUTE format(
            'SELECT p.month FROM (SELECT DISTINCT date_trunc(''month'', d.%1$I AT TIME ZONE ''UTC'')::date AS month '
            'FROM %2$s AS d WHERE isfinite(d.%1$I) AND NOT (d.%1$I >= $1 AND d.%1$I < $2)) AS p '
            'ORDER BY abs(p.month - $3), p.month LIMIT 12', v_key, v_default)
            USING v_first::timestamp AT TIME ZONE 'UTC', (v_last + interval '1 month')::timestamp AT TIME ZONE 'UTC',
                  (date_trunc('month', now() AT TIME ZONE 'UTC'))::date;
    END IF;
END
$$;

{% call privileges('dom360.missing_month_partitions(regclass, integer)', execute=[owner_role]) -%}
COMMENT ON FUNCTION dom360.missing_month_partitions(regclass, integer) IS 'Months (first day, UTC) lacking a partition of a dom360 table partitioned by month: from months_behind ago to p_months_ahead ahead, plus the months with rows in the default partition (at most 12 per call, nearest to now first; the others stay parked for later runs). What ensure_month_partitions() creates.';
{%- endcall %}
