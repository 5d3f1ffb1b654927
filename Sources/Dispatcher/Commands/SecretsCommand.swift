import ArgumentParser
import AuditLog
import Connectors
import Contracts
import Crypto
import Foundation
import Settings

/// `Dispatcher secrets`: the key connector tokens are sealed with.
struct SecretsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secrets", abstract: "Make a secrets key, or seal every stored connector token again with the current key.",
        subcommands: [NewKey.self, Rotate.self])

    struct NewKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "new-key", abstract: "Print a new random key (base64 of 32 bytes) for OC_SECRETS_KEY, with its id.")

        func run() async throws {
            let key = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
            print(Data(key).base64EncodedString())
            FileHandle.standardError.write(Data("key id \(SecretBox.keyID(key))\n".utf8))
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate",
            abstract: "Seal every connector token sealed with a retired key again with the current one.",
            discussion: """
                To rotate: make a key (`Dispatcher secrets new-key`), set it as OC_SECRETS_KEY and the old one in \
                OC_SECRETS_RETIRED_KEYS on every Dispatcher and worker, restart them, run this command, then drop the old key.
                """)
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let secrets: SecretBox
            do { secrets = try SecretBox.load(ConfigurationValues.process) } catch { throw CLIError(error.message) }
            let client = try database.client()
            defer { client.close() }
            let tenants = TenantDirectory(database: client)
            var changed = 0
            var seen = 0
            for tenant in try await reportingDatabaseErrors({ try await tenants.all() }) {
                let accounts = ConnectorAccounts(tenant: tenant, secrets: secrets)
                changed += try await reportingDatabaseErrors { try await tenants.session(tenant) { try await accounts.rotate($0) } }
                seen += 1
            }
            print("sealed \(changed) connected account(s) in \(seen) tenant(s) again with key \(secrets.currentKeyID)")
        }
    }
}
