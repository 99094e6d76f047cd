-- Doctor's Citus checks (rows: object, problem, fix), run where the citus extension exists.

-- name: citus_distribution --
-- Tenant tables not hash-distributed by tenant_id (tenants: not a reference table), or foreign Citus tables.
SELECT c.oid::regclass::text AS object,
       CASE WHEN d.logicalrelid IS NULL THEN 'is local to the coordinator'
            WHEN c.relname = 'tenants' THEN 'is not a reference table'
            ELSE 'is not hash-distributed by tenant_id' END AS problem,
       'dom360db migrate (distributes every tenant table; docs/citus.md)' AS fix
  FROM pg_catalog.pg_class AS c
  LEFT JOIN pg_catalog.pg_dist_partition AS d ON d.logicalrelid = c.oid
 WHERE c.relnamespace = 'dom360'::regnamespace AND c.relkind IN ('r', 'p')
   AND (c.relname = 'tenants' OR EXISTS (SELECT FROM pg_catalog.pg_attribute AS a
                                          WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped))
   AND NOT coalesce(CASE WHEN c.relname = 'tenants' THEN d.partmethod = 'n' AND d.repmodel = 't'
                         ELSE d.partmethod = 'h' AND pg_catalog.column_to_column_name(d.logicalrelid, d.partkey) = 'tenant_id' END,
                    false)
UNION ALL
SELECT c.oid::regclass::text, 'is a Citus table outside the package''s plan (schema dom360 holds tenant tables only)',
       'undistribute it (SELECT undistribute_table(…)) or move it out of schema dom360'
  FROM pg_catalog.pg_class AS c
  JOIN pg_catalog.pg_dist_partition AS d ON d.logicalrelid = c.oid
 WHERE c.relnamespace = 'dom360'::regnamespace AND c.relname <> 'tenants'
   AND NOT EXISTS (SELECT FROM pg_catalog.pg_attribute AS a
                    WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
ORDER BY 1;

-- name: citus_colocation --
-- Tenant tables outside the one colocation group.
SELECT 'colocation group ' || d.colocationid AS object,
       'holds ' || pg_catalog.string_agg(d.logicalrelid::regclass::text, ', ' ORDER BY d.logicalrelid::regclass::text)
       || ': the tenant tables are in more than one colocation group' AS problem,
       'SELECT update_distributed_table_colocation(table, colocate_with => ''dom360.users'') for each' AS fix
  FROM pg_catalog.pg_dist_partition AS d
  JOIN pg_catalog.pg_class AS c ON c.oid = d.logicalrelid
 WHERE c.relnamespace = 'dom360'::regnamespace AND d.partmethod = 'h'
 GROUP BY d.colocationid
HAVING (SELECT pg_catalog.count(DISTINCT d2.colocationid) FROM pg_catalog.pg_dist_partition AS d2
          JOIN pg_catalog.pg_class AS c2 ON c2.oid = d2.logicalrelid
         WHERE c2.relnamespace = 'dom360'::regnamespace AND d2.partmethod = 'h') > 1;

-- name: citus_settings --
-- Per-database Citus settings the package relies on.
SELECT 'setting ' || s.name AS object,
       format('is %%s for this database; the package relies on %%s (%%s)', coalesce(v.value, 'the default'), s.want, s.why) AS problem,
       format('ALTER DATABASE %%I SET %%s = %%L (dom360db migrate does it)', pg_catalog.current_database(), s.name, s.want) AS fix
  FROM (VALUES ('citus.enable_unsafe_triggers', 'on', 'the audit, numbering and counter triggers on the shards'),
               ('citus.propagate_set_commands', 'local', 'set_tenant''s SET LOCAL reaching the workers')) AS s(name, want, why)
  LEFT JOIN LATERAL (
        SELECT pg_catalog.split_part(c.cfg, '=', 2) AS value
          FROM pg_catalog.pg_db_role_setting AS r
         CROSS JOIN LATERAL pg_catalog.unnest(r.setconfig) AS c(cfg)
         WHERE r.setdatabase = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
           AND r.setrole = 0 AND pg_catalog.split_part(c.cfg, '=', 1) = s.name) AS v ON true
 WHERE v.value IS DISTINCT FROM s.want;

-- name: citus_shard_grants --
-- Shards that lack the app's whole-row INSERT grant (docs/citus.md).
-- sql/citus/shard_grants.sql: a shard created after migrate (tenant isolate, a split, a move by the rebalancer)
-- has only the grants of its distributed table, and the app's INSERTs into it are refused.
SELECT r.shardid::text AS object,
       'shard of ' || r.tbl || ' lacks the app role''s INSERT (created after the last migrate): the app''s inserts fail there' AS problem,
       'dom360db migrate (re-grants on every shard)' AS fix
  FROM (SELECT 'dom360.conversations' AS tbl, x.* FROM pg_catalog.run_command_on_shards('dom360.conversations',
          format('SELECT pg_catalog.has_table_privilege(%%L, %%L, %%L)', %(app_role)s::text, '%%s', 'INSERT')) AS x
        UNION ALL
        SELECT 'dom360.messages', x.* FROM pg_catalog.run_command_on_shards('dom360.messages',
          format('SELECT pg_catalog.has_table_privilege(%%L, %%L, %%L)', %(app_role)s::text, '%%s', 'INSERT')) AS x) AS r
 WHERE r.result IS DISTINCT FROM 't'
 ORDER BY 1;

-- name: citus_roles --
-- Group roles that cannot log in to the workers.
SELECT r.want AS object, 'cannot log in: Citus connects to the workers as the current user' AS problem,
       format('ALTER ROLE %%I LOGIN (dom360db migrate does it; admit it on the workers from the coordinator only)', r.want) AS fix
  FROM pg_catalog.unnest(ARRAY[%(owner_role)s::text, %(app_role)s::text, %(analytics_role)s::text]) AS r(want)
  JOIN pg_catalog.pg_roles AS p ON p.rolname = r.want
 WHERE NOT p.rolcanlogin;
