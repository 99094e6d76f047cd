-- Catalog queries of `dom360db gen docs` (docs/sql-api.md): the reference manual is the database's own
-- COMMENT ON text. Each starts with a `-- name: … --` header and a one-line description.

-- name: functions --
-- Every function of schema dom360 (extension members aside): signature, result, security, who may execute it, comment.
SELECT p.proname::text AS name,
       pg_catalog.pg_get_function_arguments(p.oid) AS arguments,
       CASE WHEN p.prokind = 'p' THEN NULL ELSE pg_catalog.pg_get_function_result(p.oid) END AS result,
       p.prosecdef AS security_definer,
       coalesce((SELECT pg_catalog.string_agg(g.who, ', ' ORDER BY g.who)
                   FROM (SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END
                           FROM pg_catalog.aclexplode(coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))) AS a
                          WHERE a.privilege_type = 'EXECUTE') AS g(who)), '') AS executors,
       coalesce(pg_catalog.obj_description(p.oid, 'pg_proc'), '') AS comment
  FROM pg_catalog.pg_proc AS p
 WHERE p.pronamespace = 'dom360'::regnamespace
   AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend AS d
                    WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
 ORDER BY p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid);

-- name: relations --
-- Every table, view and materialized view of schema dom360 (partitions aside), with its comment.
SELECT c.relname::text AS name,
       CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table' WHEN 'v' THEN 'view'
                      ELSE 'materialized view' END AS kind,
       coalesce(pg_catalog.obj_description(c.oid, 'pg_class'), '') AS comment
  FROM pg_catalog.pg_class AS c
 WHERE c.relnamespace = 'dom360'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm') AND NOT c.relispartition
 ORDER BY c.relname;
