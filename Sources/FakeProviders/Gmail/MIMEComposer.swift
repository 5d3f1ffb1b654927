/// Builds MIME parts for generated and control-made messages.
enum MIMEComposer {
    /// A `text/<subtype>` leaf: 7bit when ASCII, base64 otherwise.
    static func textPart(_ text: String, subtype: String) -> MIMEPart {
        let ascii = !text.utf8.contains { $0 >= 0x80 }
        return MIMEPart(
            headers: [
                ("Content-Type", "text/\(subtype); charset=\"UTF-8\""), ("Content-Transfer-Encoding", ascii ? "7bit" : "base64"),
            ], mimeType: "text/\(subtype)", body: Array(text.utf8))
    }

    static func multipart(_ subtype: String, boundary: String, parts: [MIMEPart]) -> MIMEPart {
        MIMEPart(
            headers: [("Content-Type", "multipart/\(subtype); boundary=\"\(boundary)\"")], mimeType: "multipart/\(subtype)", parts: parts)
    }

    static func attachment(name: String, type: String, bytes: [UInt8], id: String) -> MIMEPart {
        MIMEPart(
            headers: [
                ("Content-Type", "\(type); name=\"\(name)\""), ("Content-Disposition", "attachment; filename=\"\(name)\""),
                ("Content-Transfer-Encoding", "base64"), ("Content-ID", "<f_\(id)>"), ("X-Attachment-Id", "f_\(id)"),
            ], mimeType: type, filename: name, body: bytes)
    }

    /// Gmail-style HTML for a plain text body (worked on bytes: generation makes many).
    static func html(from text: String) -> String {
        var out: [UInt8] = Array("<div dir=\"ltr\"><p>".utf8)
        out.reserveCapacity(text.utf8.count + 64)
        var newlines = 0
        for byte in text.utf8 {
            if byte == 10 {
                newlines += 1
                continue
            }
            if newlines == 1 { out += Array("<br>".utf8) } else if newlines > 1 { out += Array("</p><p>".utf8) }
            newlines = 0
            switch byte {
            case 60: out += Array("&lt;".utf8)
            case 62: out += Array("&gt;".utf8)
            case 38: out += Array("&amp;".utf8)
            default: out.append(byte)
            }
        }
        out += Array("</p></div>\n".utf8)
        return String(decoding: out, as: UTF8.self)
    }

    /// A whole message: headers, a `multipart/alternative` text+HTML body.
    static func message(
        headers: [(name: String, value: String)], text: String, boundary: String
    ) -> MIMEPart {
        var body = multipart(
            "alternative", boundary: boundary, parts: [textPart(text, subtype: "plain"), textPart(html(from: text), subtype: "html")])
        body.headers = headers + body.headers
        return body
    }
}

/// Believable bytes for generated attachments and Drive files.
enum AttachmentContent {
    static func bytes(name: String, type: String, random: inout SeededGenerator) -> [UInt8] {
        switch type {
        case "application/pdf": return pdf(text: "Document \(name)")
        case "text/calendar":
            return Array(
                "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Fake Providers//EN\r\nBEGIN:VEVENT\r\nUID:\(random.string(16, alphabet: "abcdef0123456789"))\r\nSUMMARY:Planning\r\nDTSTART:20241104T100000Z\r\nDTEND:20241104T110000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
                    .utf8)
        case "text/csv":
            var csv = "month,revenue,cost\n"
            for month in 1...12 {
                csv +=
                    "2024-\(String(month).leftPadded(2)),\(Int.random(in: 10_000...90_000, using: &random)),\(Int.random(in: 5_000...40_000, using: &random))\n"
            }
            return Array(csv.utf8)
        case "image/png":
            return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
                + (0..<Int.random(in: 2000...9000, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
        default:
            return [0x50, 0x4B, 0x03, 0x04]
                + (0..<Int.random(in: 3000...12000, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
        }
    }

    /// A small valid PDF showing `text`.
    static func pdf(text: String) -> [UInt8] {
        let safe = String(text.prefix(200).map { "()\\".contains($0) ? " " : $0 })
        let stream = "BT /F1 12 Tf 72 720 Td (\(safe)) Tj ET"
        var objects = [
            "<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
            "<< /Length \(stream.utf8.count) >>\nstream\n\(stream)\nendstream", "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
        var out = "%PDF-1.4\n"
        var offsets: [Int] = []
        for (index, object) in objects.enumerated() {
            offsets.append(out.utf8.count)
            out += "\(index + 1) 0 obj\n\(object)\nendobj\n"
        }
        let xref = out.utf8.count
        out += "xref\n0 \(objects.count + 1)\n0000000000 65535 f \n"
        for offset in offsets { out += String(offset).leftPadded(10) + " 00000 n \n" }
        out += "trailer\n<< /Size \(objects.count + 1) /Root 1 0 R >>\nstartxref\n\(xref)\n%%EOF\n"
        objects.removeAll()
        return Array(out.utf8)
    }
}
