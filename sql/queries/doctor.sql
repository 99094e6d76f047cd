-- Security-posture checks run by `dom360db doctor`. Each query returns the findings of one check as
-- rows (object, problem, fix); no row means the check passed. Parameters: the role names in force, and
-- citus (the target has the citus extension: its roles log in to the workers, docs/citus.md).

-- name: roles --
-- The group roles exist, without LOGIN, SUPERUSER, BYPASSRLS or any other attribute that bypasses the policies.
SELECT r.want AS object,
       CASE WHEN p.oid IS NULL THEN 'role is missing'
            ELSE 'role has ' || concat_ws(', ',
                CASE WHEN p.rolsuper THEN 'SUPERUSER' END, CASE WHEN p.rolbypassrls THEN 'BYPASSRLS' END,
                CASE WHEN p.rolcreaterole THEN 'CREATEROLE' END, CASE WHEN p.rolcreatedb THEN 'CREATEDB' END,
                CASE WHEN p.rolreplication THEN 'REPLICATION' END, CASE WHEN p.rolcanlogin AND NOT %(citus)s THEN 'LOGIN' END)
       END AS problem,
       CASE WHEN p.oid IS NULL THEN 'dom360db roles (a superuser: creates the missing group roles), then dom360db migrate --reapply'
            ELSE format('ALTER ROLE %%I NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB NOREPLICATION NOLOGIN; grant it to login roles instead', r.want)
       END AS fix
  FROM unnest(ARRAY[%(owner_role)s::text, %(app_role)s::text, %(analytics_role)s::text]) AS r(want)
  LEFT JOIN pg_roles p ON p.rolname = r.want
 WHERE p.oid IS NULL
    OR p.rolsuper OR p.rolbypassrls OR p.rolcreaterole OR p.rolcreatedb OR p.rolreplication
    OR (p.rolcanlogin AND NOT %(citus)s);

-- name: logins_with_both_roles --
-- No login is a member of both the app role and the analytics role.
SELECT m.rolname AS object,
       'is a member of both the app role and the analytics role (the analytics policy would let it read every tenant)' AS problem,
       format('REVOKE %%I FROM %%I', %(analytics_role)s::text, m.rolname) AS fix
  FROM pg_roles m
 WHERE pg_has_role(m.oid, %(app_role)s::text, 'MEMBER') AND pg_has_role(m.oid, %(analytics_role)s::text, 'MEMBER')
   AND NOT m.rolsuper;

-- name: privileged_members --
-- No member of the app or analytics role is SUPERUSER or BYPASSRLS.
SELECT m.rolname AS object,
       format('is a member of %%s and has %%s: row-level security does not hold for it', g.rolname,
              CASE WHEN m.rolsuper THEN 'SUPERUSER' ELSE 'BYPASSRLS' END) AS problem,
       format('use a login without SUPERUSER/BYPASSRLS for the %%s role', g.rolname) AS fix
  FROM pg_roles g
  JOIN pg_auth_members am ON am.roleid = g.oid
  JOIN pg_roles m ON m.oid = am.member
 WHERE g.rolname IN (%(app_role)s::text, %(analytics_role)s::text) AND (m.rolsuper OR m.rolbypassrls);

-- name: app_owns_objects --
-- The app role owns no object.
SELECT o.object, 'is owned by the app role' AS problem,
       format('ALTER … OWNER TO %%I (the app role must own nothing)', %(owner_role)s::text) AS fix
  FROM (SELECT c.oid::regclass::text AS object, c.relowner AS owner FROM pg_class c
        UNION ALL SELECT p.oid::regprocedure::text, p.proowner FROM pg_proc p
        UNION ALL SELECT 'schema ' || n.nspname, n.nspowner FROM pg_namespace n
        UNION ALL SELECT 'type ' || t.oid::regtype::text, t.typowner FROM pg_type t) AS o
 WHERE o.owner = (SELECT oid FROM pg_roles WHERE rolname = %(app_role)s::text);

-- name: app_can_create --
-- The app role can create in no schema.
SELECT 'schema ' || n.nspname AS object, 'the app role can CREATE in it' AS problem,
       format('REVOKE CREATE ON SCHEMA %%I FROM PUBLIC, %%I', n.nspname, %(app_role)s::text) AS fix
  FROM pg_namespace n
 WHERE n.nspname NOT LIKE 'pg\_temp\_%%' AND n.nspname NOT LIKE 'pg\_toast%%'
   AND has_schema_privilege(%(app_role)s::text, n.oid, 'CREATE')
UNION ALL
SELECT 'database ' || current_database(), 'the app role can CREATE schemas in it',
       format('REVOKE CREATE ON DATABASE %%I FROM PUBLIC, %%I', current_database(), %(app_role)s::text)
 WHERE has_database_privilege(%(app_role)s::text, current_database(), 'CREATE');

-- name: rls_forced --
-- Every table of schema dom360 has row-level security enabled and forced.
SELECT c.oid::regclass::text AS object,
       CASE WHEN NOT c.relrowsecurity THEN 'row-level security is not enabled'
            ELSE 'row-level security is not forced (the owner bypasses it)' END AS problem,
       format('ALTER TABLE %%s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', c.oid::regclass) AS fix
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p')
   AND (n.nspname = 'dom360' OR c.relispartition AND EXISTS (
            SELECT FROM pg_partition_ancestors(c.oid) a JOIN pg_class ac ON ac.oid = a.relid
             WHERE ac.relnamespace = 'dom360'::regnamespace))
   AND NOT (c.relrowsecurity AND c.relforcerowsecurity);

-- name: tenant_policy --
-- Every tenant table has its tenant_isolation policy.
SELECT c.oid::regclass::text AS object,
       'has no tenant_isolation policy: with RLS on, nobody but a superuser sees a row; without it, everybody sees all' AS problem,
       'dom360db migrate --reapply (policies/*.sql)' AS fix
  FROM pg_class c
 WHERE c.relnamespace = 'dom360'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
   AND NOT EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'tenant_isolation');

-- name: policy_fails_open --
-- Every policy restricts reads and writes to the current tenant (or is a known, narrow exception).
SELECT format('policy %%s on %%s', p.policyname, format('%%I.%%I', p.schemaname, p.tablename)) AS object,
       CASE WHEN p.permissive <> 'PERMISSIVE' THEN 'is not the expected permissive tenant policy'
            WHEN p.policyname = 'analytics_read' THEN 'reaches beyond the analytics role''s SELECT'
            WHEN p.policyname = 'owner_maintenance' THEN 'reaches beyond the owner role on a default partition'
            ELSE 'does not restrict both reads and writes to the current tenant: USING ' || coalesce(p.qual, '(none)')
                 || ' WITH CHECK ' || coalesce(p.with_check, '(none)') END AS problem,
       'dom360db migrate --reapply (restores policies/' || p.tablename || '.sql)' AS fix
  FROM pg_policies p
 WHERE p.schemaname = 'dom360'
   AND CASE WHEN p.policyname = 'analytics_read'
            THEN NOT (p.cmd = 'SELECT' AND p.roles = ARRAY[%(analytics_role)s::text]::name[])
            -- the owner's maintenance policy on a default partition (only the owner has privileges on a partition)
            WHEN p.policyname = 'owner_maintenance'
            THEN NOT (p.roles = ARRAY[%(owner_role)s::text]::name[] AND EXISTS (
                          SELECT FROM pg_partitioned_table pt
                           WHERE pt.partdefid = format('%%I.%%I', p.schemaname, p.tablename)::regclass))
            ELSE NOT (p.cmd = 'ALL' AND p.permissive = 'PERMISSIVE'
                      AND p.qual ~ '^\(?\w+ = dom360\.current_tenant_id\(\)\)?$'
                      AND p.with_check ~ '^\(?\w+ = dom360\.current_tenant_id\(\)\)?$')
       END;

-- name: partition_privileges --
-- The app and analytics roles have no privilege on a partition itself.
SELECT c.oid::regclass::text AS object,
       'the app or analytics role has privileges on a partition itself (a side door around the parent''s policies)' AS problem,
       format('REVOKE ALL ON %%s FROM %%I, %%I, PUBLIC', c.oid::regclass, %(app_role)s::text, %(analytics_role)s::text) AS fix
  FROM pg_class c
 WHERE c.relispartition AND c.relkind IN ('r', 'p')
   AND EXISTS (SELECT FROM unnest(ARRAY[%(app_role)s::text, %(analytics_role)s::text]) AS r(name)
                WHERE has_table_privilege(r.name, c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER'));

-- name: matview_select --
-- The app role cannot SELECT a materialized view (they have no row-level security).
SELECT c.oid::regclass::text AS object,
       'the app role can SELECT a materialized view (they have no row-level security)' AS problem,
       format('REVOKE ALL ON %%s FROM PUBLIC, %%I; read it through a function', c.oid::regclass, %(app_role)s::text) AS fix
  FROM pg_class c
 WHERE c.relkind = 'm' AND has_table_privilege(%(app_role)s::text, c.oid, 'SELECT');

-- name: definer_functions --
-- Every SECURITY DEFINER function pins search_path and is not executable by PUBLIC.
SELECT p.oid::regprocedure::text AS object,
       CASE WHEN NOT EXISTS (SELECT FROM unnest(p.proconfig) s WHERE s LIKE 'search\_path=%%')
            THEN 'SECURITY DEFINER without a pinned search_path'
            ELSE 'SECURITY DEFINER and executable by PUBLIC' END AS problem,
       format('ALTER FUNCTION %%s SET search_path = pg_catalog, pg_temp; REVOKE EXECUTE ON FUNCTION %%s FROM PUBLIC',
              p.oid::regprocedure, p.oid::regprocedure) AS fix
  FROM pg_proc p
 WHERE p.pronamespace = 'dom360'::regnamespace AND p.prosecdef
   AND (NOT EXISTS (SELECT FROM unnest(p.proconfig) s WHERE s LIKE 'search\_path=%%')
        OR has_function_privilege('public', p.oid, 'EXECUTE'));

-- name: tenant_columns --
-- Every tenant table has a NOT NULL tenant_id defaulting to the current tenant, leading its primary key. On Citus
-- the default is dom360.citus_tenant_id_default() (sql/citus/distribute.sql: the same tenant, and without one the
-- refusal a single server gives).
SELECT c.oid::regclass::text AS object, x.problem, 'add a versioned migration that fixes the table' AS fix
  FROM pg_class c
  CROSS JOIN LATERAL (
      SELECT 'has no tenant_id column' AS problem
       WHERE NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
      UNION ALL
      SELECT 'tenant_id is nullable or does not default to dom360.current_tenant_id()'
        FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       WHERE a.attrelid = c.oid AND a.attname = 'tenant_id'
         AND (NOT a.attnotnull OR coalesce(pg_get_expr(d.adbin, d.adrelid), '') <> 'dom360.current_tenant_id()'
              AND NOT (coalesce(pg_get_expr(d.adbin, d.adrelid), '') = 'dom360.citus_tenant_id_default()'
                       AND EXISTS (SELECT FROM pg_extension WHERE extname = 'citus')))
      UNION ALL
      SELECT 'primary key does not start with tenant_id'
       WHERE NOT EXISTS (SELECT FROM pg_constraint k JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
                          WHERE k.conrelid = c.oid AND k.contype = 'p' AND a.attname = 'tenant_id')
  ) AS x
 WHERE c.relnamespace = 'dom360'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
   AND c.relname <> 'tenants';

-- name: undocumented --
-- Objects of schema dom360 without a COMMENT.
SELECT o.object, 'has no COMMENT' AS problem, 'COMMENT ON … IS ''…'' in its SQL file' AS fix
  FROM (SELECT c.oid::regclass::text AS object, obj_description(c.oid, 'pg_class') AS comment
          FROM pg_class c
         WHERE c.relnamespace = 'dom360'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm') AND NOT c.relispartition
        UNION ALL
        SELECT p.oid::regprocedure::text, obj_description(p.oid, 'pg_proc')
          FROM pg_proc p
         WHERE p.pronamespace = 'dom360'::regnamespace
           AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')) AS o
 WHERE o.comment IS NULL;

-- name: pgcrypto --
-- pgcrypto is installed.
SELECT 'extension pgcrypto' AS object, 'is not installed (encryption helpers need it)' AS problem,
       'CREATE EXTENSION pgcrypto (or run dom360db migrate)' AS fix
 WHERE NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'pgcrypto');

-- name: partitions_ahead --
-- Monthly partitions exist for the months ahead.
SELECT format('%%s: %%s', t.oid::regclass, to_char(m.month, 'YYYY-MM')) AS object,
       'no partition for this month yet: inserts would land in the default partition or fail' AS problem,
       'dom360db partitions ensure (or SELECT dom360.ensure_message_partitions())' AS fix
  FROM pg_partitioned_table pt
  JOIN pg_class t ON t.oid = pt.partrelid
  CROSS JOIN LATERAL generate_series(date_trunc('month', now() AT TIME ZONE 'UTC'),
                                     date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => %(months_ahead)s::int),
                                     interval '1 month') AS m(month)
 WHERE t.relnamespace = 'dom360'::regnamespace AND pt.partstrat = 'r'
   AND to_regclass(format('%%I.%%I', 'dom360', t.relname || '_' || to_char(m.month, 'YYYY_MM'))) IS NULL;

-- name: default_partition_rows --
-- No rows wait in a default partition.
SELECT d.partition::text AS object,
       format('%%s row(s) dated outside every partition (%%s .. %%s): stored, but parked; the default partition should be empty',
              d.row_count, d.oldest, d.newest) AS problem,
       'dom360db partitions ensure (creates their months'' partitions and moves the rows, while writes go on)' AS fix
  FROM dom360.default_partition_rows() d
 WHERE d.row_count > 0;

-- name: temp_privilege --
-- The app role cannot create temporary objects in the database.
-- Objects in pg_temp are found before pg_catalog for type and relation names and stay on a pooled server
-- connection: an app login must not be able to create them (docs/security.md).
SELECT 'database ' || current_database() AS object,
       'the app role may create temporary objects here (a planted pg_temp type or table outlives its transaction on a pooled connection)' AS problem,
       'SELECT dom360.secure_database() as the database owner (dom360db migrate runs it; a database cloned or restored loses it)' AS fix
 WHERE has_database_privilege(%(app_role)s::text, current_database(), 'TEMPORARY');

-- name: unqualified_names --
-- A function without a pinned search_path names nothing unqualified.
-- dom360 functions without a pinned search_path resolve the names in their text with the caller's path, in
-- which pg_temp comes first for types and relations: every type must be schema-qualified there (pg_catalog.uuid).
-- A catalog scan of the function text (comments and string literals removed): `::type` casts and PL/pgSQL
-- declarations whose type is neither qualified nor an SQL keyword the grammar maps to pg_catalog (integer,
-- bigint, boolean, numeric, interval, …); `%%TYPE`/`%%ROWTYPE` of an unqualified relation; relations after
-- FROM/JOIN/UPDATE/INSERT INTO/DELETE FROM (names starting p_ or v_ are the project's parameters and variables).
-- Policies are stored parsed (their names are bound at CREATE POLICY); what a policy re-parses at run time is
-- the body of the SQL functions the planner inlines into it, which this check covers.
WITH f AS (
    SELECT p.oid::regprocedure::text AS object,
           regexp_replace(regexp_replace(regexp_replace(p.prosrc, '''([^'']|'''')*''', '''''', 'g'),
                                         '/\*.*?\*/', ' ', 'g'), '--[^\n]*', ' ', 'g') AS body
      FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
     WHERE p.pronamespace = 'dom360'::regnamespace AND l.lanname IN ('sql', 'plpgsql')
       AND NOT EXISTS (SELECT FROM unnest(p.proconfig) s WHERE s LIKE 'search\_path=%%')
       AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
), found AS (
    SELECT f.object, 'type ' || lower(m[1]) AS name
      FROM f, regexp_matches(f.body, '::\s*([a-z_][a-z0-9_$]*)(\s*\.)?', 'gi') AS m
     WHERE m[2] IS NULL
    UNION ALL
    SELECT f.object, 'type ' || lower(m[4])
      FROM f, regexp_matches(f.body, '\mdeclare\M(.*?)\mbegin\M', 'gi') AS d,
           regexp_matches(d[1], '(^|;)\s*([a-z_][a-z0-9_]*)\s+(constant\s+)?([a-z_][a-z0-9_$]*)(\s*\.)?', 'gi') AS m
     WHERE m[5] IS NULL AND lower(m[4]) NOT IN ('alias', 'cursor', 'no', 'scroll')
    UNION ALL
    SELECT f.object, 'relation ' || m[1]
      FROM f, regexp_matches(f.body, '([a-z_][a-z0-9_$]*(\.[a-z_][a-z0-9_$]*)?)%%(row)?type', 'gi') AS m
     WHERE m[2] IS NULL
    UNION ALL
    SELECT f.object, 'relation ' || m[2]
      FROM f, regexp_matches(f.body, '\m(from|join|update|insert\s+into|delete\s+from)\s+([a-z_][a-z0-9_$]*)(\s*[.(])?', 'gi') AS m
     WHERE m[3] IS NULL AND m[2] !~* '^(p|v)_|^(lateral|only|select|values|unnest|generate_series)$'
)
SELECT found.object,
       format('no pinned search_path and an unqualified %%s: resolved through the caller''s search_path, where pg_temp comes first', found.name) AS problem,
       'qualify it (pg_catalog.uuid, dom360.table) in its SQL file, or pin SET search_path = pg_catalog, pg_temp' AS fix
  FROM found
 WHERE found.name !~* '^type (int|integer|smallint|bigint|real|float|double|decimal|dec|numeric|boolean|char|character|varchar|nchar|national|bit|interval|timestamp|time)$'
 GROUP BY found.object, found.name
 ORDER BY 1, 2;

-- name: app_can_lock --
-- The app role has no table-level UPDATE, DELETE or TRUNCATE (each allows a stalling LOCK TABLE).
-- LOCK TABLE in a mode above ROW EXCLUSIVE needs table-level UPDATE, DELETE or TRUNCATE; column-level UPDATE does
-- not count. Such a lock in one tenant's open transaction stalls every tenant: the app gets UPDATE per column and
-- deletes through dom360.delete_*() functions.
SELECT c.oid::regclass::text AS object,
       'the app role has table-level UPDATE, DELETE or TRUNCATE: it may LOCK the table in modes that stall every tenant' AS problem,
       format('REVOKE UPDATE, DELETE, TRUNCATE ON %%s FROM PUBLIC, %%I; GRANT UPDATE (its columns) instead (dom360db migrate --reapply)',
              c.oid::regclass, %(app_role)s::text) AS fix
  FROM pg_class c
 WHERE c.relnamespace = 'dom360'::regnamespace AND c.relkind IN ('r', 'p', 'v')
   AND has_table_privilege(%(app_role)s::text, c.oid, 'UPDATE, DELETE, TRUNCATE');

-- name: summary_populated --
-- The consumption summary materialized view is populated.
SELECT c.oid::regclass::text AS object,
       'materialized view is not populated: tenant_consumption_summary() and REFRESH … CONCURRENTLY fail' AS problem,
       'dom360db refresh (populates it)' AS fix
  FROM pg_class c
 WHERE c.relnamespace = 'dom360'::regnamespace AND c.relkind = 'm' AND NOT c.relispopulated;

-- name: response_backfill --
-- Response turns of data stored before schema 0100 are backfilled (the answers index is valid).
-- schema/0102 builds dom360.messages_answers_idx ON ONLY: it stays invalid until `dom360db backfill response-times`
-- has filled the response turns of the conversations stored before schema 0100 and indexed the partitions that
-- held rows. Until then tenant_response_times(), analytics_response_daily and `report` leave those turns out.
SELECT x.indexrelid::regclass::text AS object,
       format('not valid: %%s of %%s partition(s) of dom360.messages indexed; response turns stored before schema 0100 are not backfilled yet (response-time figures leave them out)',
              (SELECT count(*) FROM pg_catalog.pg_inherits AS ii WHERE ii.inhparent = x.indexrelid),
              (SELECT count(*) FROM pg_catalog.pg_inherits AS ip WHERE ip.inhparent = x.indrelid)) AS problem,
       'dom360db backfill response-times (batched, resumable; builds the index CONCURRENTLY)' AS fix
  FROM pg_catalog.pg_index AS x
 WHERE x.indexrelid = to_regclass('dom360.messages_answers_idx') AND NOT x.indisvalid;

-- name: backup_role --
-- The backup role, if configured, exists, cannot log in unsafely and writes nothing.
SELECT r.rolname AS object,
       CASE WHEN r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication OR r.rolcanlogin
            THEN 'backup role has ' || concat_ws(', ', CASE WHEN r.rolsuper THEN 'SUPERUSER' END,
                 CASE WHEN r.rolcreaterole THEN 'CREATEROLE' END, CASE WHEN r.rolcreatedb THEN 'CREATEDB' END,
                 CASE WHEN r.rolreplication THEN 'REPLICATION' END, CASE WHEN r.rolcanlogin THEN 'LOGIN' END)
            ELSE 'backup role is a member of a role that writes (' || g.rolname || ')' END AS problem,
       format('ALTER ROLE %%I NOSUPERUSER NOCREATEROLE NOCREATEDB NOREPLICATION NOLOGIN; REVOKE the write roles from it; grant it to a backup login',
              r.rolname) AS fix
  FROM pg_roles r
  LEFT JOIN LATERAL (SELECT w.rolname FROM pg_roles w
                      WHERE w.rolname IN (%(owner_role)s::text, %(app_role)s::text, 'pg_write_all_data')
                        AND pg_has_role(r.oid, w.oid, 'MEMBER') LIMIT 1) AS g ON true
 WHERE r.rolname = %(backup_role)s::text
   AND (r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication OR r.rolcanlogin OR g.rolname IS NOT NULL)
UNION ALL
SELECT m.rolname, 'is a member of both the app role and the backup role (it could read every tenant)',
       format('REVOKE %%I FROM %%I', %(backup_role)s::text, m.rolname)
  FROM pg_roles m
 WHERE NOT m.rolsuper AND m.rolname NOT IN (%(backup_role)s::text, %(app_role)s::text)
   AND to_regrole(%(backup_role)s::text) IS NOT NULL
   AND pg_has_role(m.oid, %(app_role)s::text, 'MEMBER') AND pg_has_role(m.oid, %(backup_role)s::text, 'MEMBER');

-- name: app_login_timeouts --
-- App logins without idle_in_transaction_session_timeout or statement_timeout.
-- A transaction an app login leaves open (a crashed worker, a stuck request) keeps its locks and its snapshot until
-- it ends: idle_in_transaction_session_timeout ends it, statement_timeout bounds one statement (docs/security.md,
-- "Stalls"). What the catalog shows is checked: the login's setting in this database, then in every database, then
-- this database's, then the server's (unknown when this session changed it: no finding). A hostile login can SET
-- them back for its own session; this check is for the forgotten transaction, not for the attacker.
WITH logins AS (
    SELECT m.oid, m.rolname
      FROM pg_catalog.pg_roles m
     WHERE m.rolcanlogin AND NOT m.rolsuper AND pg_catalog.pg_has_role(m.oid, %(app_role)s::text, 'MEMBER')
       -- the group roles themselves: LOGIN only on Citus, for its worker connections (check roles)
       AND m.rolname NOT IN (%(owner_role)s::text, %(app_role)s::text, %(analytics_role)s::text)
), wanted (name) AS (
    VALUES ('idle_in_transaction_session_timeout'), ('statement_timeout')
), effective AS (
    SELECT l.rolname, w.name,
           COALESCE(
               (SELECT split_part(s, '=', 2) FROM pg_catalog.pg_db_role_setting d, unnest(d.setconfig) AS s
                 WHERE d.setrole = l.oid AND d.setdatabase = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
                   AND s LIKE w.name || '=%%' LIMIT 1),
               (SELECT split_part(s, '=', 2) FROM pg_catalog.pg_db_role_setting d, unnest(d.setconfig) AS s
                 WHERE d.setrole = l.oid AND d.setdatabase = 0 AND s LIKE w.name || '=%%' LIMIT 1),
               (SELECT split_part(s, '=', 2) FROM pg_catalog.pg_db_role_setting d, unnest(d.setconfig) AS s
                 WHERE d.setrole = 0 AND d.setdatabase = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
                   AND s LIKE w.name || '=%%' LIMIT 1),
               (SELECT p.reset_val FROM pg_catalog.pg_settings p
                 WHERE p.name = w.name AND p.source IN ('default', 'configuration file', 'command line', 'environment variable'))
           ) AS value
      FROM logins l CROSS JOIN wanted w
)
SELECT e.rolname AS object,
       format('%%s is 0 (no limit) for this app login: one transaction left open holds its locks against every tenant', e.name) AS problem,
       format('ALTER ROLE %%I SET %%s = ''60s'' (or IN DATABASE …; see docs/security.md, Stalls)', e.rolname, e.name) AS fix
  FROM effective e
 WHERE e.value ~ '^\s*0+(\.0*)?\s*[a-z]*\s*$'
 ORDER BY 1, 2;
