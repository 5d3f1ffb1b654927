import Contracts

/// A briefing as the JSON it is stored as (the same document `JSONEncoder` makes of it: absent
/// optionals left out), built directly: encoding through `Encodable` was a tenth of a
/// briefing worker's CPU.
extension Briefing {
    public var json: JSONValue {
        var out: [String: JSONValue] = [
            "id": .string(id), "user": .string(user), "date": .string(date), "time_zone": .string(timeZone),
            "generated_at": .string(generatedAt), "status": .string(status.rawValue), "missing": .array(missing.map(JSONValue.string)),
            "classification": .string(classification), "tasks": .array(tasks.map(\.json)),
            "quadrants": .object(quadrants.mapValues(Self.int)),
            "time_blocks": .array(timeBlocks.map(\.json)), "free_minutes": Self.int(freeMinutes), "alerts": .array(alerts.map(\.json)),
            "connector_status": .array(connectorStatus.map(\.json)), "withheld": withheld.json,
            "delivery": .object(delivery.mapValues(JSONValue.string)),
        ]
        out["reason"] = reason.map(JSONValue.string)
        out["auto_responses"] = autoResponses?.json
        return .object(out)
    }

    static func int(_ value: Int) -> JSONValue { .integer(Int64(value)) }
}

extension Briefing.Task {
    var json: JSONValue {
        var out: [String: JSONValue] = [
            "id": .string(id), "title": .string(title), "score": Briefing.int(score), "quadrant": .string(quadrant.rawValue),
            "urgency": Briefing.int(urgency), "importance": Briefing.int(importance), "sources": .array(sources.map(\.json)),
            "classification": .string(classification),
        ]
        out["deadline"] = deadline.map(JSONValue.string)
        return .object(out)
    }
}

extension TaskSource {
    var json: JSONValue {
        var out: [String: JSONValue] = ["system": .string(system), "id": .string(id), "title": .string(title)]
        out["url"] = url.map(JSONValue.string)
        return .object(out)
    }
}

extension Briefing.TimeBlock {
    var json: JSONValue {
        var out: [String: JSONValue] = [
            "start": .string(start), "end": .string(end), "minutes": Briefing.int(minutes), "label": .string(label),
        ]
        out["task_id"] = taskID.map(JSONValue.string)
        return .object(out)
    }
}

extension Briefing.AutoResponses {
    var json: JSONValue {
        var out: [String: JSONValue] = [
            "sent": Briefing.int(sent), "awaiting_approval": Briefing.int(awaitingApproval), "refused": Briefing.int(refused),
            "in_progress": Briefing.int(inProgress),
            "recent": .array(recent.map { .object(["to": .string($0.to), "subject": .string($0.subject), "status": .string($0.status)]) }),
        ]
        out["since"] = since.map(JSONValue.string)
        return .object(out)
    }
}

extension Briefing.Alert {
    var json: JSONValue {
        var out: [String: JSONValue] = ["kind": .string(kind), "text": .string(text)]
        out["link"] = link.map(JSONValue.string)
        return .object(out)
    }
}

extension Briefing.ConnectorState {
    var json: JSONValue {
        var out: [String: JSONValue] = ["connector": .string(connector), "status": .string(status.rawValue)]
        out["last_sync_at"] = lastSyncAt.map(JSONValue.string)
        out["detail"] = detail.map(JSONValue.string)
        return .object(out)
    }
}

extension Briefing.Withheld {
    var json: JSONValue { .object(["count": Briefing.int(count), "reasons": .object(reasons.mapValues(Briefing.int))]) }
}
