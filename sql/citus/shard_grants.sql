-- Rendered and run by `dom360db migrate` only where the target has Citus, at the end of every run (after the
-- policies, whose grants Citus copies to the shards).
--
-- The app may INSERT only some columns of conversations (not message_count: numbering starts at 0) and of
-- messages (not id: ids come from the sequence only). The coordinator checks those column privileges against
-- the app's own statement. But Citus evaluates the column defaults on the coordinator and sends the shard an
-- INSERT naming every column (message_count = 0, id = nextval(…)), which the same column grant refuses there
-- ("permission denied for table conversations_102142"). So the shards of these two parents grant INSERT on
-- the whole row: what the app writes is still decided by the coordinator's check, and the app reaches the
-- shards only through the coordinator (docs/citus.md: pg_hba.conf on the workers).
SELECT pg_catalog.run_command_on_shards('dom360.conversations', $cmd$GRANT INSERT ON %s TO {{ app_role | ident }}$cmd$);
SELECT pg_catalog.run_command_on_shards('dom360.messages', $cmd$GRANT INSERT ON %s TO {{ app_role | ident }}$cmd$);
