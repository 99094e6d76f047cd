{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.tenant_tables()
    RETURNS TABLE (table_name text, load_order integer, tenant_column text, key_columns text[], columns text[],
                   generated_columns text[])
    LANGUAGE sql
    STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    /* Every table of schema dom360 that holds a tenant's rows, read from the catalog (so a table added later
       is exported, imported and erased without a code change): dom360.tenants (key column id) and every
       table with a tenant_id column, partitioned parents only (their partitions, the default one included,
       are reached through them). load_order: the order to load them in, parents before children along the
       foreign keys, plus the references that hold by construction rather than by a foreign key (messages
       after conversations; message_requests and the consumption counters after messages), and audit_log
       last. Erase goes in the reverse order. key_columns: the primary key, which orders an export.
       columns: in table order; generated_columns: those an import must not write. */
    WITH RECURSIVE t AS (
        SELECT c.oid, c.relname::text AS relname
          FROM pg_class AS c
         WHERE c.relnamespace = 'dom360'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
           AND (c.relname = 'tenants'
                OR EXISTS (SELECT FROM pg_attribute AS a
                            WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped))
    ), edge (child, parent) AS (
        SELECT DISTINCT k.conrelid::regclass::text, k.confrelid::regclass::text
          FROM pg_constraint AS k
         WHERE k.contype = 'f' AND k.conrelid <> k.confrelid
           AND k.conrelid IN (SELECT t.oid FROM t) AND k.confrelid IN (SELECT t.oid FROM t)
        UNION
        SELECT v.child, v.parent
          FROM (VALUES ('dom360.messages', 'dom360.conversations'),
                       ('dom360.message_requests', 'dom360.messages'),
                       ('dom360.consumption_inbox_daily_stripes', 'dom360.messages')) AS v(child, parent)
         WHERE to_regclass(v.child) IS NOT NULL AND to_regclass(v.parent) IS NOT NULL
    ), depth (rel, d) AS (
        SELECT t.oid::regclass::text, 0 FROM t
        UNION ALL
        SELECT e.child, depth.d + 1 FROM depth JOIN edge AS e ON e.parent = depth.rel WHERE depth.d < 50
    )
    SELECT t.relname,
           CASE WHEN t.relname = 'audit_log' THEN 1000 ELSE (SELECT max(depth.d) FROM depth WHERE depth.rel = t.oid::regclass::text) END,
           CASE WHEN t.relname = 'tenants' THEN 'id' ELSE 'tenant_id' END,
           (SELECT array_agg(a.attname::text ORDER BY k.n)
              FROM pg_index AS i
             CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
              JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             WHERE i.indrelid = t.oid AND i.indisprimary),
           (SELECT array_agg(a.attname::text ORDER BY a.attnum)
              FROM pg_attribute AS a WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped),
           (SELECT coalesce(array_agg(a.attname::text ORDER BY a.attnum), '{}')
              FROM pg_attribute AS a WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated <> '')
      FROM t
     ORDER BY 2, 1
$$;

{% call privileges('dom360.tenant_tables()', execute=[owner_role]) -%}
COMMENT ON FUNCTION dom360.tenant_tables() IS 'The tables holding a tenant''s rows (dom360.tenants and every table with tenant_id), from the catalog, in load order (foreign keys and the references that hold by construction; audit_log last), with primary key, columns and generated columns. For dom360db tenant export, import and delete.';
{%- endcall %}
