import Foundation
import Testing

@testable import WhisperServer

/// Defaults, `WHISPER_*` overrides and validation of ``ServerConfiguration``.
@Suite struct ServerConfigurationTests {
    @Test func defaults() throws {
        let configuration = ServerConfiguration()
        #expect(configuration.http.host == "127.0.0.1")
        #expect(configuration.http.port == 8084)
        #expect(configuration.models.directory == "./models")
        #expect(configuration.models.defaultModel == "tiny.en")
        #expect(configuration.models.allAliases == ["whisper-1": "tiny.en"])
        #expect(configuration.inference.workers == 8)
        #expect(configuration.inference.encoderPrecision == .float32)
        #expect(configuration.inference.decoderWeights == .checkpoint)
        #expect(configuration.limits.maxUploadBytes == 25 * 1024 * 1024)
        try configuration.validate()
    }

    @Test func environmentOverridesDefaults() throws {
        var configuration = ServerConfiguration()
        try configuration.applyEnvironment([
            "WHISPER_HOST": "0.0.0.0", "WHISPER_PORT": "9000", "WHISPER_MODELS_DIR": "/srv/models", "WHISPER_DEFAULT_MODEL": "base",
            "WHISPER_WORKERS": "4", "WHISPER_QUEUE_SIZE": "2", "WHISPER_REQUEST_TIMEOUT": "30", "WHISPER_MAX_UPLOAD_MB": "1.5",
            "WHISPER_MAX_LOADED_MODELS": "3", "WHISPER_MODEL_IDLE_TTL": "60", "WHISPER_PRELOAD": "true",
            "WHISPER_MODEL_ALIASES": "fast=tiny.en, good=base", "WHISPER_ENCODER_PRECISION": "bfloat16",
            "WHISPER_DECODER_WEIGHTS": "int8", "UNRELATED": "x",
        ])
        #expect(configuration.http.host == "0.0.0.0")
        #expect(configuration.http.port == 9000)
        #expect(configuration.models.directory == "/srv/models")
        #expect(configuration.models.allAliases == ["whisper-1": "base", "fast": "tiny.en", "good": "base"])
        #expect(configuration.inference.workers == 4)
        #expect(configuration.inference.queueSize == 2)
        #expect(configuration.inference.requestTimeout == 30)
        #expect(configuration.inference.encoderPrecision == .bfloat16)
        #expect(configuration.inference.decoderWeights == .int8)
        #expect(configuration.limits.maxUploadBytes == 1_572_864)
        #expect(configuration.models.maxLoaded == 3)
        #expect(configuration.models.idleTTL == 60)
        #expect(configuration.models.preload)
    }

    @Test func environmentProblemsAreAllListed() {
        var configuration = ServerConfiguration()
        #expect {
            try configuration.applyEnvironment([
                "WHISPER_PORT": "eighty", "WHISPER_PRELOAD": "perhaps", "WHISPER_MODEL_ALIASES": "broken",
                "WHISPER_ENCODER_PRECISION": "int4", "WHISPER_DECODER_WEIGHTS": "int3",
            ])
        } throws: { error in
            (error as? ServerConfiguration.ValidationError)?.problems.count == 5
        }
    }

    @Test func validationListsEveryProblem() {
        var configuration = ServerConfiguration()
        configuration.http.port = 70000
        configuration.inference.workers = 0
        configuration.inference.requestTimeout = -1
        configuration.models.maxLoaded = 0
        #expect(configuration.problems.count == 4)
        #expect(throws: ServerConfiguration.ValidationError.self) { try configuration.validate() }
    }

    @Test func bodyLimitsCoverFormOverheadAndBase64() {
        let limits = ServerConfiguration.Limits()
        #expect(limits.maxBodyBytes(isJSON: false) > limits.maxUploadBytes)
        #expect(limits.maxBodyBytes(isJSON: true) > limits.maxUploadBytes * 4 / 3)
    }

    @Test func multipartHeaderParameters() {
        let header = HeaderParameters(#"form-data; name="file"; filename="a; b \"c\".wav""#)
        #expect(header.value == "form-data")
        #expect(header["name"] == "file")
        #expect(header["filename"] == #"a; b "c".wav"#)
        #expect(MediaKind("multipart/form-data; boundary=abc") == .multipart(boundary: "abc"))
        #expect(MediaKind("Application/JSON; charset=utf-8") == .json)
    }
}
