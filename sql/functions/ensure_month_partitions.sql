{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.ensure_month_partitions(p_parent regclass, p_months_ahead integer DEFAULT {{ months_ahead }})
    RETURNS integer
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
/* Creates every partition dom360.missing_month_partitions() lists (from {{ months_behind }} month(s)
   ago to p_months_ahead months ahead, and the months of rows parked in the default partition, which
   move there); returns how many it created. Idempotent; for pg_cron or the CLI.
   Every lock wait is bounded, so that writers never queue behind this function for longer than that: writers
   wait only while it holds or awaits SHARE ROW EXCLUSIVE on the parent, which is taken inside one month's
   subtransaction; a lock not granted within lock_timeout (the setting dom360.partition_lock_timeout, default
   2000ms) rolls that month back, releasing everything it took, pauses (writers go on) and tries again, up to
   dom360.partition_attempts times (default 10); then it raises lock_not_available naming the month. Once a
   month has been created its locks are kept until the caller commits (call it in a transaction of its own, as
   pg_cron and dom360db do); the later months then wait for nothing more. */
DECLARE
    v_created  integer := 0;
    v_month    date;
    v_timeout  text := coalesce(nullif(current_setting('dom360.partition_lock_timeout', true), ''), '2000ms');
    v_attempts integer := coalesce(nullif(current_setting('dom360.partition_attempts', true), '')::integer, 10);
    v_previous text := current_setting('lock_timeout');
    v_attempt  integer;
BEGIN
    PERFORM set_config('lock_timeout', v_timeout, true);
    FOR v_month IN SELECT m FROM dom360.missing_month_partitions(p_parent, p_months_ahead) AS m LOOP
        v_attempt := 1;
        LOOP
            BEGIN
                IF dom360.create_month_partition(p_parent, v_month) THEN
                    v_created := v_created + 1;
                END IF;
                EXIT;
            EXCEPTION WHEN lock_not_available THEN
                IF v_attempt >= v_attempts THEN
                    RAISE EXCEPTION 'dom360.ensure_month_partitions: % %: lock not granted within % after % attempt(s); nothing was changed',
                        p_parent, to_char(v_month, 'YYYY-MM'), v_timeout, v_attempts
                        USING ERRCODE = 'lock_not_available',
                              HINT = 'a long transaction holds the table (pg_stat_activity); run it again later, or raise dom360.partition_lock_timeout / dom360.partition_attempts';
                END IF;
            END;
            PERFORM pg_sleep(least(0.1 * v_attempt, 2));  -- holding nothing that blocks writers
            v_attempt := v_attempt + 1;
        END LOOP;
    END LOOP;
    PERFORM set_config('lock_timeout', v_previous, true);
    RETURN v_created;
END
$$;

{% call privileges('dom360.ensure_month_partitions(regclass, integer)', execute=[owner_role]) -%}
COMMENT ON FUNCTION dom360.ensure_month_partitions(regclass, integer) IS 'Creates the missing monthly partitions of a dom360 table partitioned by month (dom360.missing_month_partitions()), moving rows parked in its default partition into them; returns how many were created. Lock waits bounded by dom360.partition_lock_timeout (default 2000ms) and retried dom360.partition_attempts times (default 10).';
{%- endcall %}
