import NIOCore
import WhisperEngine

extension TranscriptionRequest {
    /// Reads OpenAI's form: `file`, `model`, `language`, `prompt`, `response_format`, `temperature`,
    /// `timestamp_granularities[]`, `stream`, `include[]`, `chunking_strategy`. Unknown fields are ignored, as OpenAI does.
    /// - Parameters:
    ///   - form: the parsed multipart body.
    ///   - task: transcribe or translate (from the path).
    ///   - limits: size caps.
    /// - Throws: 400 with `param` for a missing file or a wrong value, 413 for a file over the upload limit.
    init(form: MultipartForm, task: TranscriptionTask, limits: ServerConfiguration.Limits) throws(OpenAIError) {
        let fields = Fields(limits: limits)
        guard let file = form.files["file"] else {
            if form.field("file") != nil {
                throw .invalidParameter("file", "'file' must be a file upload (a part with a filename), not a text field")
            }
            throw .missingParameter("file")
        }
        guard file.body.readableBytes <= limits.maxUploadBytes else { throw .tooLarge(limitBytes: limits.maxUploadBytes) }
        self.init(audio: Array(buffer: file.body), model: try fields.model(form.field("model")), task: task, dialect: .openAI)
        language = try fields.language(form.field("language"))
        prompt = try fields.text("prompt", form.field("prompt"), maxBytes: limits.maxPromptBytes)
        responseFormat = try fields.responseFormat(form.field("response_format"))
        temperature = try fields.temperature(form.field("temperature"))
        let granularityValues = (form.fields["timestamp_granularities[]"] ?? []) + (form.fields["timestamp_granularities"] ?? [])
        granularities = try fields.granularities(granularityValues, format: responseFormat)
        stream = try fields.bool("stream", form.field("stream"))
        includeLogprobs = try fields.includesLogprobs((form.fields["include[]"] ?? []) + (form.fields["include"] ?? []), format: responseFormat)
        voiceActivity = try fields.chunkingStrategy(ChunkingStrategy(form: form))
    }
}
