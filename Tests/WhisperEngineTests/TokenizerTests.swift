import Testing
@testable import WhisperEngine

@Suite(.enabled(if: TestResources.hasTinyEn, "needs models/tiny.en (make model)")) struct TokenizerTests {
    let tokenizer = TestResources.model.tokenizer

    /// Encoding the oracle's decoded text gives back the oracle's text tokens (the model sometimes writes a
    /// non-canonical split, such as "0" "142" for "0142", so nearly all rather than all) and always the same text.
    @Test func encodesLikeTheOracle() {
        var checked = 0
        var identical = 0
        for result in Goldens.tinyEn.greedy.values {
            for segment in result.segments {
                let textTokens = segment.tokens.filter { $0 < tokenizer.specialTokens.endOfText }
                let text = tokenizer.decode(textTokens)
                let encoded = tokenizer.encode(text)
                #expect(tokenizer.decode(encoded) == text)
                if encoded == textTokens { identical += 1 }
                checked += 1
            }
        }
        #expect(checked > 50)
        #expect(identical * 100 >= checked * 95)
    }

    @Test(arguments: [
        " Hello world, it's 42 degrees!", "  two  spaces\nand a newline", " naïve café — déjà vu", " 你好，世界", " x=1; y='two'",
    ])
    func roundTrips(_ text: String) {
        #expect(tokenizer.decode(tokenizer.encode(text)) == text)
    }

    /// Keeping the last tokens of a text gives exactly the end of its whole encoding, whatever comes before them.
    @Test func keepingTheLastTokensEqualsTheEndOfTheWholeEncoding() {
        let oracle = Goldens.tinyEn.greedy.values.flatMap { $0.segments }.map { segment in
            tokenizer.decode(segment.tokens.filter { $0 < tokenizer.specialTokens.endOfText })
        }.joined()
        let texts = [
            oracle, " Hello world", "", " 你好，世界。今天的天气很好，我们去公园散步吧！" + String(repeating: "一二三四五，", count: 40),
            String(repeating: " naïve café — déjà vu, 42 times!", count: 30), String(repeating: "ha", count: 100),
        ]
        for text in texts {
            for count in [1, 10, 223, 1_000] {
                #expect(tokenizer.encode(text, keepingLast: count) == Array(tokenizer.encode(text).suffix(count)), "\(count) of \(text.prefix(30))")
            }
        }
    }

    /// A 16 KiB prompt of one word costs no more to keep the end of than 16 KiB of ordinary words: only its last bytes
    /// are merged.
    @Test func aLongWordCostsNoMoreThanOrdinaryWords() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        let word = " " + String((0..<16 * 1024).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return letters[Int(state >> 33) % letters.count]
        })
        let sentence = " The lighthouse keeper wrote the weather in his log every evening."
        let ordinary = String(repeating: sentence, count: 16 * 1024 / sentence.utf8.count)
        func seconds(_ text: String) -> Double {
            let clock = ContinuousClock()
            return (0..<3).map { _ in
                let elapsed = clock.measure { _ = tokenizer.encode(text, keepingLast: 223) }
                return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            }.min()!
        }
        let wordSeconds = seconds(word)
        let ordinarySeconds = seconds(ordinary)
        #expect(tokenizer.encode(word, keepingLast: 223).count > 20)
        #expect(wordSeconds < max(3 * ordinarySeconds, 0.25), "one word \(wordSeconds) s, ordinary words \(ordinarySeconds) s")
    }

    @Test func splitsLikeGPT2() {
        #expect(PreTokenizer.split("Hello world's  end\n") == ["Hello", " world", "'s", " ", " end", "\n"])
        #expect(PreTokenizer.split(" 123abc!!") == [" 123", "abc", "!!"])
    }

    @Test func findsSpecialTokensByName() {
        let special = tokenizer.specialTokens
        #expect(special.endOfText == 50256)
        #expect(special.startOfTranscript == 50257)
        #expect(special.noSpeech == 50361)
        #expect(special.noTimestamps == 50362)
        #expect(special.timestampBegin == 50363)
        #expect(!special.isMultilingual)
    }

    @Test func decodeSkipsSpecialAndTimestampTokens() {
        let hello = tokenizer.encode(" Hello world")
        #expect(tokenizer.decode([50363] + hello + [50256, 50400]) == " Hello world")
    }
}
