import Foundation
import Testing

@testable import WhisperServer

@Suite("Security: API key store")
struct SecurityAPIKeyStoreTests {
    func writeTemporary(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "whisper-keys-\(UUID().uuidString)"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func loadsFileWithNamesCommentsAndBlankLines() throws {
        let path = try writeTemporary(
            """
            # production keys
            alice:sk-alice-0123456789

              bob : sk-bob-0123456789  
            sk-anonymous-0123456789
            """
        )
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try APIKeyStore(file: path)
        #expect(store.count == 3)
        #expect(store.names == ["alice", "bob", "key-3"])
        #expect(store.name(forKey: "sk-alice-0123456789") == "alice")
        #expect(store.name(forKey: "sk-bob-0123456789") == "bob")
        #expect(store.name(forKey: "sk-anonymous-0123456789") == "key-3")
    }

    @Test func loadsEnvironmentListAndMergesWithFile() throws {
        let path = try writeTemporary("alice:sk-a\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try APIKeyStore(file: path, environment: "ci:sk-ci, sk-plain ,")
        #expect(store.names == ["alice", "ci", "key-3"])
        #expect(store.name(forKey: "sk-plain") == "key-3")
        #expect(store.name(forKey: "sk-ci") == "ci")
    }

    @Test func rejectsWrongPrefixLongerAndEmptyKeys() throws {
        let store = try APIKeyStore(environment: "alice:sk-secret-value")
        #expect(store.name(forKey: "sk-secret-valuf") == nil)
        #expect(store.name(forKey: "sk-secret-valu") == nil)
        #expect(store.name(forKey: "sk-secret-value2") == nil)
        #expect(store.name(forKey: "") == nil)
        #expect(store.name(forKey: "alice") == nil)
    }

    @Test func unreadableFileAndMalformedEntriesNeverEchoTheKey() throws {
        #expect(throws: APIKeyStoreError.unreadableFile("/nonexistent/keys")) { try APIKeyStore(file: "/nonexistent/keys") }
        do {
            _ = try APIKeyStore(environment: "alice:sk has space")
            Issue.record("expected an error")
        } catch {
            #expect(!error.description.contains("sk has space"))
            #expect(error.description.contains("WHISPER_API_KEYS entry 1"))
        }
        #expect(throws: APIKeyStoreError.duplicateName("a")) { try APIKeyStore(environment: "a:k1,a:k2") }
        #expect(throws: (any Error).self) { try APIKeyStore(environment: "bad name!:k1") }
        #expect(throws: (any Error).self) { try APIKeyStore(environment: "name:") }
    }

    @Test func descriptionShowsNamesOnly() throws {
        let store = try APIKeyStore(environment: "alice:sk-top-secret")
        #expect(store.description.contains("alice"))
        #expect(!store.description.contains("sk-top-secret"))
        #expect(!"\(store)".contains("sk-top-secret"))
    }

    @Test func constantTimeComparisonIsCorrect() {
        func eq(_ a: String, _ b: String) -> Bool { APIKeyStore.constantTimeEquals(Array(a.utf8), Array(b.utf8)) }
        #expect(eq("abc", "abc"))
        #expect(eq("", ""))
        #expect(!eq("abc", "abd"))
        #expect(!eq("abc", "ab"))
        #expect(!eq("ab", "abc"))
        #expect(!eq("abc", "abc\0"))  // padding with zero bytes must not make them equal
        #expect(!eq("", "a"))
    }

    @Test func lookupComparesEveryKeyWhateverMatches() throws {
        let store = try APIKeyStore(environment: "a:key-a,b:key-b,c:key-c,d:key-d")
        for (presented, expected) in [("key-a", "a"), ("key-d", "d"), ("nope", nil)] as [(String, String?)] {
            var compared: [Int] = []
            let name = store.lookup(presented) { compared.append($0) }
            #expect(name == expected)
            #expect(compared == [0, 1, 2, 3], "all keys are compared, with no early exit on a match")
        }
    }
}
