SET LOCAL ROLE {{ owner_role | ident }};

-- A message dated outside every monthly partition (clock skew, an import dated 2031) is stored here
-- rather than refused; `dom360db partitions ensure` (or dom360.ensure_message_partitions()) later moves
-- such rows into their own month's partition while writes go on. Why a default partition and not a
-- partition created on the fly, and what it costs, is in the README ("Partitions").
CREATE TABLE dom360.messages_default PARTITION OF dom360.messages DEFAULT;

ALTER TABLE dom360.messages_default ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON dom360.messages_default
    USING (tenant_id = dom360.current_tenant_id())
    WITH CHECK (tenant_id = dom360.current_tenant_id());
-- Only the owner has privileges on a partition itself (the app reaches rows through the parent). This
-- policy lets the owner's maintenance functions (SECURITY DEFINER) count the rows parked here and move
-- them to their month; it opens nothing to anyone else.
CREATE POLICY owner_maintenance ON dom360.messages_default
    AS PERMISSIVE FOR ALL TO {{ owner_role | ident }}
    USING (true) WITH CHECK (true);
COMMENT ON POLICY owner_maintenance ON dom360.messages_default IS 'The owner role (maintenance functions) reads and moves out-of-range rows; nobody else has privileges on the partition.';

RESET ROLE;
REVOKE ALL ON dom360.messages_default FROM PUBLIC, {{ app_role | ident }}, {{ analytics_role | ident }};
COMMENT ON TABLE dom360.messages_default IS 'Default partition of dom360.messages: messages dated outside every monthly partition, parked until `dom360db partitions ensure` moves them to their month. Should be empty; `dom360db doctor` reports rows here.';
