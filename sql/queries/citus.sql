-- Named queries of dom360db/citus.py (Citus only: run only where the citus extension exists).

-- name: citus_present --
-- Whether the citus extension exists in this database.
SELECT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'citus');

-- name: citus_preflight --
-- What migrate needs on Citus: a superuser, active workers, the extension version.
SELECT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) AS superuser,
       (SELECT pg_catalog.count(*) FROM pg_catalog.pg_dist_node
         WHERE noderole = 'primary' AND isactive AND shouldhaveshards AND groupid <> 0)::integer AS workers,
       (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'citus') AS version;

-- name: citus_tenant_by_slug --
-- A tenant id by slug (tenant isolate).
SELECT t.id FROM dom360.tenants AS t WHERE t.slug = %(slug)s;

-- name: citus_isolate --
-- Give one tenant shards of its own in the whole colocation group.
-- A new shard for this one tenant in every table of the colocation group (CASCADE), writes to the tenant's old
-- shard blocked while its rows are copied (logical replication would need a replica identity on every table).
SELECT pg_catalog.isolate_tenant_to_new_shard('dom360.users', %(tenant)s::uuid, 'CASCADE',
                                              shard_transfer_mode => 'block_writes');

-- name: citus_tenant_shard --
-- The node of a tenant's shards and whether they hold it alone.
-- The tenant's shard of dom360.users (its colocated shards are on the same node), its node, and whether the
-- shard holds this tenant alone.
SELECT s.shardid, n.nodename, n.nodeport,
       sh.shardminvalue = sh.shardmaxvalue AS isolated
  FROM (SELECT pg_catalog.get_shard_id_for_distribution_column('dom360.users', %(tenant)s::uuid) AS shardid) AS s
  JOIN pg_catalog.pg_dist_shard AS sh ON sh.shardid = s.shardid
  JOIN pg_catalog.pg_dist_placement AS pl ON pl.shardid = s.shardid
  JOIN pg_catalog.pg_dist_node AS n ON n.groupid = pl.groupid;
