CREATE OR REPLACE FUNCTION dom360.ensure_month_partitions(p_parent regclass, p_months_ahead integer DEFAULT {{ months_ahead }})
    RETURNS integer
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
/* Creates every partition dom360.missing_month_partitions() lists (from {{ months_behind }} month(s)
   ago to p_months_ahead months ahead, and the months of rows parked in the default partition, which
   move there); returns how many it created. Idempotent; for pg_cron or the CLI. */
DECLARE
    v_created integer := 0;
    v_month   date;
BEGIN
    FOR v_month IN SELECT m FROM dom360.missing_month_partitions(p_parent, p_months_ahead) AS m LOOP
        IF dom360.create_month_partition(p_parent, v_month) THEN
            v_created := v_created + 1;
        END IF;
    END LOOP;
    RETURN v_created;
END
$$;

ALTER FUNCTION dom360.ensure_month_partitions(regclass, integer) OWNER TO {{ owner_role | ident }};
COMMENT ON FUNCTION dom360.ensure_month_partitions(regclass, integer) IS 'Creates the missing monthly partitions of a dom360 table partitioned by month (dom360.missing_month_partitions()), moving rows parked in its default partition into them; returns how many were created.';
REVOKE ALL ON FUNCTION dom360.ensure_month_partitions(regclass, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dom360.ensure_month_partitions(regclass, integer) TO {{ owner_role | ident }};
