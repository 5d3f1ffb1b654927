import ArgumentParser
import Foundation
import Settings

@main
struct DispatcherCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "Dispatcher",
        abstract: "The OpenClaw gateway and its admin commands.",
        discussion:
            "Every option can also be set through the environment variable named in its help, or in the YAML file OC_CONFIG_FILE (snake_case, without OC_).",
        subcommands: [
            ServeCommand.self, DevIssuerCommand.self, OpenAPICommand.self, JobsCommand.self, DeadLettersCommand.self, QueueCommand.self,
            MigrateCommand.self, TenantCommand.self, AuditCommand.self, SecretsCommand.self,
        ],
        defaultSubcommand: ServeCommand.self)
}

/// Options every command that talks to Redis takes.
struct RedisOptions: ParsableArguments {
    @Option(help: "Redis URL redis://[user:password@]host:port/db (env OC_REDIS_URL).")
    var redisURL: String = setting("redis_url") ?? "redis://127.0.0.1:6379/0"
}

/// A setting as every executable reads it: `OC_<NAME>` in the environment, else `name` in the
/// YAML file `OC_CONFIG_FILE`.
func setting(_ key: String) -> String? { ConfigurationValues.process.string(key) }
