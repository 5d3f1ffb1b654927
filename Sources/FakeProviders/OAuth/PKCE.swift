import Crypto

/// RFC 7636 code challenges.
enum PKCE {
    /// Whether `verifier` answers `challenge` under `method` (`S256` or `plain`).
    static func verify(verifier: String, challenge: String, method: String) -> Bool {
        switch method {
        case "S256":
            let digest = SHA256.hash(data: Array(verifier.utf8))
            return Base64.urlEncodeUnpadded(Array(digest)) == challenge
        case "plain": return verifier == challenge
        default: return false
        }
    }

    /// The S256 challenge of `verifier` (tests and examples).
    static func challenge(for verifier: String) -> String {
        Base64.urlEncodeUnpadded(Array(SHA256.hash(data: Array(verifier.utf8))))
    }

    /// A verifier is 43–128 characters of `[A-Za-z0-9-._~]`.
    static func isWellFormed(_ verifier: String) -> Bool {
        (43...128).contains(verifier.count)
            && verifier.utf8.allSatisfy {
                ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || "-._~".utf8.contains($0)
            }
    }
}
