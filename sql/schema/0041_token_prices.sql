-- btree_gist: the exclusion constraint below mixes equality (tenant, agent type) with range overlap.
-- Installed in schema public when missing, like pgcrypto (a trusted extension since PostgreSQL 13).
CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public;

SET LOCAL ROLE {{ owner_role | ident }};

-- Prices are a tenant's (its plan or contract), so the table is a tenant table like every other in the
-- schema: forced row-level security, tenant_id first in the key. The app reads its tenant's prices; they
-- are written by operators (the owner role or its members with the tenant set, or a superuser).
-- Cost is never stored: dom360.analytics_cost_daily multiplies the counters by the price in force on each
-- day when it is read, so correcting a price (an UPDATE here) corrects every figure at once.
CREATE TABLE dom360.token_prices (
    tenant_id           uuid          NOT NULL DEFAULT dom360.current_tenant_id(),
    agent_type          text          NOT NULL CHECK (agent_type IN ('SDR', 'COPILOT')),
    valid_from          date          NOT NULL,
    valid_to            date,
    input_price_per_1k  numeric(14, 6) NOT NULL CHECK (input_price_per_1k >= 0),
    output_price_per_1k numeric(14, 6) NOT NULL CHECK (output_price_per_1k >= 0),
    currency            text          NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    created_at          timestamptz   NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT token_prices_pkey PRIMARY KEY (tenant_id, agent_type, valid_from),
    CONSTRAINT token_prices_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES dom360.tenants (id),
    CONSTRAINT token_prices_period_check CHECK (valid_to IS NULL OR valid_to > valid_from),
    CONSTRAINT token_prices_no_overlap EXCLUDE USING gist (
        tenant_id WITH =, agent_type WITH =, pg_catalog.daterange(valid_from, valid_to) WITH &&)
);

COMMENT ON TABLE dom360.token_prices IS 'Price of tokens per tenant and agent type over a period of UTC days: at most one price in force per (tenant, agent type, day). Cost is computed from it when read (dom360.analytics_cost_daily), never stored: a corrected price corrects every figure. Written by operators; the app reads its own.';
COMMENT ON COLUMN dom360.token_prices.agent_type IS 'SDR or COPILOT: the counters know the agent type of each message (not the model), so prices are per agent type.';
COMMENT ON COLUMN dom360.token_prices.valid_from IS 'First UTC day the price applies to (inclusive).';
COMMENT ON COLUMN dom360.token_prices.valid_to IS 'First UTC day it no longer applies to (exclusive); NULL: until further notice. Periods of one tenant and agent type never overlap (token_prices_no_overlap).';
COMMENT ON COLUMN dom360.token_prices.input_price_per_1k IS 'Price of 1,000 input (prompt) tokens, in currency.';
COMMENT ON COLUMN dom360.token_prices.output_price_per_1k IS 'Price of 1,000 output (completion) tokens, in currency.';
COMMENT ON COLUMN dom360.token_prices.currency IS 'ISO 4217 code of the prices (USD by default).';
