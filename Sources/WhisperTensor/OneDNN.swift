internal import CDNNL
import Synchronization

/// oneDNN's CPU engine, shared by every primitive of the process.
enum OneDNN {
    nonisolated(unsafe) static let engine: dnnl_engine_t = makeEngine()

    private static func makeEngine() -> dnnl_engine_t {
        var engine: dnnl_engine_t? = nil
        let status = dnnl_engine_create(&engine, dnnl_cpu, 0)
        guard status == dnnl_success, let engine else { fatalError("oneDNN has no CPU engine (status \(status.rawValue))") }
        return engine
    }

    /// Runs `primitive` on `arguments` (argument kind, data, its layout) on `threads` OpenMP threads of the calling
    /// thread, with the scratchpad of `workspace` (primitives are then safe to run from several threads at once, each
    /// with its own workspace).
    static func execute(
        _ primitive: dnnl_primitive_t, _ arguments: [(Int32, UnsafeRawPointer, dnnl_memory_desc_t)],
        scratchpad: dnnl_memory_desc_t?, threads: Int, workspace: Workspace? = nil
    ) {
        let workspace = workspace ?? Workspace()
        var memories: [dnnl_memory_t?] = []
        defer { for memory in memories { dnnl_memory_destroy(memory) } }
        var args: [dnnl_exec_arg_t] = []
        func bind(_ kind: Int32, _ pointer: UnsafeRawPointer, _ descriptor: dnnl_memory_desc_t) {
            var (memory, descriptor): (dnnl_memory_t?, dnnl_memory_desc_t) = (nil, descriptor)
            check(dnnl_memory_create(&memory, &descriptor, engine, UnsafeMutableRawPointer(mutating: pointer)), "memory")
            memories.append(memory)
            args.append(dnnl_exec_arg_t(arg: kind, memory: memory))
        }
        for (kind, pointer, descriptor) in arguments { bind(kind, pointer, descriptor) }
        if var scratchpad {
            let bytes = dnnl_memory_desc_get_size(&scratchpad)
            if bytes > 0 { bind(whisper_dnnl_arg_scratchpad, workspace.scratch(bytes), scratchpad) }
        }
        omp_set_num_threads(Int32(threads))
        check(dnnl_primitive_execute(primitive, workspace.stream, Int32(args.count), args), "execution")
        check(dnnl_stream_wait(workspace.stream), "stream wait")
    }

    /// A stream and a scratchpad for the primitives one thread runs, reused from one execution to the next.
    final class Workspace {
        let stream: dnnl_stream_t
        private var buffer: UnsafeMutableRawPointer?
        private var capacity = 0

        init() {
            var stream: dnnl_stream_t?
            check(dnnl_stream_create(&stream, engine, UInt32(dnnl_stream_default_flags.rawValue)), "stream")
            self.stream = stream!
        }

        deinit {
            dnnl_stream_destroy(stream)
            buffer?.deallocate()
        }

        /// At least `bytes` of scratch memory, kept for later executions.
        func scratch(_ bytes: Int) -> UnsafeMutableRawPointer {
            if bytes > capacity {
                buffer?.deallocate()
                buffer = .allocate(byteCount: bytes, alignment: 64)
                capacity = bytes
            }
            return buffer!
        }
    }

    static func check(_ status: dnnl_status_t, _ what: String) {
        if status != dnnl_success { fatalError("oneDNN \(what) failed with status \(status.rawValue)") }
    }

    /// A row-major `rows × columns` descriptor with the given row and column strides.
    static func descriptor(rows: Int, columns: Int, type: dnnl_data_type_t, rowStride: Int, columnStride: Int = 1)
        -> dnnl_memory_desc_t
    {
        var descriptor = dnnl_memory_desc_t()
        var dims: (Int64, Int64) = (Int64(rows), Int64(columns))
        var strides: (Int64, Int64) = (Int64(rowStride), Int64(columnStride))
        withUnsafeMutableBytes(of: &dims) { dims in
            withUnsafeMutableBytes(of: &strides) { strides in
                check(
                    dnnl_memory_desc_init_by_strides(
                        &descriptor, 2, dims.baseAddress!.assumingMemoryBound(to: Int64.self), type,
                        strides.baseAddress!.assumingMemoryBound(to: Int64.self)),
                    "memory descriptor")
            }
        }
        return descriptor
    }

    /// A primitive made from an operation descriptor (matmul, softmax …) with a user scratchpad and, when given, the
    /// post-operations `postOps` appends; with its scratchpad's and its weights' descriptors.
    static func primitive(
        for operation: UnsafeRawPointer, _ what: String, postOps: ((dnnl_post_ops_t?) -> Void)? = nil
    ) -> (primitive: dnnl_primitive_t, scratchpad: dnnl_memory_desc_t, weights: dnnl_memory_desc_t) {
        var attributes: dnnl_primitive_attr_t?
        check(dnnl_primitive_attr_create(&attributes), "attributes")
        defer { dnnl_primitive_attr_destroy(attributes) }
        check(dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user), "scratchpad mode")
        if let postOps {
            var operations: dnnl_post_ops_t?
            check(dnnl_post_ops_create(&operations), "post-ops")
            defer { dnnl_post_ops_destroy(operations) }
            postOps(operations)
            check(dnnl_primitive_attr_set_post_ops(attributes, operations), "post-ops")
        }
        var descriptor: dnnl_primitive_desc_t?
        check(dnnl_primitive_desc_create(&descriptor, operation, attributes, engine, nil), what)
        defer { dnnl_primitive_desc_destroy(descriptor) }
        var primitive: dnnl_primitive_t?
        check(dnnl_primitive_create(&primitive, descriptor), "\(what) primitive")
        return (
            primitive!, dnnl_primitive_desc_query_md(descriptor, dnnl_query_scratchpad_md, 0)?.pointee ?? dnnl_memory_desc_t(),
            dnnl_primitive_desc_query_md(descriptor, dnnl_query_weights_md, 0)?.pointee ?? dnnl_memory_desc_t()
        )
    }
}

/// Values made once per key and kept (prepared primitives and packed weights), safe to share between threads.
final class OnceCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let values = Mutex<[Key: Value]>([:])

    /// The value for `key`, made by `make` the first time.
    func value(for key: Key, make: () -> Value) -> Value {
        values.withLock { values in
            if let value = values[key] { return value }
            let value = make()
            values[key] = value
            return value
        }
    }
}
