internal import CDNNL

/// `Y = epilogue(X · Wᵀ + b)` for a fixed row count on oneDNN's matmul, the bias and the epilogue applied as the kernel
/// writes each block rather than in passes of their own:
/// - bfloat16 (AVX512-BF16 or AMX): `W` rounded and packed into the kernel's layout once;
/// - `Float`: `W` as the layer holds it (PyTorch's layout), given at each call, so the weights are not held twice.
final class LayerProduct: @unchecked Sendable {
    let rows: Int
    let inputs: Int
    let outputs: Int
    let precision: ProductPrecision
    private let primitive: dnnl_primitive_t
    /// The bfloat16 weights in the kernel's layout; `nil` for `Float`.
    private let packedWeights: UnsafeMutableRawPointer?
    private let bias: UnsafeMutablePointer<Float>?
    private let sourceDescriptor: dnnl_memory_desc_t
    private let weightsDescriptor: dnnl_memory_desc_t
    private let biasDescriptor: dnnl_memory_desc_t
    private let destinationDescriptor: dnnl_memory_desc_t
    private let scratchpadDescriptor: dnnl_memory_desc_t

    /// Prepares the product of `rows` rows by an `outputs × inputs` weight matrix (PyTorch's layout). A bfloat16
    /// product packs `weight` now; a `Float` one takes `nil` and is given the weights at each call.
    init(
        weight: UnsafePointer<Float>?, bias: [Float], rows: Int, inputs: Int, outputs: Int, epilogue: ProductEpilogue,
        precision: ProductPrecision
    ) {
        precondition((precision == .bfloat16) == (weight != nil), "only a bfloat16 product packs the weights")
        self.rows = rows
        self.inputs = inputs
        self.outputs = outputs
        self.precision = precision
        let operandType = precision == .bfloat16 ? dnnl_bf16 : dnnl_f32
        var source = OneDNN.descriptor(rows: rows, columns: inputs, type: operandType, rowStride: inputs)
        var destination = OneDNN.descriptor(rows: rows, columns: outputs, type: dnnl_f32, rowStride: outputs)
        var biasValues = OneDNN.descriptor(rows: 1, columns: outputs, type: dnnl_f32, rowStride: outputs)
        (sourceDescriptor, destinationDescriptor, biasDescriptor) = (source, destination, biasValues)
        // Wᵀ as a K × N matrix in PyTorch's layout (column stride K).
        var plainWeights = OneDNN.descriptor(rows: inputs, columns: outputs, type: operandType, rowStride: 1, columnStride: inputs)
        var weights = plainWeights
        if precision == .bfloat16 {
            var weightDims: (Int64, Int64) = (Int64(inputs), Int64(outputs))
            withUnsafeMutableBytes(of: &weightDims) {
                OneDNN.check(
                    dnnl_memory_desc_init_by_tag(&weights, 2, $0.baseAddress!.assumingMemoryBound(to: Int64.self), operandType, dnnl_format_tag_any),
                    "weights descriptor")
            }
        }
        var matmul = dnnl_matmul_desc_t()
        let hasBias = !bias.isEmpty
        if hasBias {
            OneDNN.check(dnnl_matmul_desc_init(&matmul, &source, &weights, &biasValues, &destination), "matmul descriptor")
        } else {
            OneDNN.check(dnnl_matmul_desc_init(&matmul, &source, &weights, nil, &destination), "matmul descriptor")
        }
        let made = OneDNN.primitive(for: &matmul, "matmul", postOps: epilogue == .none ? nil : { postOps in
            switch epilogue {
            case .gelu: OneDNN.check(dnnl_post_ops_append_eltwise(postOps, 1, dnnl_eltwise_gelu_erf, 0, 0), "GELU post-op")
            case .accumulate: OneDNN.check(dnnl_post_ops_append_sum(postOps, 1), "sum post-op")
            case .none: break
            }
        })
        primitive = made.primitive
        scratchpadDescriptor = made.scratchpad
        if precision == .bfloat16 {
            var packedDescriptor = made.weights
            weightsDescriptor = packedDescriptor
            let packed = UnsafeMutableRawPointer.allocate(byteCount: dnnl_memory_desc_get_size(&packedDescriptor), alignment: 64)
            packedWeights = packed
            let plain = UnsafeMutablePointer<UInt16>.allocate(capacity: inputs * outputs)
            defer { plain.deallocate() }
            BFloat16.convert(weight!, count: inputs * outputs, into: plain)
            var reorderDescriptor: dnnl_primitive_desc_t?
            OneDNN.check(
                dnnl_reorder_primitive_desc_create(&reorderDescriptor, &plainWeights, OneDNN.engine, &packedDescriptor, OneDNN.engine, nil),
                "weights reorder")
            defer { dnnl_primitive_desc_destroy(reorderDescriptor) }
            var reorder: dnnl_primitive_t?
            OneDNN.check(dnnl_primitive_create(&reorder, reorderDescriptor), "weights reorder primitive")
            defer { dnnl_primitive_destroy(reorder) }
            OneDNN.execute(
                reorder!,
                [(whisper_dnnl_arg_from, UnsafeRawPointer(plain), plainWeights), (whisper_dnnl_arg_to, UnsafeRawPointer(packed), packedDescriptor)],
                scratchpad: nil, threads: Matrix.threadCount)
        } else {
            weightsDescriptor = plainWeights
            packedWeights = nil
        }
        if hasBias {
            let copy = UnsafeMutablePointer<Float>.allocate(capacity: outputs)
            copy.initialize(from: bias, count: outputs)
            self.bias = copy
        } else {
            self.bias = nil
        }
    }

    deinit {
        dnnl_primitive_destroy(primitive)
        packedWeights?.deallocate()
        bias?.deallocate()
    }

    /// Applies the product to `rows` rows of `input` (stride `inputs`), writing (or, with ``ProductEpilogue/accumulate``,
    /// adding to) `rows` rows of `output` (stride `outputs`), on `threads` threads. A `Float` product reads `weight`
    /// (`outputs × inputs`); a bfloat16 one has its own packed copy and takes `nil`.
    func apply(
        _ input: UnsafePointer<Float>, weight: UnsafePointer<Float>?, into output: UnsafeMutablePointer<Float>, threads: Int
    ) {
        guard let packedWeights else {
            precondition(weight != nil, "a Float product reads the weights at each call")
            return run(input, weight!, output, threads: threads)
        }
        let source = UnsafeMutablePointer<UInt16>.allocate(capacity: rows * inputs)
        defer { source.deallocate() }
        BFloat16.convert(input, count: rows * inputs, into: source)
        run(source, packedWeights, output, threads: threads)
    }

    private func run(
        _ source: UnsafeRawPointer, _ weights: UnsafeRawPointer, _ output: UnsafeMutablePointer<Float>, threads: Int
    ) {
        var arguments = [
            (whisper_dnnl_arg_src, source, sourceDescriptor),
            (whisper_dnnl_arg_weights, weights, weightsDescriptor),
            (whisper_dnnl_arg_dst, UnsafeRawPointer(output), destinationDescriptor),
        ]
        if let bias { arguments.append((whisper_dnnl_arg_bias, UnsafeRawPointer(bias), biasDescriptor)) }
        OneDNN.execute(primitive, arguments, scratchpad: scratchpadDescriptor, threads: threads)
    }
}

/// `C = A · B` for bfloat16 operands given at each call (e.g. attention's queries and keys) and a `Float` result, in
/// fixed shapes and strides, on oneDNN's matmul (AVX512-BF16 or AMX).
final class BFloat16MatMul: @unchecked Sendable {
    /// The shape and the strides (in elements) of both operands and the result.
    struct Shape: Hashable {
        let m, n, k: Int
        /// Row and column strides of `A` (`m × k`), `B` (`k × n`) and `C` (`m × n`).
        let a: Strides, b: Strides, c: Strides
    }

    struct Strides: Hashable {
        let row, column: Int
    }

    private let primitive: dnnl_primitive_t
    private let a: dnnl_memory_desc_t
    private let b: dnnl_memory_desc_t
    private let c: dnnl_memory_desc_t
    private let scratchpad: dnnl_memory_desc_t

    init(_ shape: Shape) {
        var a = OneDNN.descriptor(rows: shape.m, columns: shape.k, type: dnnl_bf16, rowStride: shape.a.row, columnStride: shape.a.column)
        var b = OneDNN.descriptor(rows: shape.k, columns: shape.n, type: dnnl_bf16, rowStride: shape.b.row, columnStride: shape.b.column)
        var c = OneDNN.descriptor(rows: shape.m, columns: shape.n, type: dnnl_f32, rowStride: shape.c.row, columnStride: shape.c.column)
        var matmul = dnnl_matmul_desc_t()
        OneDNN.check(dnnl_matmul_desc_init(&matmul, &a, &b, nil, &c), "matmul descriptor")
        (primitive, scratchpad, _) = OneDNN.primitive(for: &matmul, "matmul")
        (self.a, self.b, self.c) = (a, b, c)
    }

    deinit { dnnl_primitive_destroy(primitive) }

    /// Computes `c = a · b` on `threads` threads.
    func apply(
        _ a: UnsafePointer<UInt16>, _ b: UnsafePointer<UInt16>, into c: UnsafeMutablePointer<Float>, threads: Int,
        workspace: OneDNN.Workspace
    ) {
        OneDNN.execute(
            primitive,
            [
                (whisper_dnnl_arg_src, UnsafeRawPointer(a), self.a), (whisper_dnnl_arg_weights, UnsafeRawPointer(b), self.b),
                (whisper_dnnl_arg_dst, UnsafeRawPointer(c), self.c),
            ],
            scratchpad: scratchpad, threads: threads, workspace: workspace)
    }

    private static let cache = OnceCache<Shape, BFloat16MatMul>()

    /// The product for `shape`, made once per process.
    static func shared(_ shape: Shape) -> BFloat16MatMul {
        cache.value(for: shape) { BFloat16MatMul(shape) }
    }
}

/// Softmax over each row of a `rows × width` `Float` matrix, written as bfloat16, on oneDNN's AVX-512 kernel.
final class BFloat16Softmax: @unchecked Sendable {
    private let primitive: dnnl_primitive_t
    private let source: dnnl_memory_desc_t
    private let destination: dnnl_memory_desc_t
    private let scratchpad: dnnl_memory_desc_t

    init(rows: Int, width: Int) {
        var source = OneDNN.descriptor(rows: rows, columns: width, type: dnnl_f32, rowStride: width)
        var destination = OneDNN.descriptor(rows: rows, columns: width, type: dnnl_bf16, rowStride: width)
        var softmax = dnnl_softmax_v2_desc_t()
        OneDNN.check(
            dnnl_softmax_v2_forward_desc_init(&softmax, dnnl_forward_inference, dnnl_softmax_accurate, &source, &destination, 1),
            "softmax descriptor")
        (primitive, scratchpad, _) = OneDNN.primitive(for: &softmax, "softmax")
        (self.source, self.destination) = (source, destination)
    }

    deinit { dnnl_primitive_destroy(primitive) }

    /// Writes the softmax of each row of `values` to `weights`, on the calling thread.
    func apply(_ values: UnsafePointer<Float>, into weights: UnsafeMutablePointer<UInt16>, workspace: OneDNN.Workspace) {
        OneDNN.execute(
            primitive,
            [(whisper_dnnl_arg_src, UnsafeRawPointer(values), source), (whisper_dnnl_arg_dst, UnsafeRawPointer(weights), destination)],
            scratchpad: scratchpad, threads: 1, workspace: workspace)
    }

    private static let cache = OnceCache<[Int], BFloat16Softmax>()

    /// The softmax for `rows × width`, made once per process.
    static func shared(rows: Int, width: Int) -> BFloat16Softmax {
        cache.value(for: [rows, width]) { BFloat16Softmax(rows: rows, width: width) }
    }
}
