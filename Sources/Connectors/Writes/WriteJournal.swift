import Contracts
import Foundation
import PostgresClient

/// The record of the writes each job made, in the tenant's schema: a write is `started` before
/// its call and `done` with its receipt after, so a run of the same job again returns the
/// receipt, or (after a crash between the two) looks for the write at the provider first.
public enum WriteJournal {
    public enum State: Sendable, Equatable {
        /// The job never tried this write.
        case new
        /// An earlier run started it and did not record how it ended.
        case started
        case done(WriteReceipt)
    }

    /// Marks the write (job, step) as started; says where an earlier run left it.
    public static func begin(_ sql: any PostgresQuerying, job: String, step: String, connector: Connector) async throws -> State {
        let inserted = try await sql.query(
            """
            INSERT INTO connector_writes (job_id, step, connector, state) VALUES ($1, $2, $3, 'started')
            ON CONFLICT (job_id, step) DO NOTHING RETURNING job_id
            """, [job, step, connector.rawValue])
        if !inserted.isEmpty { return .new }
        guard
            let row = try await sql.query(
                "SELECT state, result::text AS result FROM connector_writes WHERE job_id = $1 AND step = $2", [job, step]
            ).first
        else { return .new }
        if row.string("state") == "done", let text = row.string("result"),
            var receipt = try? JSONDecoder().decode(WriteReceipt.self, from: Data(text.utf8))
        {
            receipt.replayed = true
            return .done(receipt)
        }
        return .started
    }

    /// Records the write's receipt.
    public static func finish(_ sql: any PostgresQuerying, job: String, step: String, receipt: WriteReceipt) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        try await sql.query(
            "UPDATE connector_writes SET state = 'done', result = $3::jsonb, updated_at = now() WHERE job_id = $1 AND step = $2",
            [job, step, String(decoding: try encoder.encode(receipt), as: UTF8.self)])
    }
}
