/// Control routes for webhooks: register endpoints, list deliveries, redeliver.
extension ControlService {
    func webhookRegister(_ request: ProviderRequest) -> ProviderResponse {
        guard case .success(let body) = Self.body(request), let service = body["service"]?.stringValue.flatMap(ServiceKind.init(rawValue:)),
            service == .github || service == .jira, let url = body["url"]?.stringValue
        else { return Self.error("needs service (github or jira) and url") }
        let id = world.webhooks.register(
            service: service, url: url, secret: body["secret"]?.stringValue, events: body["events"]?.stringArray ?? [])
        return .json(.object([("id", .int(Int64(id)))]))
    }

    func webhookClear() -> ProviderResponse {
        world.webhooks.clear()
        return Self.ok
    }

    func webhookDeliveries() -> ProviderResponse {
        let list: [JSON] = world.webhooks.deliveries.map { delivery in
            .object([
                ("id", .string(delivery.id)), ("service", .string(delivery.hook.service.rawValue)), ("event", .string(delivery.event)),
                ("url", .string(delivery.hook.url)), ("attempts", .int(Int64(delivery.attempts))),
                ("status", delivery.status.map { .int(Int64($0)) } ?? .null),
            ])
        }
        return .json(.object([("deliveries", .array(list))]))
    }

    func webhookRedeliver(_ request: ProviderRequest) -> ProviderResponse {
        guard case .success(let body) = Self.body(request), let id = body["delivery"]?.stringValue else {
            return Self.error("needs delivery")
        }
        return world.webhooks.redeliver(id) ? Self.ok : Self.error("no delivery \(id)", status: 404)
    }
}
