import Foundation

/// The oracle's outputs (faster-whisper 1.2.1 on the same tiny.en weights) and the fixtures' manifest.
struct Goldens: Decodable {
    struct Segment: Decodable {
        let start: Double
        let end: Double
        let text: String
        let tokens: [Int]
    }

    struct Result: Decodable {
        let text: String
        let segments: [Segment]
    }

    struct Word: Decodable {
        let word: String
        let start: Double
        let end: Double
    }

    let greedy: [String: Result]
    let beam5: [String: Result]
    let words: [String: [Word]]

    static let tinyEn: Goldens = load("goldens/tiny.en.json")

    static func load<T: Decodable>(_ path: String) -> T {
        do {
            let data = try Data(contentsOf: TestResources.fixtures.appendingPathComponent(path))
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            fatalError("fixture \(path) is unreadable: \(error)")
        }
    }
}

/// `Tests/Fixtures/speech/manifest.json`.
struct FixtureManifest: Decodable {
    struct Fixture: Decodable {
        let name: String
        let file: String
        let kind: String
        let duration: Double
        let text: String?
    }

    let fixtures: [Fixture]

    static let speech: FixtureManifest = Goldens.load("speech/manifest.json")
}

/// Word error rate after lower-casing and dropping punctuation (numbers kept as written).
enum WordErrorRate {
    static func words(_ text: String) -> [String] {
        let kept = text.lowercased().unicodeScalars.map { scalar -> Character in
            CharacterSet.alphanumerics.contains(scalar) || scalar == "'" ? Character(scalar) : " "
        }
        return String(kept).split(separator: " ").map(String.init)
    }

    /// Edit distance between the word lists, and the reference's word count.
    static func errors(reference: String, hypothesis: String) -> (errors: Int, words: Int) {
        let r = words(reference)
        let h = words(hypothesis)
        var previous = Array(0...h.count)
        for i in 1...max(r.count, 1) where !r.isEmpty {
            var current = [i] + Array(repeating: 0, count: h.count)
            for j in stride(from: 1, through: h.count, by: 1) {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r[i - 1] == h[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return (r.isEmpty ? h.count : previous[h.count], r.count)
    }
}
