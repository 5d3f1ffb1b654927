/// One versioned schema change. Applied once, in a transaction, as the owner role.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let sql: StaticString
}

/// Every migration, in order. Never edit one that has shipped: add a new one.
public enum Migrations {
    public static let all: [Migration] = [
        auditLog, tenants, auditBatchCheck, auditAppendBatch, tenantSchemaVersions, auditAppendChained, auditClaimKeysPlainly,
    ]

    /// The audit log: append-only, partitioned by month, one hash chain per tenant.
    static let auditLog = Migration(
        version: 1, name: "audit log",
        sql: """
            CREATE SCHEMA audit;

            CREATE TABLE audit.entries (
                tenant_id text NOT NULL,
                seq bigint NOT NULL,
                id text NOT NULL,
                event_key text NOT NULL,
                ts timestamptz NOT NULL,
                user_id text NOT NULL,
                action_type text NOT NULL,
                action_detail json NOT NULL,
                data_accessed json NOT NULL,
                model_used text,
                model_tokens integer,
                data_classification text NOT NULL
                    CHECK (data_classification IN ('public', 'internal', 'confidential', 'restricted')),
                policy_applied text,
                policy_result text,
                policy_reason text,
                outcome text NOT NULL CHECK (outcome IN ('success', 'denied', 'error', 'pending_approval')),
                request_id text NOT NULL,
                prev_hash bytea NOT NULL,
                hash bytea NOT NULL
            ) PARTITION BY RANGE (ts);

            -- "everything of tenant T in chain order" (verify, export)
            CREATE INDEX entries_chain ON audit.entries (tenant_id, seq);
            -- "everything user X did between T1 and T2"
            CREATE INDEX entries_user_time ON audit.entries (tenant_id, user_id, ts);
            -- "everything of action type A"
            CREATE INDEX entries_action_time ON audit.entries (tenant_id, action_type, ts);
            -- "everything of request R"
            CREATE INDEX entries_request ON audit.entries (tenant_id, request_id);
            -- (Time ranges of a whole tenant are served by partition pruning plus entries_chain.)

            -- One row per (tenant, event key): a redelivered job writes its events once. Keys start
            -- with time-ordered ids (ULIDs), so this index grows at its end like a log.
            CREATE TABLE audit.event_keys (
                tenant_id text NOT NULL,
                event_key text NOT NULL,
                PRIMARY KEY (tenant_id, event_key)
            );

            -- The head of each tenant's chain; its row lock serializes appends to that chain.
            CREATE TABLE audit.chain_heads (
                tenant_id text PRIMARY KEY,
                seq bigint NOT NULL,
                hash bytea NOT NULL
            );

            -- Months exported and verified before their partition may be detached.
            CREATE TABLE audit.archives (
                month date PRIMARY KEY,
                entries bigint NOT NULL,
                file text NOT NULL,
                sha256 text NOT NULL,
                archived_at timestamptz NOT NULL DEFAULT now(),
                detached_at timestamptz
            );

            CREATE FUNCTION audit.reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'the audit log is append-only: % on %.% is not allowed', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
                    USING ERRCODE = '42501';
            END $$;

            CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON audit.entries
                FOR EACH ROW EXECUTE FUNCTION audit.reject_change();
            CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON audit.entries
                FOR EACH STATEMENT EXECUTE FUNCTION audit.reject_change();
            CREATE TRIGGER event_keys_append_only BEFORE UPDATE OR DELETE ON audit.event_keys
                FOR EACH ROW EXECUTE FUNCTION audit.reject_change();
            CREATE TRIGGER event_keys_no_truncate BEFORE TRUNCATE ON audit.event_keys
                FOR EACH STATEMENT EXECUTE FUNCTION audit.reject_change();

            -- Creates the month partition holding `at` (UTC) if missing. Runs as the owner, so the
            -- application role can call it without owning the table.
            CREATE FUNCTION audit.ensure_partition(at timestamptz) RETURNS text
                LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
            DECLARE
                first_day timestamp := date_trunc('month', at AT TIME ZONE 'UTC');
                name text := 'entries_' || to_char(first_day, 'YYYY_MM');
            BEGIN
                IF to_regclass('audit.' || name) IS NULL THEN
                    PERFORM pg_advisory_xact_lock(hashtext('audit.ensure_partition'));
                    IF to_regclass('audit.' || name) IS NULL THEN
                        EXECUTE format('CREATE TABLE audit.%I PARTITION OF audit.entries FOR VALUES FROM (%L) TO (%L)',
                            name, first_day AT TIME ZONE 'UTC', (first_day + interval '1 month') AT TIME ZONE 'UTC');
                        -- TRUNCATE triggers do not reach partitions from the parent.
                        EXECUTE format('CREATE TRIGGER no_truncate BEFORE TRUNCATE ON audit.%I '
                            'FOR EACH STATEMENT EXECUTE FUNCTION audit.reject_change()', name);
                    END IF;
                END IF;
                RETURN name;
            END $$;

            -- Partitions from last month to `months_ahead` months ahead.
            CREATE FUNCTION audit.ensure_partitions(months_ahead integer) RETURNS void
                LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
                SELECT audit.ensure_partition(now() + make_interval(months => m)) FROM generate_series(-1, months_ahead) AS m;
            $$;

            -- Detaches and drops a month's partition (the retention command checks first that the
            -- month was exported and verified).
            CREATE FUNCTION audit.drop_partition(month date) RETURNS void LANGUAGE plpgsql AS $$
            DECLARE
                name text := 'entries_' || to_char(month, 'YYYY_MM');
            BEGIN
                EXECUTE format('ALTER TABLE audit.entries DETACH PARTITION audit.%I', name);
                EXECUTE format('DROP TABLE audit.%I', name);
                UPDATE audit.archives SET detached_at = now() WHERE archives.month = drop_partition.month;
            END $$;

            REVOKE ALL ON FUNCTION audit.drop_partition(date) FROM PUBLIC;
            REVOKE ALL ON FUNCTION audit.ensure_partition(timestamptz) FROM PUBLIC;
            REVOKE ALL ON FUNCTION audit.ensure_partitions(integer) FROM PUBLIC;
            GRANT USAGE ON SCHEMA audit TO openclaw_app;
            GRANT SELECT, INSERT ON audit.entries, audit.event_keys TO openclaw_app;
            GRANT SELECT, INSERT, UPDATE ON audit.chain_heads TO openclaw_app;
            GRANT SELECT ON audit.archives TO openclaw_app;
            GRANT EXECUTE ON FUNCTION audit.ensure_partition(timestamptz), audit.ensure_partitions(integer) TO openclaw_app;
            """)

    /// Tenants: a schema and a role per tenant holding its state tables.
    static let tenants = Migration(
        version: 2, name: "tenant schemas",
        sql: """
            CREATE TABLE openclaw_meta.tenants (
                tenant_id text PRIMARY KEY,
                schema_name text NOT NULL UNIQUE,
                created_at timestamptz NOT NULL DEFAULT now()
            );
            GRANT USAGE ON SCHEMA openclaw_meta TO openclaw_app;
            GRANT SELECT ON openclaw_meta.tenants TO openclaw_app;

            -- The state tables of one tenant schema (called with search_path set to it).
            CREATE FUNCTION openclaw_meta.create_tenant_tables(schema_name text) RETURNS void LANGUAGE plpgsql AS $$
            BEGIN
                EXECUTE format($f$
                    CREATE TABLE IF NOT EXISTS %1$I.tasks (
                        id text PRIMARY KEY,
                        title text NOT NULL,
                        sources jsonb NOT NULL DEFAULT '[]',
                        deadline timestamptz,
                        priority integer NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 100),
                        correlation_id text,
                        classification text NOT NULL DEFAULT 'internal',
                        status text NOT NULL DEFAULT 'discovered'
                            CHECK (status IN ('discovered', 'active', 'completed', 'archived', 'purged')),
                        owner_user text NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        updated_at timestamptz NOT NULL DEFAULT now()
                    );
                    CREATE TABLE IF NOT EXISTS %1$I.approvals (
                        id text PRIMARY KEY,
                        job jsonb NOT NULL,
                        kind text NOT NULL,
                        action text NOT NULL,
                        requester_user text NOT NULL,
                        requester_org text NOT NULL DEFAULT '',
                        requester_team text NOT NULL DEFAULT '',
                        policy_applied text NOT NULL DEFAULT '',
                        policy_reason text NOT NULL DEFAULT '',
                        status text NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'approved', 'rejected', 'expired')),
                        created_at timestamptz NOT NULL DEFAULT now(),
                        expires_at timestamptz NOT NULL,
                        decided_by text,
                        decided_at timestamptz,
                        decision_reason text,
                        job_id text
                    );
                    CREATE INDEX IF NOT EXISTS approvals_pending ON %1$I.approvals (status, expires_at);
                    CREATE TABLE IF NOT EXISTS %1$I.schedules (
                        id text PRIMARY KEY,
                        cron text NOT NULL,
                        time_zone text NOT NULL,
                        template jsonb NOT NULL,
                        created_by text NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        next_fire_at timestamptz,
                        last_fired_at timestamptz,
                        active boolean NOT NULL DEFAULT true
                    );
                    CREATE TABLE IF NOT EXISTS %1$I.connector_cursors (
                        connector text NOT NULL,
                        account text NOT NULL,
                        cursor text NOT NULL,
                        updated_at timestamptz NOT NULL DEFAULT now(),
                        PRIMARY KEY (connector, account)
                    );
                    CREATE TABLE IF NOT EXISTS %1$I.policies (
                        scope text NOT NULL,
                        scope_id text NOT NULL,
                        domain text NOT NULL,
                        name text NOT NULL,
                        version integer NOT NULL,
                        content jsonb NOT NULL,
                        author text NOT NULL,
                        change_reason text NOT NULL CHECK (length(change_reason) > 0),
                        created_at timestamptz NOT NULL DEFAULT now(),
                        PRIMARY KEY (scope, scope_id, domain, name, version)
                    );
                    CREATE TABLE IF NOT EXISTS %1$I.briefings (
                        id text PRIMARY KEY,
                        user_id text NOT NULL,
                        for_date date NOT NULL,
                        content jsonb NOT NULL,
                        partial boolean NOT NULL DEFAULT false,
                        classification text NOT NULL DEFAULT 'internal',
                        created_at timestamptz NOT NULL DEFAULT now()
                    );
                $f$, schema_name);
            END $$;

            -- Creates a tenant's schema, its role (named like the schema, granted to the
            -- application role) and its state tables. Idempotent.
            CREATE FUNCTION openclaw_meta.create_tenant(tenant text, schema_name text) RETURNS text LANGUAGE plpgsql AS $$
            BEGIN
                IF tenant !~ '^[a-z0-9][a-z0-9-]{0,62}$' THEN
                    RAISE EXCEPTION 'invalid tenant id %', tenant USING ERRCODE = '22023';
                END IF;
                IF schema_name !~ '^t_[a-z0-9_]{1,61}$' THEN
                    RAISE EXCEPTION 'invalid tenant schema name %', schema_name USING ERRCODE = '22023';
                END IF;
                IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = schema_name) THEN
                    EXECUTE format('CREATE ROLE %I NOLOGIN', schema_name);
                END IF;
                EXECUTE format('GRANT %I TO openclaw_app', schema_name);
                EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', schema_name);
                EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', schema_name);
                EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', schema_name, schema_name);
                PERFORM openclaw_meta.create_tenant_tables(schema_name);
                EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM PUBLIC', schema_name);
                EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I', schema_name, schema_name);
                INSERT INTO openclaw_meta.tenants (tenant_id, schema_name) VALUES (tenant, schema_name)
                    ON CONFLICT (tenant_id) DO NOTHING;
                RETURN schema_name;
            END $$;
            REVOKE ALL ON FUNCTION openclaw_meta.create_tenant(text, text) FROM PUBLIC;
            """)

    /// The check that lets the audit writer append a batch in one statement: it fails the
    /// statement (so nothing of it stays) when an event key was written before or a chain head
    /// moved meanwhile, and the writer redoes the batch the careful way.
    static let auditBatchCheck = Migration(
        version: 3, name: "audit batch check",
        sql: """
            CREATE FUNCTION audit.check_batch(keys_claimed bigint, keys_expected bigint, heads_moved bigint, heads_expected bigint)
            RETURNS boolean LANGUAGE plpgsql AS $$
            BEGIN
                IF keys_claimed <> keys_expected THEN
                    RAISE EXCEPTION 'audit batch: % of % event keys were written before', keys_expected - keys_claimed, keys_expected
                        USING ERRCODE = 'OCA01';
                END IF;
                IF heads_moved <> heads_expected THEN
                    RAISE EXCEPTION 'audit batch: % of % chain heads moved meanwhile', heads_expected - heads_moved, heads_expected
                        USING ERRCODE = 'OCA02';
                END IF;
                RETURN true;
            END $$;
            REVOKE ALL ON FUNCTION audit.check_batch(bigint, bigint, bigint, bigint) FROM PUBLIC;
            GRANT EXECUTE ON FUNCTION audit.check_batch(bigint, bigint, bigint, bigint) TO openclaw_app;
            """)

    /// The audit writer's one-statement batch as a function: its statements are planned once
    /// per session (generic plans) instead of at every batch. It claims the event keys, moves
    /// the chain heads and inserts the entries, and fails as a whole (SQLSTATE OCA01: a key was
    /// written before; OCA02: a head moved meanwhile) so that the writer redoes the batch the
    /// careful way. Replaces `audit.check_batch`.
    static let auditAppendBatch = Migration(
        version: 4, name: "audit append batch",
        sql: """
            CREATE FUNCTION audit.append_batch(
                tenant_ids text[], seqs bigint[], ids text[], event_keys text[], stamps timestamptz[], user_ids text[],
                action_types text[], action_details json[], data_accessed json[], models text[], model_tokens integer[],
                classifications text[], policies text[], policy_results text[], policy_reasons text[], outcomes text[],
                request_ids text[], prev_hashes bytea[], hashes bytea[],
                head_tenants text[], head_from_seqs bigint[], head_from_hashes bytea[], head_seqs bigint[], head_hashes bytea[])
            RETURNS void LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
            DECLARE
                claimed bigint;
                moved bigint;
            BEGIN
                INSERT INTO audit.event_keys (tenant_id, event_key) SELECT * FROM unnest(tenant_ids, event_keys)
                    ON CONFLICT (tenant_id, event_key) DO NOTHING;
                GET DIAGNOSTICS claimed = ROW_COUNT;
                IF claimed <> cardinality(event_keys) THEN
                    RAISE EXCEPTION 'audit batch: % of % event keys were written before', cardinality(event_keys) - claimed,
                        cardinality(event_keys) USING ERRCODE = 'OCA01';
                END IF;
                UPDATE audit.chain_heads h SET seq = u.seq, hash = u.hash
                    FROM unnest(head_tenants, head_from_seqs, head_from_hashes, head_seqs, head_hashes)
                        AS u(tenant_id, from_seq, from_hash, seq, hash)
                    WHERE h.tenant_id = u.tenant_id AND h.seq = u.from_seq AND h.hash = u.from_hash;
                GET DIAGNOSTICS moved = ROW_COUNT;
                IF moved <> cardinality(head_tenants) THEN
                    RAISE EXCEPTION 'audit batch: % of % chain heads moved meanwhile', cardinality(head_tenants) - moved,
                        cardinality(head_tenants) USING ERRCODE = 'OCA02';
                END IF;
                INSERT INTO audit.entries (tenant_id, seq, id, event_key, ts, user_id, action_type, action_detail, data_accessed,
                    model_used, model_tokens, data_classification, policy_applied, policy_result, policy_reason, outcome,
                    request_id, prev_hash, hash)
                SELECT * FROM unnest(tenant_ids, seqs, ids, event_keys, stamps, user_ids, action_types, action_details,
                    data_accessed, models, model_tokens, classifications, policies, policy_results, policy_reasons, outcomes,
                    request_ids, prev_hashes, hashes);
            END $$;
            REVOKE ALL ON FUNCTION audit.append_batch(text[], bigint[], text[], text[], timestamptz[], text[], text[], json[], json[],
                text[], integer[], text[], text[], text[], text[], text[], text[], bytea[], bytea[], text[], bigint[], bytea[], bigint[],
                bytea[]) FROM PUBLIC;
            GRANT EXECUTE ON FUNCTION audit.append_batch(text[], bigint[], text[], text[], timestamptz[], text[], text[], json[],
                json[], text[], integer[], text[], text[], text[], text[], text[], text[], bytea[], bytea[], text[], bigint[], bytea[],
                bigint[], bytea[]) TO openclaw_app;
            DROP FUNCTION audit.check_batch(bigint, bigint, bigint, bigint);
            """)

    /// The one-statement batch that survives other processes: it locks the batch's chain heads
    /// first, and when one is not where the batch was chained from (another process appended,
    /// or the writer did not know it), it writes nothing and answers the heads as they are, for
    /// the writer to chain the batch again and retry at once. Otherwise it claims the event
    /// keys (failing as a whole, SQLSTATE OCA01, when one was written before), moves the heads
    /// and inserts the entries. Replaces `audit.append_batch`.
    static let auditAppendChained = Migration(
        version: 6, name: "audit append chained",
        sql: """
            CREATE FUNCTION audit.append_chained(
                tenant_ids text[], seqs bigint[], ids text[], event_keys text[], stamps timestamptz[], user_ids text[],
                action_types text[], action_details json[], data_accessed json[], models text[], model_tokens integer[],
                classifications text[], policies text[], policy_results text[], policy_reasons text[], outcomes text[],
                request_ids text[], prev_hashes bytea[], hashes bytea[],
                head_tenants text[], head_from_seqs bigint[], head_from_hashes bytea[], head_seqs bigint[], head_hashes bytea[])
            RETURNS TABLE (head_tenant text, head_seq bigint, head_hash bytea)
            LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
            DECLARE
                claimed bigint;
                moved bigint;
            BEGIN
                PERFORM 1 FROM audit.chain_heads h WHERE h.tenant_id = ANY(head_tenants) ORDER BY h.tenant_id FOR UPDATE;
                RETURN QUERY
                    SELECT h.tenant_id, h.seq, h.hash FROM audit.chain_heads h
                    JOIN unnest(head_tenants, head_from_seqs, head_from_hashes) AS u(tenant_id, from_seq, from_hash)
                        ON h.tenant_id = u.tenant_id
                    WHERE h.seq <> u.from_seq OR h.hash <> u.from_hash;
                IF FOUND THEN
                    RETURN;
                END IF;
                INSERT INTO audit.event_keys (tenant_id, event_key) SELECT * FROM unnest(tenant_ids, event_keys)
                    ON CONFLICT (tenant_id, event_key) DO NOTHING;
                GET DIAGNOSTICS claimed = ROW_COUNT;
                IF claimed <> cardinality(event_keys) THEN
                    RAISE EXCEPTION 'audit batch: % of % event keys were written before', cardinality(event_keys) - claimed,
                        cardinality(event_keys) USING ERRCODE = 'OCA01';
                END IF;
                UPDATE audit.chain_heads h SET seq = u.seq, hash = u.hash
                    FROM unnest(head_tenants, head_from_seqs, head_from_hashes, head_seqs, head_hashes)
                        AS u(tenant_id, from_seq, from_hash, seq, hash)
                    WHERE h.tenant_id = u.tenant_id AND h.seq = u.from_seq AND h.hash = u.from_hash;
                GET DIAGNOSTICS moved = ROW_COUNT;
                IF moved <> cardinality(head_tenants) THEN
                    RAISE EXCEPTION 'audit batch: % of % chain heads are missing', cardinality(head_tenants) - moved,
                        cardinality(head_tenants) USING ERRCODE = 'OCA02';
                END IF;
                INSERT INTO audit.entries (tenant_id, seq, id, event_key, ts, user_id, action_type, action_detail, data_accessed,
                    model_used, model_tokens, data_classification, policy_applied, policy_result, policy_reason, outcome,
                    request_id, prev_hash, hash)
                SELECT * FROM unnest(tenant_ids, seqs, ids, event_keys, stamps, user_ids, action_types, action_details,
                    data_accessed, models, model_tokens, classifications, policies, policy_results, policy_reasons, outcomes,
                    request_ids, prev_hashes, hashes);
            END $$;
            REVOKE ALL ON FUNCTION audit.append_chained(text[], bigint[], text[], text[], timestamptz[], text[], text[], json[],
                json[], text[], integer[], text[], text[], text[], text[], text[], text[], bytea[], bytea[], text[], bigint[], bytea[],
                bigint[], bytea[]) FROM PUBLIC;
            GRANT EXECUTE ON FUNCTION audit.append_chained(text[], bigint[], text[], text[], timestamptz[], text[], text[], json[],
                json[], text[], integer[], text[], text[], text[], text[], text[], text[], bytea[], bytea[], text[], bigint[], bytea[],
                bigint[], bytea[]) TO openclaw_app;
            DROP FUNCTION IF EXISTS audit.append_batch(text[], bigint[], text[], text[], timestamptz[], text[], text[], json[], json[],
                text[], integer[], text[], text[], text[], text[], text[], text[], bytea[], bytea[], text[], bigint[], bytea[], bigint[],
                bytea[]);
            """)

    /// `audit.append_chained_new_keys`: `audit.append_chained` claiming the batch's event keys
    /// with a plain insert, so a key written before fails the statement with the key's unique
    /// violation (SQLSTATE 23505 on `event_keys_pkey`) instead of OCA01, and the writer redoes
    /// the batch the careful way as before. `ON CONFLICT DO NOTHING` probed the key index once
    /// more per key before inserting (a speculative insertion): about 5% of PostgreSQL's CPU
    /// under the gateway mix. A function of its own, so that processes of the build before,
    /// still running while this migration is applied, keep the one they know.
    static let auditClaimKeysPlainly = Migration(
        version: 7, name: "audit claim keys plainly",
        sql: """
            CREATE FUNCTION audit.append_chained_new_keys(
                tenant_ids text[], seqs bigint[], ids text[], event_keys text[], stamps timestamptz[], user_ids text[],
                action_types text[], action_details json[], data_accessed json[], models text[], model_tokens integer[],
                classifications text[], policies text[], policy_results text[], policy_reasons text[], outcomes text[],
                request_ids text[], prev_hashes bytea[], hashes bytea[],
                head_tenants text[], head_from_seqs bigint[], head_from_hashes bytea[], head_seqs bigint[], head_hashes bytea[])
            RETURNS TABLE (head_tenant text, head_seq bigint, head_hash bytea)
            LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
            DECLARE
                moved bigint;
            BEGIN
                PERFORM 1 FROM audit.chain_heads h WHERE h.tenant_id = ANY(head_tenants) ORDER BY h.tenant_id FOR UPDATE;
                RETURN QUERY
                    SELECT h.tenant_id, h.seq, h.hash FROM audit.chain_heads h
                    JOIN unnest(head_tenants, head_from_seqs, head_from_hashes) AS u(tenant_id, from_seq, from_hash)
                        ON h.tenant_id = u.tenant_id
                    WHERE h.seq <> u.from_seq OR h.hash <> u.from_hash;
                IF FOUND THEN
                    RETURN;
                END IF;
                INSERT INTO audit.event_keys (tenant_id, event_key) SELECT * FROM unnest(tenant_ids, event_keys);
                UPDATE audit.chain_heads h SET seq = u.seq, hash = u.hash
                    FROM unnest(head_tenants, head_from_seqs, head_from_hashes, head_seqs, head_hashes)
                        AS u(tenant_id, from_seq, from_hash, seq, hash)
                    WHERE h.tenant_id = u.tenant_id AND h.seq = u.from_seq AND h.hash = u.from_hash;
                GET DIAGNOSTICS moved = ROW_COUNT;
                IF moved <> cardinality(head_tenants) THEN
                    RAISE EXCEPTION 'audit batch: % of % chain heads are missing', cardinality(head_tenants) - moved,
                        cardinality(head_tenants) USING ERRCODE = 'OCA02';
                END IF;
                INSERT INTO audit.entries (tenant_id, seq, id, event_key, ts, user_id, action_type, action_detail, data_accessed,
                    model_used, model_tokens, data_classification, policy_applied, policy_result, policy_reason, outcome,
                    request_id, prev_hash, hash)
                SELECT * FROM unnest(tenant_ids, seqs, ids, event_keys, stamps, user_ids, action_types, action_details,
                    data_accessed, models, model_tokens, classifications, policies, policy_results, policy_reasons, outcomes,
                    request_ids, prev_hashes, hashes);
            END $$;
            REVOKE ALL ON FUNCTION audit.append_chained_new_keys(text[], bigint[], text[], text[], timestamptz[], text[], text[], json[],
                json[], text[], integer[], text[], text[], text[], text[], text[], text[], bytea[], bytea[], text[], bigint[], bytea[],
                bigint[], bytea[]) FROM PUBLIC;
            GRANT EXECUTE ON FUNCTION audit.append_chained_new_keys(text[], bigint[], text[], text[], timestamptz[], text[], text[], json[],
                json[], text[], integer[], text[], text[], text[], text[], text[], text[], bytea[], bytea[], text[], bigint[], bytea[],
                bigint[], bytea[]) TO openclaw_app;
            """)
}
