import Foundation

/// A briefing as people read it: plain text (the email, a terminal) and an HTML page with the
/// Eisenhower matrix drawn as inline SVG.
public enum BriefingRendering {
    static let quadrantTitles: [(Quadrant, String)] = [
        (.doFirst, "Do first"), (.schedule, "Schedule"), (.delegate, "Delegate"), (.eliminate, "Eliminate"),
    ]

    static func title(_ quadrant: Quadrant) -> String { quadrantTitles.first { $0.0 == quadrant }?.1 ?? quadrant.rawValue }

    /// The clock time of an RFC 3339 timestamp as written (`09:30`).
    static func clock(_ stamp: String) -> String {
        guard let t = stamp.firstIndex(of: "T") else { return stamp }
        return String(stamp[stamp.index(after: t)...].prefix(5))
    }

    // MARK: Text

    public static func text(_ briefing: Briefing) -> String {
        var lines: [String] = ["Daily briefing for \(briefing.user), \(briefing.date) (\(briefing.timeZone))"]
        if briefing.status == .unavailable {
            lines.append("")
            lines.append("No briefing: \(briefing.reason ?? "the policy engine could not be asked")")
            return lines.joined(separator: "\n") + "\n"
        }
        if briefing.partial {
            lines.append("PARTIAL: " + briefing.missing.joined(separator: "; "))
        }
        lines.append("Classification: \(briefing.classification)")
        lines.append("")
        lines.append("Top tasks")
        if briefing.tasks.isEmpty { lines.append("  (none open)") }
        for (number, task) in briefing.tasks.enumerated() {
            var line = "  \(number + 1). [\(task.score)] \(task.title) (\(title(task.quadrant).lowercased())"
            if let deadline = task.deadline { line += ", due \(deadline)" }
            lines.append(line + ")")
        }
        lines.append("")
        lines.append(
            "Matrix: " + quadrantTitles.map { "\($0.1.lowercased()) \(briefing.quadrants[$0.0.rawValue] ?? 0)" }.joined(separator: ", "))
        lines.append("")
        lines.append("Time blocks (\(briefing.freeMinutes) free minutes)")
        if briefing.timeBlocks.isEmpty { lines.append("  (no free block of 30 minutes or more)") }
        for block in briefing.timeBlocks {
            lines.append("  \(clock(block.start))–\(clock(block.end))  \(block.label)")
        }
        if let replies = briefing.autoResponses {
            lines.append("")
            lines.append(
                "Auto-responses since \(replies.since ?? "the start"): \(replies.sent) sent, \(replies.awaitingApproval) awaiting your approval, \(replies.refused) refused, \(replies.inProgress) in progress"
            )
            for reply in replies.recent { lines.append("  - \(reply.status): to \(reply.to): \(reply.subject)") }
        }
        if !briefing.alerts.isEmpty {
            lines.append("")
            lines.append("Alerts")
            for alert in briefing.alerts { lines.append("  ! \(alert.text)") }
        }
        lines.append("")
        lines.append("Connectors")
        for state in briefing.connectorStatus {
            lines.append("  \(state.connector): \(state.status.rawValue)" + (state.detail.map { " (\($0))" } ?? ""))
        }
        if briefing.withheld.count > 0 {
            lines.append("")
            lines.append(
                "Left out: \(briefing.withheld.count) ("
                    + briefing.withheld.reasons.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ") + ")")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: HTML

    /// Text safe inside HTML and SVG elements and attribute values.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                if let scalar = character.unicodeScalars.first, character.unicodeScalars.count == 1, scalar.value < 0x20,
                    scalar != "\n", scalar != "\t"
                {
                    continue
                }
                out.append(character)
            }
        }
        return out
    }

    /// The Eisenhower matrix: urgency across, importance up, a cell per quadrant with its count
    /// and its first tasks.
    public static func matrix(_ briefing: Briefing) -> String {
        let cell = 220
        let origin = (x: 40, y: 10)
        // Important on top, urgent on the left (the classic layout).
        let places: [Quadrant: (column: Int, row: Int, fill: String)] = [
            .doFirst: (0, 0, "#f8d7da"), .schedule: (1, 0, "#fff3cd"), .delegate: (0, 1, "#d1ecf1"), .eliminate: (1, 1, "#e2e3e5"),
        ]
        var svg =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"Eisenhower matrix\" width=\"\(origin.x + 2 * cell + 10)\" height=\"\(origin.y + 2 * cell + 40)\" viewBox=\"0 0 \(origin.x + 2 * cell + 10) \(origin.y + 2 * cell + 40)\" font-family=\"sans-serif\" font-size=\"12\">"
        for (quadrant, name) in quadrantTitles {
            guard let place = places[quadrant] else { continue }
            let x = origin.x + place.column * cell
            let y = origin.y + place.row * cell
            let count = briefing.quadrants[quadrant.rawValue] ?? 0
            svg +=
                "<g class=\"quadrant\" data-quadrant=\"\(quadrant.rawValue)\"><rect x=\"\(x)\" y=\"\(y)\" width=\"\(cell)\" height=\"\(cell)\" fill=\"\(place.fill)\" stroke=\"#555\"/>"
            svg += "<text x=\"\(x + 8)\" y=\"\(y + 20)\" font-weight=\"bold\" font-size=\"14\">\(name) (\(count))</text>"
            let listed = briefing.tasks.filter { $0.quadrant == quadrant }.prefix(6)
            for (line, task) in listed.enumerated() {
                let label = task.title.count > 30 ? String(task.title.prefix(29)) + "…" : task.title
                svg += "<text x=\"\(x + 8)\" y=\"\(y + 44 + line * 18)\">\(task.score) · \(escape(label))</text>"
            }
            svg += "</g>"
        }
        svg +=
            "<text x=\"\(origin.x + cell / 2)\" y=\"\(origin.y + 2 * cell + 20)\" text-anchor=\"middle\">urgent</text><text x=\"\(origin.x + cell + cell / 2)\" y=\"\(origin.y + 2 * cell + 20)\" text-anchor=\"middle\">not urgent</text>"
        svg +=
            "<text x=\"14\" y=\"\(origin.y + cell / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(origin.y + cell / 2))\">important</text><text x=\"14\" y=\"\(origin.y + cell + cell / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(origin.y + cell + cell / 2))\">not important</text>"
        return svg + "</svg>"
    }

    public static func html(_ briefing: Briefing) -> String {
        var page =
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Briefing \(escape(briefing.date))</title>"
            + "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}.partial{background:#fff3cd;padding:.5em}.unavailable{background:#f8d7da;padding:.5em}</style>"
            + "</head><body>"
        page +=
            "<h1>Daily briefing, \(escape(briefing.date))</h1><p>\(escape(briefing.user)) · \(escape(briefing.timeZone)) · classification <b>\(escape(briefing.classification))</b></p>"
        if briefing.status == .unavailable {
            page += "<p class=\"unavailable\">No briefing: \(escape(briefing.reason ?? "the policy engine could not be asked"))</p>"
            return page + "</body></html>"
        }
        if briefing.partial {
            page +=
                "<p class=\"partial\">Partial briefing: \(briefing.missing.map(escape).joined(separator: "; "))</p>"
        }
        page += "<h2>Top tasks</h2><ol>"
        for task in briefing.tasks {
            var item = "<li><b>\(task.score)</b> \(escape(task.title)) <i>(\(title(task.quadrant)))</i>"
            if let deadline = task.deadline { item += " due \(escape(deadline))" }
            page += item + "</li>"
        }
        page += "</ol><h2>Eisenhower matrix</h2>" + matrix(briefing)
        page +=
            "<h2>Time blocks</h2><p>\(briefing.freeMinutes) free minutes.</p><table><tr><th>from</th><th>to</th><th>suggestion</th></tr>"
        for block in briefing.timeBlocks {
            page += "<tr><td>\(escape(clock(block.start)))</td><td>\(escape(clock(block.end)))</td><td>\(escape(block.label))</td></tr>"
        }
        page += "</table>"
        if let replies = briefing.autoResponses {
            page +=
                "<h2>Auto-responses</h2><p>\(replies.sent) sent, \(replies.awaitingApproval) awaiting your approval, \(replies.refused) refused, \(replies.inProgress) in progress.</p><ul>"
            for reply in replies.recent { page += "<li>\(escape(reply.status)): to \(escape(reply.to)): \(escape(reply.subject))</li>" }
            page += "</ul>"
        }
        if !briefing.alerts.isEmpty {
            page += "<h2>Alerts</h2><ul>" + briefing.alerts.map { "<li>\(escape($0.text))</li>" }.joined() + "</ul>"
        }
        page += "<h2>Connectors</h2><table><tr><th>connector</th><th>status</th><th>last sync</th><th>detail</th></tr>"
        for state in briefing.connectorStatus {
            page +=
                "<tr><td>\(escape(state.connector))</td><td>\(state.status.rawValue)</td><td>\(escape(state.lastSyncAt ?? "never"))</td><td>\(escape(state.detail ?? ""))</td></tr>"
        }
        page += "</table>"
        if briefing.withheld.count > 0 {
            page += "<p>Left out: \(briefing.withheld.count).</p>"
        }
        return page + "</body></html>"
    }
}
