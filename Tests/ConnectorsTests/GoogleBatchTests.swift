import Connectors
import OutboundHTTP
import Testing

/// Google batch bodies as the connectors write them, and batch answers as Google writes them
/// (parts in any order, LF or CRLF, a quoted boundary).
@Suite struct GoogleBatchTests {
    @Test func aBatchOfGetsIsOnePartPerCallNumberedInOrder() {
        let body = String(decoding: GoogleBatch.body(gets: ["/a?x=1", "/b"], boundary: "B"), as: UTF8.self)
        #expect(
            body
                == "--B\r\nContent-Type: application/http\r\nContent-ID: <item0>\r\n\r\nGET /a?x=1 HTTP/1.1\r\n\r\n"
                + "--B\r\nContent-Type: application/http\r\nContent-ID: <item1>\r\n\r\nGET /b HTTP/1.1\r\n\r\n--B--\r\n")
    }

    @Test func answersArePairedByContentIDWhateverTheirOrder() throws {
        let text =
            "preamble\n--batch_x\nContent-Type: application/http\nContent-ID: <response-item1>\n\n"
            + "HTTP/1.1 404 Not Found\nContent-Type: application/json\n\n{\"error\":{\"code\":404}}\n"
            + "--batch_x\r\nContent-Type: application/http\r\nContent-ID: <response-item0>\r\n\r\n"
            + "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=UTF-8\r\nETag: \"e\"\r\n\r\n{\"id\":\"m0\"}\r\n--batch_x--\r\n"
        let response = OutboundResponse(
            status: 200, headers: [("Content-Type", #"multipart/mixed; boundary="batch_x""#)], body: Array(text.utf8))
        let answers = try #require(GoogleBatch.answers(response, calls: 3))
        #expect(answers[0]?.status == 200)
        #expect(answers[0].map { String(decoding: $0.body, as: UTF8.self) } == #"{"id":"m0"}"#)
        #expect(answers[0]?.header("etag") == "\"e\"")
        #expect(answers[1]?.status == 404)
        #expect(answers[1].map { String(decoding: $0.body, as: UTF8.self) } == #"{"error":{"code":404}}"#)
        #expect(answers[2] == nil, "a call the batch did not answer")
        #expect(GoogleBatch.answers(OutboundResponse(status: 200, headers: [("Content-Type", "application/json")]), calls: 1) == nil)
        // Content-IDs naming no call of the batch are ignored, whatever they say.
        let stray =
            "--b\r\nContent-ID: <response-item-1>\r\n\r\nHTTP/1.1 200 OK\r\n\r\n{}\r\n--b\r\nContent-ID: <response-item99>\r\n\r\n"
            + "HTTP/1.1 200 OK\r\n\r\n{}\r\n--b\r\nContent-ID: <response-x>\r\n\r\nnot http\r\n--b--"
        let strays = GoogleBatch.answers(
            OutboundResponse(status: 200, headers: [("Content-Type", "multipart/mixed; boundary=b")], body: Array(stray.utf8)), calls: 2)
        #expect(strays.map { $0.allSatisfy { $0 == nil } } == true)
    }
}
