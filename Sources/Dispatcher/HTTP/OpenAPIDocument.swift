import Foundation

/// The OpenAPI 3.1 description of the gateway: `openapi.json`, embedded in the executable as a
/// resource, served at `/openapi.json` and printed by `Dispatcher openapi`. Tests keep it in
/// step with the routes and the kind catalog.
enum OpenAPIDocument {
    static let data: Data = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"), let data = try? Data(contentsOf: url) else {
            fatalError("the API document (openapi.json) is missing from the Dispatcher's resources")
        }
        return data
    }()

    static var json: String { String(decoding: data, as: UTF8.self) }
}
