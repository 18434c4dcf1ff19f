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
