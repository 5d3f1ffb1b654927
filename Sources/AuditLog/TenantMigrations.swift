/// One versioned change to every tenant's schema: applied once per tenant, in order, as the
/// owner role, by `Dispatcher migrate` (every tenant) and `Dispatcher tenant create`.
///
/// `sql` may name the tenant's schema as `{schema}` (an identifier) or `{schema_literal}` (a
/// string literal); it runs with the tenant's schema first on the search path, and the tenant's
/// role is then granted what it needs on every table and sequence of the schema.
public struct TenantMigration: Sendable {
    public let version: Int
    public let name: String
    public let sql: StaticString
}

/// Every tenant migration, in order. Never edit one that has shipped: add a new one.
public enum TenantMigrations {
    public static let all: [TenantMigration] = [
        stateTables, connectorAccounts, itemClassification, responses, taskIntelligence, briefings, documentStatistics,
    ]

    /// Tasks, approvals, schedules, connector cursors, policies and briefings (the tables a
    /// tenant got at creation before tenant schemas were versioned; idempotent for those).
    static let stateTables = TenantMigration(
        version: 1, name: "state tables", sql: "SELECT openclaw_meta.create_tenant_tables({schema_literal})")

    /// Connected accounts (tokens encrypted), single-use OAuth states, the synced items with
    /// their per-user cursors, and the journal that makes connector writes idempotent per job.
    static let connectorAccounts = TenantMigration(
        version: 2, name: "connector accounts, items and cursors",
        sql: """
            CREATE TABLE IF NOT EXISTS connector_accounts (
                user_id text NOT NULL,
                connector text NOT NULL,
                account text NOT NULL DEFAULT '',
                details jsonb NOT NULL DEFAULT '{}',
                scopes text NOT NULL DEFAULT '',
                key_id text NOT NULL,
                access_token bytea NOT NULL,
                refresh_token bytea,
                access_expires_at timestamptz,
                status text NOT NULL DEFAULT 'connected' CHECK (status IN ('connected', 'reauth_required')),
                last_error text,
                last_sync_at timestamptz,
                items integer NOT NULL DEFAULT 0,
                connected_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (user_id, connector)
            );
            CREATE TABLE IF NOT EXISTS oauth_states (
                state_hash bytea PRIMARY KEY,
                user_id text NOT NULL,
                connector text NOT NULL,
                key_id text NOT NULL,
                code_verifier bytea,
                expires_at timestamptz NOT NULL,
                used_at timestamptz
            );
            CREATE TABLE IF NOT EXISTS sync_cursors (
                user_id text NOT NULL,
                connector text NOT NULL,
                cursor jsonb NOT NULL,
                generation bigint NOT NULL DEFAULT 0,
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (user_id, connector)
            );
            CREATE TABLE IF NOT EXISTS items (
                user_id text NOT NULL,
                connector text NOT NULL,
                source_id text NOT NULL,
                item_type text NOT NULL,
                title text NOT NULL DEFAULT '',
                people jsonb NOT NULL DEFAULT '{}',
                occurred_at timestamptz,
                updated_at timestamptz,
                link text,
                status text,
                details jsonb NOT NULL DEFAULT '{}',
                classification text NOT NULL DEFAULT 'internal',
                generation bigint NOT NULL DEFAULT 0,
                synced_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (user_id, connector, source_id)
            );
            CREATE INDEX IF NOT EXISTS items_by_time ON items (user_id, item_type, occurred_at);
            CREATE TABLE IF NOT EXISTS connector_writes (
                job_id text NOT NULL,
                step text NOT NULL,
                connector text NOT NULL,
                state text NOT NULL CHECK (state IN ('started', 'done')),
                result jsonb,
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (job_id, step)
            );
            """)

    /// What the classifier sets on an item (its level with what raised it, a message's class),
    /// an admin's override of the level, and the tenant's directory (internal domains, VIPs, the
    /// level of mail that crosses the tenant's domains).
    /// `default_level` is the connector's default as last synced; an item whose content or
    /// default changed waits for the classifier again (`classified_at` null).
    static let itemClassification = TenantMigration(
        version: 3, name: "item classification and the directory",
        sql: """
            ALTER TABLE items
                ADD COLUMN IF NOT EXISTS default_level text,
                ADD COLUMN IF NOT EXISTS classified_at timestamptz,
                ADD COLUMN IF NOT EXISTS findings jsonb NOT NULL DEFAULT '[]',
                ADD COLUMN IF NOT EXISTS message_class text CHECK (message_class IN ('critical', 'needs_response', 'informational', 'noise')),
                ADD COLUMN IF NOT EXISTS class_confidence real,
                ADD COLUMN IF NOT EXISTS class_reasons jsonb NOT NULL DEFAULT '[]',
                ADD COLUMN IF NOT EXISTS override_level text CHECK (override_level IN ('public', 'internal', 'confidential', 'restricted')),
                ADD COLUMN IF NOT EXISTS override_reason text,
                ADD COLUMN IF NOT EXISTS override_by text,
                ADD COLUMN IF NOT EXISTS override_at timestamptz;
            UPDATE items SET default_level = classification WHERE default_level IS NULL;
            CREATE INDEX IF NOT EXISTS items_unclassified ON items (user_id, connector) WHERE classified_at IS NULL;
            CREATE INDEX IF NOT EXISTS items_by_thread ON items (user_id, (details->>'thread_id')) WHERE connector = 'gmail';
            CREATE TABLE IF NOT EXISTS directory_entries (
                entry_type text NOT NULL CHECK (entry_type IN ('internal_domain', 'vip')),
                value text NOT NULL,
                name text NOT NULL DEFAULT '',
                updated_by text NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (entry_type, value)
            );
            CREATE TABLE IF NOT EXISTS directory_settings (
                name text PRIMARY KEY,
                value text NOT NULL,
                updated_by text NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            """)

    /// The auto-responder's replies, one per answered message: what it answered, what it wrote,
    /// under which policy and autonomy, and what became of it.
    static let responses = TenantMigration(
        version: 4, name: "auto-responder replies",
        sql: """
            CREATE TABLE IF NOT EXISTS responses (
                user_id text NOT NULL,
                channel text NOT NULL,
                message_id text NOT NULL,
                thread_id text NOT NULL DEFAULT '',
                job_id text NOT NULL,
                status text NOT NULL CHECK (status IN ('drafted', 'queued', 'pending', 'sent', 'blocked')),
                original jsonb NOT NULL DEFAULT '{}',
                response text NOT NULL DEFAULT '',
                classification text NOT NULL,
                message_class text,
                policy_applied text NOT NULL DEFAULT '',
                reason text NOT NULL DEFAULT '',
                disclosure boolean NOT NULL DEFAULT false,
                approval_id text,
                send_job_id text,
                sent_message_id text,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                sent_at timestamptz,
                PRIMARY KEY (user_id, channel, message_id)
            );
            CREATE INDEX IF NOT EXISTS responses_by_thread ON responses (user_id, channel, thread_id, created_at);
            CREATE INDEX IF NOT EXISTS responses_by_time ON responses (created_at);
            """)

    /// Tasks as discovery keeps them: their sources' keys (to find a task again when its sources
    /// change), the signals and score parts behind the priority, the Eisenhower quadrant, the
    /// tasks possibly related, and when the user completed or dismissed it.
    static let taskIntelligence = TenantMigration(
        version: 5, name: "task intelligence",
        sql: """
            ALTER TABLE tasks ADD COLUMN IF NOT EXISTS source_keys text[] NOT NULL DEFAULT '{}',
                ADD COLUMN IF NOT EXISTS signals jsonb NOT NULL DEFAULT '{}',
                ADD COLUMN IF NOT EXISTS score_parts jsonb NOT NULL DEFAULT '{}',
                ADD COLUMN IF NOT EXISTS quadrant text NOT NULL DEFAULT 'eliminate'
                    CHECK (quadrant IN ('do_first', 'schedule', 'delegate', 'eliminate')),
                ADD COLUMN IF NOT EXISTS related jsonb NOT NULL DEFAULT '[]',
                ADD COLUMN IF NOT EXISTS dismissed boolean NOT NULL DEFAULT false,
                ADD COLUMN IF NOT EXISTS completed_at timestamptz,
                ADD COLUMN IF NOT EXISTS archived_at timestamptz;
            CREATE INDEX IF NOT EXISTS tasks_by_owner ON tasks (owner_user, status, priority DESC);
            CREATE INDEX IF NOT EXISTS tasks_by_source ON tasks USING gin (source_keys);
            """)

    /// Briefings as the user reads them: the status (`ready`, `partial`, or `unavailable` with
    /// the reason when the policy engine could not be asked), the job that made each, and how it
    /// was delivered; the newest first per user.
    static let briefings = TenantMigration(
        version: 6, name: "briefings",
        sql: """
            ALTER TABLE briefings ADD COLUMN IF NOT EXISTS status text NOT NULL DEFAULT 'ready'
                    CHECK (status IN ('ready', 'partial', 'unavailable')),
                ADD COLUMN IF NOT EXISTS job_id text,
                ADD COLUMN IF NOT EXISTS updated_at timestamptz NOT NULL DEFAULT now();
            CREATE INDEX IF NOT EXISTS briefings_by_user ON briefings (user_id, created_at DESC);
            """)

    /// No planner statistics for the JSON documents the tables store (an approval's job, a task's
    /// signals, an item's findings...): no query compares them as a whole, and gathering them cost
    /// every `ANALYZE` a sort of its sampled documents (`jsonb_cmp`): autovacuum re-analyzes a
    /// growing table at each 10% of growth, and with many tenants' approvals tables that sort was a
    /// fifth of PostgreSQL's CPU under load. A migration adding a `jsonb` column sets the same.
    static let documentStatistics = TenantMigration(
        version: 7, name: "no statistics on stored documents",
        sql: """
            DO $$
            DECLARE
                found record;
            BEGIN
                FOR found IN SELECT table_name, column_name FROM information_schema.columns
                    WHERE table_schema = {schema_literal} AND data_type = 'jsonb' ORDER BY table_name, column_name LOOP
                    EXECUTE format('ALTER TABLE %I.%I ALTER COLUMN %I SET STATISTICS 0', {schema_literal}, found.table_name,
                        found.column_name);
                END LOOP;
            END $$;
            """)

    /// The newest version.
    public static var latest: Int { all.last?.version ?? 0 }
}

extension Migrations {
    /// A version per tenant schema and the function that moves one tenant to the next.
    static let tenantSchemaVersions = Migration(
        version: 5, name: "tenant schema versions",
        sql: """
            ALTER TABLE openclaw_meta.tenants ADD COLUMN schema_version integer NOT NULL DEFAULT 0;

            -- Applies tenant migration `version` to `tenant` (false when it was applied before);
            -- refuses to skip a version. Runs as the owner.
            CREATE FUNCTION openclaw_meta.apply_tenant_migration(tenant text, version integer, statements text)
            RETURNS boolean LANGUAGE plpgsql AS $$
            DECLARE
                found_schema text;
                found_version integer;
            BEGIN
                SELECT t.schema_name, t.schema_version INTO found_schema, found_version
                    FROM openclaw_meta.tenants t WHERE t.tenant_id = tenant FOR UPDATE;
                IF found_schema IS NULL THEN
                    RAISE EXCEPTION 'unknown tenant %', tenant USING ERRCODE = '22023';
                END IF;
                IF found_version >= version THEN
                    RETURN false;
                END IF;
                IF found_version <> version - 1 THEN
                    RAISE EXCEPTION 'tenant % is at schema version %, so version % cannot be applied yet', tenant, found_version,
                        version USING ERRCODE = '55000';
                END IF;
                PERFORM set_config('search_path', quote_ident(found_schema), true);
                EXECUTE replace(replace(statements, '{schema_literal}', quote_literal(found_schema)), '{schema}',
                    quote_ident(found_schema));
                EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I', found_schema, found_schema);
                EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO %I', found_schema, found_schema);
                UPDATE openclaw_meta.tenants SET schema_version = version WHERE tenant_id = tenant;
                RETURN true;
            END $$;
            REVOKE ALL ON FUNCTION openclaw_meta.apply_tenant_migration(text, integer, text) FROM PUBLIC;
            """)
}
