import ArgumentParser
import Foundation

@main
struct DispatcherCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "Dispatcher",
        abstract: "The OpenClaw gateway and its admin commands.",
        discussion: "Every option can also be set through the environment variable named in its help.",
        subcommands: [
            ServeCommand.self, DevIssuerCommand.self, OpenAPICommand.self, JobsCommand.self, DeadLettersCommand.self, QueueCommand.self,
            MigrateCommand.self, TenantCommand.self, AuditCommand.self,
        ],
        defaultSubcommand: ServeCommand.self)
}

/// Options every command that talks to Redis takes.
struct RedisOptions: ParsableArguments {
    @Option(help: "Redis URL redis://[user:password@]host:port/db (env OC_REDIS_URL).")
    var redisURL: String = env("OC_REDIS_URL") ?? "redis://127.0.0.1:6379/0"
}

func env(_ name: String) -> String? {
    ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
}
