-- The catalog of schema dom360 as one normalised line per object: (kind, name, definition). Used by
-- `dom360db catalog` (the checked-in snapshot sql/catalog.txt) and by `dom360db doctor` (drift).
-- Monthly partitions (name ending _YYYY_MM) come and go with time and are left out with everything on
-- them; the default partition is a fixed object and is described. Role names are replaced by their
-- parameter names in Python (dom360db/catalog.py), so the text does not depend on them, and so is the
-- MAINTAIN privilege (m) that PostgreSQL 17 adds to an owner's ACL: the text is the same on 15, 16, 17.
-- A default ACL (NULL) is written out (acldefault), as a restore leaves it NULL where the original was
-- explicit and equal. A function's body (4th column) is hashed in Python, after role names are
-- replaced (bodies render role names).

-- name: describe --
-- One normalised line per object of schema dom360: (kind, name, definition, body).
WITH rel AS (
    SELECT c.oid, c.relname, c.relkind, c.relispartition
      FROM pg_catalog.pg_class c
     WHERE c.relnamespace = 'dom360'::regnamespace
       AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
       AND NOT (c.relispartition AND c.relname ~ '_[0-9]{4}_[0-9]{2}$')
)
SELECT 'schema' AS kind, 'dom360' AS name,
       concat_ws(' ', 'owner', pg_catalog.pg_get_userbyid(n.nspowner),
                 'acl', (SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(coalesce(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) a)) AS definition,
       NULL::text AS body
  FROM pg_catalog.pg_namespace n WHERE n.nspname = 'dom360'
UNION ALL
SELECT 'extension', e.extname, 'in schema ' || e.extnamespace::regnamespace::text, NULL
  FROM pg_catalog.pg_extension e WHERE e.extname <> 'plpgsql'
UNION ALL
SELECT CASE r.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                      ELSE 'foreign table' END,
       r.relname,
       concat_ws(' ', CASE WHEN r.relkind = 'p' THEN 'partitioned by ' || pg_catalog.pg_get_partkeydef(r.oid) END,
                 CASE WHEN r.relispartition THEN 'partition of ' || (SELECT i.inhparent::regclass::text FROM pg_catalog.pg_inherits i WHERE i.inhrelid = r.oid)
                                                 || ' ' || pg_catalog.pg_get_expr(c.relpartbound, c.oid) END,
                 CASE WHEN c.relpersistence = 'u' THEN 'unlogged' END,
                 CASE WHEN c.relrowsecurity THEN 'rls' END, CASE WHEN c.relforcerowsecurity THEN 'forced' END,
                 CASE WHEN c.reloptions IS NOT NULL THEN 'with ' || array_to_string(c.reloptions, ',') END,
                 'owner', pg_catalog.pg_get_userbyid(c.relowner),
                 'acl', (SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(coalesce(c.relacl, pg_catalog.acldefault('r', c.relowner))) a),
                 -- the query's md5, without column qualifiers (PostgreSQL 16 stopped printing them for one relation)
                 CASE WHEN r.relkind IN ('v', 'm') THEN 'query ' || md5(regexp_replace(pg_catalog.pg_get_viewdef(r.oid),
                      '\y(?!dom360\.|pg_catalog\.)[a-z_][a-z0-9_]*\.(?=[a-z_"])', '', 'g')) END), NULL
  FROM rel r JOIN pg_catalog.pg_class c ON c.oid = r.oid
UNION ALL
SELECT 'column', r.relname || '.' || a.attname,
       concat_ws(' ', pg_catalog.format_type(a.atttypid, a.atttypmod),
                 CASE WHEN a.attnotnull THEN 'not null' END,
                 CASE WHEN a.attidentity <> '' THEN 'identity ' || a.attidentity::text END,
                 CASE WHEN a.attgenerated <> '' THEN 'generated' END,
                 CASE WHEN d.adbin IS NOT NULL THEN 'default ' || pg_catalog.pg_get_expr(d.adbin, d.adrelid) END,
                 CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
                      THEN 'collate ' || a.attcollation::regcollation::text END,
                 'acl ' || (SELECT string_agg(x::text, ',' ORDER BY x::text) FROM unnest(a.attacl) x)), NULL
  FROM rel r
  JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
  JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
UNION ALL
SELECT 'constraint', r.relname || '.' || k.conname,
       pg_catalog.pg_get_constraintdef(k.oid, true) || CASE WHEN k.convalidated THEN '' ELSE ' (not validated)' END, NULL
  FROM rel r JOIN pg_catalog.pg_constraint k ON k.conrelid = r.oid
 WHERE r.relkind IN ('r', 'p', 'f')
UNION ALL
SELECT 'index', i.indexrelid::regclass::text,
       pg_catalog.pg_get_indexdef(i.indexrelid) || CASE WHEN i.indisvalid THEN '' ELSE ' (INVALID)' END, NULL
  FROM rel r JOIN pg_catalog.pg_index i ON i.indrelid = r.oid
UNION ALL
SELECT 'trigger', r.relname || '.' || g.tgname,
       pg_catalog.pg_get_triggerdef(g.oid) || CASE g.tgenabled WHEN 'O' THEN '' ELSE ' (enabled ' || g.tgenabled::text || ')' END, NULL
  FROM rel r JOIN pg_catalog.pg_trigger g ON g.tgrelid = r.oid
 WHERE NOT g.tgisinternal
UNION ALL
SELECT 'policy', r.relname || '.' || p.polname,
       concat_ws(' ', CASE WHEN p.polpermissive THEN 'permissive' ELSE 'restrictive' END,
                 'for', p.polcmd::text, 'to',
                 (SELECT string_agg(CASE WHEN x = 0 THEN 'public' ELSE pg_catalog.pg_get_userbyid(x) END, ',' ORDER BY 1)
                    FROM unnest(p.polroles) x),
                 'using', pg_catalog.pg_get_expr(p.polqual, p.polrelid),
                 'check', pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid)), NULL
  FROM rel r JOIN pg_catalog.pg_policy p ON p.polrelid = r.oid
UNION ALL
SELECT 'function', p.oid::regprocedure::text,
       concat_ws(' ', 'returns', pg_catalog.pg_get_function_result(p.oid), 'language', l.lanname,
                 CASE p.provolatile WHEN 'i' THEN 'immutable' WHEN 's' THEN 'stable' ELSE 'volatile' END,
                 CASE WHEN p.prosecdef THEN 'security definer' END,
                 CASE WHEN p.proconfig IS NOT NULL THEN 'set ' || array_to_string(p.proconfig, ',') END,
                 'owner', pg_catalog.pg_get_userbyid(p.proowner),
                 'acl', (SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))) a)) AS definition,
       p.prosrc AS body
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace = 'dom360'::regnamespace
UNION ALL
SELECT 'type', t.typname, concat_ws(' ', 'kind', t.typtype::text, 'owner', pg_catalog.pg_get_userbyid(t.typowner)), NULL
  FROM pg_catalog.pg_type t
 WHERE t.typnamespace = 'dom360'::regnamespace AND t.typtype IN ('e', 'd', 'c')
   AND NOT EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c')
ORDER BY 1, 2;
