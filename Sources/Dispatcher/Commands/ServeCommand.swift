import ArgumentParser
import Contracts
import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus
import ServiceLifecycle

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the HTTP gateway and scheduler.",
        discussion: """
            Configured by OC_* environment variables and an optional YAML file (OC_CONFIG_FILE); see the README.
            Needs Redis (OC_REDIS_URL), PostgreSQL as the application role (OC_DATABASE_URL), the policy engine
            (OC_OPA_URL) and an OIDC issuer (OC_OIDC_ISSUER, OC_OIDC_AUDIENCE).
            """)

    @Option(help: "Log level (env OC_LOG_LEVEL).") var logLevel: String = setting("log_level") ?? "info"

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in LazyMetadataLogHandler(label: label, level: level) }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory.gateway(registry: registry))
        let logger = Logger(label: "openclaw.dispatcher")
        let configuration: GatewayConfiguration
        do { configuration = try GatewayConfiguration.load() } catch { throw CLIError(error.message) }
        // Before anything starts the shared event loops.
        if let threads = configuration.eventLoopThreads { NIOSingletons.groupLoopCountSuggestion = threads }
        do {
            let (application, _) = try buildApplication(configuration, registry: registry, logger: logger)
            try await application.runService()
        } catch let error as FleetError {
            throw CLIError(error.message)
        }
    }
}

struct DevIssuerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-issuer", abstract: "A local OIDC issuer for development: serve its keys, mint tokens.",
        subcommands: [Serve.self, Token.self, Tokens.self])

    struct Options: ParsableArguments {
        @Option(help: "Directory holding the signing key.") var directory: String = "var/dev/oidc"
        @Option(help: "Issuer URL (also where it serves).") var issuer: String = setting("oidc_issuer") ?? "http://127.0.0.1:8290"
    }

    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Serve the discovery document and JWKS.")
        @OptionGroup var options: Options

        func run() async throws {
            let issuer = try DevIssuer.load(directory: options.directory, issuer: options.issuer)
            guard let url = URLComponents(string: options.issuer), let port = url.port else {
                throw ValidationError("--issuer must be an http URL with a port, e.g. http://127.0.0.1:8290")
            }
            try await issuer.application(host: url.host ?? "127.0.0.1", port: port).runService()
        }
    }

    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a signed token.")
        @OptionGroup var options: Options
        @Option(help: "Tenant id.") var tenant: String
        @Option(help: "User id (sub).") var user: String
        @Option(help: "Org.") var org: String = ""
        @Option(help: "Team.") var team: String = ""
        @Option(help: "Roles, comma-separated.") var roles: String = "user"
        @Option(help: "Audience.") var audience: String = setting("oidc_audience") ?? "openclaw"
        @Option(help: "Lifetime in seconds.") var lifetime: Int = 3600

        func run() async throws {
            let issuer = try DevIssuer.load(directory: options.directory, issuer: options.issuer)
            let token = try await issuer.token(
                audience: audience, lifetime: .seconds(lifetime),
                claims: [
                    "tenant": .string(tenant), "sub": .string(user), "org": .string(org), "team": .string(team),
                    "roles": .array(roles.split(separator: ",").map { .string(String($0)) }),
                ])
            print(token)
        }
    }
}

extension DevIssuerCommand {
    /// Many tokens at once (load tests): one JSON object of claims per input line, one token per
    /// output line in the same order.
    struct Tokens: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a signed token for each line of claims read from standard input.",
            discussion: #"Each line: {"tenant": "acme", "sub": "alice", "org": "eng", "team": "core", "roles": ["user"]}."#)
        @OptionGroup var options: DevIssuerCommand.Options
        @Option(help: "Audience.") var audience: String = setting("oidc_audience") ?? "openclaw"
        @Option(help: "Lifetime in seconds.") var lifetime: Int = 3600

        func run() async throws {
            let issuer = try DevIssuer.load(directory: options.directory, issuer: options.issuer)
            var number = 0
            while let line = readLine() {
                number += 1
                guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
                guard let claims = try? JSONDecoder().decode([String: ClaimValue].self, from: Data(line.utf8)),
                    case .string = claims["tenant"], case .string = claims["sub"]
                else {
                    throw ValidationError("line \(number) is not a JSON object with at least tenant and sub")
                }
                print(try await issuer.token(audience: audience, lifetime: .seconds(lifetime), claims: claims))
            }
        }
    }
}

struct OpenAPICommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "openapi", abstract: "Print the OpenAPI 3.1 document of the HTTP API.")

    func run() throws { print(OpenAPIDocument.json) }
}
