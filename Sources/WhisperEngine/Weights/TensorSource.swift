/// A weight file's tensors under the engine's canonical names, whatever the file's own naming and storage.
///
/// The canonical names are CTranslate2's (`encoder/layer_0/self_attention/linear_0/weight`, with Q, K and V fused
/// into one matrix), so ``ModelWeights/init(source:)`` is written once for every format.
protocol TensorSource {
    /// The weight file's name (never its path), for error messages.
    var fileName: String { get }
    /// Whether the tensor exists.
    func contains(_ name: String) -> Bool
    /// The tensor's shape, outermost dimension first, or an error naming it when missing.
    func shape(_ name: String) throws(ModelLoadingError) -> [Int]
    /// The tensor's values widened or dequantised to `Float`, row-major.
    func floats(_ name: String) throws(ModelLoadingError) -> [Float]
    /// An integer scalar such as `encoder/num_heads`.
    func integer(_ name: String) throws(ModelLoadingError) -> Int
}

extension TensorSource {
    /// The tensor's values, after checking that it has the `expected` shape.
    func floats(_ name: String, shape expected: [Int]) throws(ModelLoadingError) -> [Float] {
        let actual = try shape(name)
        guard actual == expected else {
            throw ModelLoadingError(.corrupt, "\(fileName): \(name) has shape \(actual), expected \(expected)")
        }
        return try floats(name)
    }
}
