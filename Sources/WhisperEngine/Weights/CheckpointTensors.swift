/// A weight file's own tensors, by the file's own names.
protocol RawTensorFile {
    /// The file's name (never its path), for error messages.
    var fileName: String { get }
    /// The tensor's shape, outermost dimension first, or `nil` when the file has no such tensor.
    func rawShape(_ name: String) -> [Int]?
    /// The tensor's values as `Float`, row-major.
    func rawFloats(_ name: String) throws(ModelLoadingError) -> [Float]
}

/// How a PyTorch-style checkpoint names what the engine calls by CTranslate2's names.
///
/// Checkpoints keep attention's Q, K and V (and cross-attention's K and V) as separate matrices, K without a bias;
/// the engine's canonical tensors fuse them, with zeros for K's bias, exactly as CTranslate2's converter does.
struct CheckpointNaming: Sendable {
    /// Whole tensors: canonical name → file name.
    let tensors: [String: String]
    /// Modules outside the layers: canonical module → file module.
    let modules: [String: String]
    /// File prefix of encoder layer `n` is `"\(encoderLayers).\(n)"`.
    let encoderLayers: String
    /// File prefix of decoder layer `n` is `"\(decoderLayers).\(n)"`.
    let decoderLayers: String
    /// Modules inside a layer: canonical module → file modules, fused in this order.
    let layerModules: [String: [String]]

    /// OpenAI's checkpoint names, which whisper.cpp's ggml files keep.
    static let openAI = CheckpointNaming(
        tensors: [
            "encoder/position_encodings/encodings": "encoder.positional_embedding",
            "decoder/position_encodings/encodings": "decoder.positional_embedding",
            "decoder/embeddings/weight": "decoder.token_embedding.weight",
        ],
        modules: ["encoder/conv1": "encoder.conv1", "encoder/conv2": "encoder.conv2", "encoder/layer_norm": "encoder.ln_post", "decoder/layer_norm": "decoder.ln"],
        encoderLayers: "encoder.blocks", decoderLayers: "decoder.blocks",
        layerModules: [
            "self_attention/layer_norm": ["attn_ln"], "self_attention/linear_0": ["attn.query", "attn.key", "attn.value"],
            "self_attention/linear_1": ["attn.out"], "attention/layer_norm": ["cross_attn_ln"],
            "attention/linear_0": ["cross_attn.query"], "attention/linear_1": ["cross_attn.key", "cross_attn.value"],
            "attention/linear_2": ["cross_attn.out"], "ffn/layer_norm": ["mlp_ln"], "ffn/linear_0": ["mlp.0"], "ffn/linear_1": ["mlp.2"],
        ])

    /// Hugging Face Transformers' `WhisperForConditionalGeneration` names.
    static let huggingFace = CheckpointNaming(
        tensors: [
            "encoder/position_encodings/encodings": "model.encoder.embed_positions.weight",
            "decoder/position_encodings/encodings": "model.decoder.embed_positions.weight",
            "decoder/embeddings/weight": "model.decoder.embed_tokens.weight",
        ],
        modules: [
            "encoder/conv1": "model.encoder.conv1", "encoder/conv2": "model.encoder.conv2",
            "encoder/layer_norm": "model.encoder.layer_norm", "decoder/layer_norm": "model.decoder.layer_norm",
        ],
        encoderLayers: "model.encoder.layers", decoderLayers: "model.decoder.layers",
        layerModules: [
            "self_attention/layer_norm": ["self_attn_layer_norm"],
            "self_attention/linear_0": ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"],
            "self_attention/linear_1": ["self_attn.out_proj"], "attention/layer_norm": ["encoder_attn_layer_norm"],
            "attention/linear_0": ["encoder_attn.q_proj"], "attention/linear_1": ["encoder_attn.k_proj", "encoder_attn.v_proj"],
            "attention/linear_2": ["encoder_attn.out_proj"], "ffn/layer_norm": ["final_layer_norm"], "ffn/linear_0": ["fc1"],
            "ffn/linear_1": ["fc2"],
        ])

    /// The file tensors behind a canonical name (several when fused), or `nil` when the name has no counterpart.
    func fileNames(for canonical: String) -> [String]? {
        if let name = tensors[canonical] { return [name] }
        guard let slash = canonical.lastIndex(of: "/") else { return nil }
        let module = String(canonical[..<slash])
        let leaf = String(canonical[canonical.index(after: slash)...])
        let fileLeaf: String
        switch leaf {
        case "weight", "gamma": fileLeaf = "weight"
        case "bias", "beta": fileLeaf = "bias"
        default: return nil
        }
        if let name = modules[module] { return ["\(name).\(fileLeaf)"] }
        let parts = module.split(separator: "/", maxSplits: 2).map(String.init)
        guard parts.count == 3, parts[1].hasPrefix("layer_"), let index = Int(parts[1].dropFirst("layer_".count)),
            let inner = layerModules[parts[2]]
        else { return nil }
        let prefix: String
        switch parts[0] {
        case "encoder": prefix = encoderLayers
        case "decoder": prefix = decoderLayers
        default: return nil
        }
        return inner.map { "\(prefix).\(index).\($0).\(fileLeaf)" }
    }
}

/// A checkpoint's tensors under the engine's canonical names: renamed, fused, with hyper-parameter scalars.
struct CheckpointTensors<File: RawTensorFile>: TensorSource {
    let file: File
    let naming: CheckpointNaming
    /// Scalars the canonical layout keeps as tensors (`encoder/num_heads`), from the checkpoint's hyper-parameters.
    let scalars: [String: Int]

    var fileName: String { file.fileName }

    func contains(_ name: String) -> Bool {
        guard let parts = naming.fileNames(for: name) else { return scalars[name] != nil }
        if parts.count > 1 && name.hasSuffix("/bias") {
            return parts.contains { file.rawShape($0) != nil }
        }
        return parts.allSatisfy { file.rawShape($0) != nil }
    }

    func shape(_ name: String) throws(ModelLoadingError) -> [Int] {
        let parts = try fileNames(name)
        var rows = 0
        var inner: [Int]?
        for part in parts {
            let shape = try partShape(part, fused: parts.count > 1)
            guard let first = shape.first, inner == nil || inner! == Array(shape.dropFirst()) else {
                throw ModelLoadingError(.corrupt, "\(fileName): \(part) has shape \(shape), which does not fit with \(parts[0])")
            }
            rows += first
            inner = Array(shape.dropFirst())
        }
        return [rows] + (inner ?? [])
    }

    func floats(_ name: String) throws(ModelLoadingError) -> [Float] {
        let parts = try fileNames(name)
        guard parts.count > 1 else { return try file.rawFloats(parts[0]) }
        var values: [Float] = []
        for part in parts {
            if file.rawShape(part) != nil {
                values += try file.rawFloats(part)
            } else {
                values += [Float](repeating: 0, count: try partShape(part, fused: true).reduce(1, *))
            }
        }
        return values
    }

    func integer(_ name: String) throws(ModelLoadingError) -> Int {
        guard let value = scalars[name] else {
            throw ModelLoadingError(.corrupt, "\(fileName): \(name) is missing")
        }
        return value
    }

    private func fileNames(_ name: String) throws(ModelLoadingError) -> [String] {
        guard let parts = naming.fileNames(for: name) else {
            throw ModelLoadingError(.corrupt, "\(fileName): no tensor corresponds to \(name)")
        }
        return parts
    }

    /// A part's shape; a fused bias the file leaves out (K's) has as many rows as its weight.
    private func partShape(_ part: String, fused: Bool) throws(ModelLoadingError) -> [Int] {
        if let shape = file.rawShape(part) { return shape }
        let weight = part.hasSuffix(".bias") ? String(part.dropLast("bias".count)) + "weight" : nil
        if fused, let weight, let rows = file.rawShape(weight)?.first { return [rows] }
        throw ModelLoadingError(.corrupt, "\(fileName): tensor \(part) is missing")
    }
}
