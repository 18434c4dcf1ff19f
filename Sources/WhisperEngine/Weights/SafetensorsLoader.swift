import Foundation

/// Loads a Hugging Face Whisper checkpoint: `model.safetensors`, `config.json` (a `WhisperConfig`),
/// `tokenizer.json`, and `generation_config.json` when present.
struct SafetensorsLoader {
    let directory: URL

    func load() throws(ModelLoadingError) -> WhisperModel {
        let weightsURL = directory.appendingPathComponent("model.safetensors")
        let configURL = directory.appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: configURL.path) else {
            throw ModelLoadingError(.missingFile, "config.json is missing from model directory \(directory.lastPathComponent)")
        }
        guard let config = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ModelLoadingError(.corrupt, "config.json: not a JSON object")
        }
        if let type = config["model_type"] as? String, type != "whisper" {
            throw ModelLoadingError(.unsupported, "config.json: model_type \(type) is not whisper")
        }
        guard let heads = config["encoder_attention_heads"] as? Int, heads > 0 else {
            throw ModelLoadingError(.corrupt, "config.json: encoder_attention_heads is missing")
        }
        if let decoderHeads = config["decoder_attention_heads"] as? Int, decoderHeads != heads {
            throw ModelLoadingError(.unsupported, "config.json: encoder and decoder head counts differ, which is not a Whisper architecture")
        }
        let file = try SafetensorsFile(url: weightsURL)
        let tensors = CheckpointTensors(file: file, naming: .huggingFace, scalars: ["encoder/num_heads": heads])
        let embeddingRows = try tensors.shape("decoder/embeddings/weight").first ?? 0
        if let vocabularySize = config["vocab_size"] as? Int, vocabularySize != embeddingRows {
            throw ModelLoadingError(
                .corrupt, "config.json: vocab_size \(vocabularySize) does not match the embedding's \(embeddingRows) rows")
        }
        let directory = directory
        let (weights, tokenizer) = try concurrently { () throws(ModelLoadingError) in try ModelWeights(source: tensors) } alongside: {
            () throws(ModelLoadingError) in try Tokenizer(directory: directory, vocabularySize: embeddingRows)
        }
        let format = SafetensorsFile.formatName(of: weightsURL) ?? "safetensors"
        let info = ModelInfo(format: format, weights: weights, tokenizer: tokenizer, fileBytes: ModelFormat.fileSize(weightsURL))
        let configuration = try ModelConfiguration(huggingFace: directory, tokenizer: tokenizer, hyper: weights.hyper)
        return WhisperModel(info: info, weights: weights, tokenizer: tokenizer, configuration: configuration)
    }
}
