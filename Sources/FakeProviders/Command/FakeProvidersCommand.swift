import ArgumentParser
import Foundation
import Logging

/// The `FakeProviders` executable: `serve` runs the fakes until SIGINT/SIGTERM.
@main struct FakeProvidersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "FakeProviders",
        abstract: "Faithful fakes of Gmail, Google Calendar, Google Drive, Jira Cloud, GitHub and their OAuth servers.",
        subcommands: [ServeCommand.self], defaultSubcommand: ServeCommand.self)
}
