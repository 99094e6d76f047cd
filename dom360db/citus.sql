-- Named queries of dom360db/citus.py (Citus-only: run only where the citus extension exists).

-- citus_present --
SELECT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'citus');

-- citus_preflight --
SELECT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) AS superuser,
       (SELECT pg_catalog.count(*) FROM pg_catalog.pg_dist_node
         WHERE noderole = 'primary' AND isactive AND shouldhaveshards AND groupid <> 0)::integer AS workers,
       (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'citus') AS version;

-- citus_isolate --
SELECT pg_catalog.isolate_tenant_to_new_shard('dom360.messages', t.id, 'CASCADE', shard_transfer_mode => 'block_writes')
  FROM dom360.tenants AS t
 WHERE t.slug = %(slug)s;

-- citus_tenant_shard --
SELECT s.shardid, p.nodename, p.nodeport
  FROM dom360.tenants AS t
  CROSS JOIN LATERAL (SELECT pg_catalog.get_shard_id_for_distribution_column('dom360.messages', t.id) AS shardid) AS s
  JOIN pg_catalog.pg_dist_placement AS pl ON pl.shardid = s.shardid
  JOIN pg_catalog.pg_dist_node AS p ON p.groupid = pl.groupid
 WHERE t.slug = %(slug)s;
