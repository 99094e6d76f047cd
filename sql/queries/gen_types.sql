-- Catalog queries of `dom360db gen types` (a `-- name: … --` header and a one-line description before each).

-- name: app_functions --
-- Every function of schema dom360 the given role may execute, with its arguments and result.
SELECT p.proname AS name,
       pg_catalog.obj_description(p.oid, 'pg_proc') AS comment,
       p.proretset AS returns_set,
       rt.typname AS return_type,
       p.pronargs AS nargs,
       p.pronargdefaults AS ndefaults,
       COALESCE(p.proargnames, '{}') AS arg_names,
       COALESCE(p.proargmodes::text[], '{}') AS arg_modes,
       ARRAY(SELECT t.typname
               FROM unnest(COALESCE(p.proallargtypes, p.proargtypes::pg_catalog.oid[])) WITH ORDINALITY AS a (oid, n)
               JOIN pg_catalog.pg_type AS t ON t.oid = a.oid
              ORDER BY a.n) AS arg_types,
       -- a function returning a table's row type (RETURNS SETOF dom360.users): that table's columns
       ARRAY(SELECT a.attname::pg_catalog.text FROM pg_catalog.pg_attribute AS a
              WHERE a.attrelid = rt.typrelid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) AS row_names,
       ARRAY(SELECT t.typname FROM pg_catalog.pg_attribute AS a JOIN pg_catalog.pg_type AS t ON t.oid = a.atttypid
              WHERE a.attrelid = rt.typrelid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) AS row_types
  FROM pg_catalog.pg_proc AS p
  JOIN pg_catalog.pg_type AS rt ON rt.oid = p.prorettype
 WHERE p.pronamespace = 'dom360'::pg_catalog.regnamespace
   AND p.prokind = 'f'
   AND p.prorettype <> 'pg_catalog.trigger'::pg_catalog.regtype
   AND pg_catalog.has_function_privilege(%(role)s, p.oid, 'EXECUTE')
 ORDER BY p.proname;
