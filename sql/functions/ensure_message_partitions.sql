CREATE OR REPLACE FUNCTION dom360.ensure_message_partitions(p_months_ahead integer DEFAULT {{ months_ahead }})
    RETURNS integer
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
/* Makes sure dom360.messages has a partition for every UTC month from {{ months_behind }} month(s) ago to
   p_months_ahead months ahead; returns how many it created. Idempotent; for pg_cron or the CLI. */
DECLARE
    v_created integer := 0;
    v_month   date;
BEGIN
    IF p_months_ahead IS NULL OR p_months_ahead < 0 OR p_months_ahead > 120 THEN
        RAISE EXCEPTION 'dom360.ensure_message_partitions: months ahead must be between 0 and 120, not %', p_months_ahead;
    END IF;
    FOR v_month IN
        SELECT generate_series(date_trunc('month', now() AT TIME ZONE 'UTC') - interval '{{ months_behind }} month',
                               date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => p_months_ahead),
                               interval '1 month')::date
    LOOP
        IF dom360.create_month_partition('dom360.messages'::regclass, v_month) THEN
            v_created := v_created + 1;
        END IF;
    END LOOP;
    RETURN v_created;
END
$$;

ALTER FUNCTION dom360.ensure_message_partitions(integer) OWNER TO {{ owner_role | ident }};
COMMENT ON FUNCTION dom360.ensure_message_partitions(integer) IS 'Creates the missing monthly partitions of dom360.messages, from months_behind ago to p_months_ahead ahead (UTC); returns how many were created.';
REVOKE ALL ON FUNCTION dom360.ensure_message_partitions(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dom360.ensure_message_partitions(integer) TO {{ owner_role | ident }};
