import Testing
@testable import WhisperEngine

@Suite struct TokenizerTests {
    let tokenizer = TestResources.model.tokenizer

    @Test func encodesWithGPT2Merges() {
        // GPT-2's ids, which Whisper's English vocabulary keeps: " Hello" 15947, " world" 995, "," 11, "!" 0.
        #expect(tokenizer.encode(" Hello world,") == [15947, 995, 11])
        #expect(tokenizer.encode("!") == [0])
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
        #expect(tokenizer.decode([50363, 15947, 995, 50256, 50400]) == " Hello world")
    }
}
