import Connectors
import Testing

/// Query strings sent to the providers: RFC 3986's unreserved characters as they are, every
/// other byte of the UTF-8 percent-encoded.
@Suite struct QueryTests {
    @Test func onlyUnreservedCharactersGoUnencoded() {
        #expect(Query.encode("AZaz09-._~") == "AZaz09-._~")
        #expect(Query.encode("a b&c=d/e?f+g") == "a%20b%26c%3Dd%2Fe%3Ff%2Bg")
        #expect(Query.encode("é") == "%C3%A9")
        #expect(Query.encode("updated >= \"2026-11-30 08:00\"") == "updated%20%3E%3D%20%222026-11-30%2008%3A00%22")
        #expect(Query.string([("q", "is:pr author:ana"), ("page", nil), ("per_page", "100")]) == "q=is%3Apr%20author%3Aana&per_page=100")
    }
}
