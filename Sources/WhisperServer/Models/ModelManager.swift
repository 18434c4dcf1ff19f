import Foundation
import Logging
import NIOPosix
import ServiceLifecycle

/// Keeps models in memory: loads on first use (one load per model however many requests wait), keeps at most
/// ``ServerConfiguration/Models/maxLoaded`` (least recently used unloaded first, never one in use), and unloads
/// models idle longer than the idle TTL.
///
/// A model that fails to load fails every request waiting for it with the reason; the next request tries again.
///
/// ```swift
/// let lease = try await manager.acquire("whisper-1")
/// defer { Task { await manager.release(lease) } }
/// ```
public actor ModelManager: Service {
    /// A model held for one request; give it back with ``ModelManager/release(_:)``.
    public struct Lease: Sendable {
        /// The model's id (aliases resolved).
        public let id: String
        /// The loaded model.
        public let model: any SpeechModel
    }

    /// A model as `/v1/models` shows it.
    public struct Listing: Sendable {
        /// What the models directory says about it.
        public let entry: ModelRegistry.Entry
        /// Capabilities, when the model is or was loaded.
        public let capabilities: ModelCapabilities?
    }

    private struct Loaded {
        let model: any SpeechModel
        var inUse: Int
        var lastUsed: ContinuousClock.Instant
    }

    private enum Slot {
        case loading(Task<any SpeechModel, any Error>, waiters: Int)
        case loaded(Loaded)
    }

    private let configuration: ServerConfiguration.Models
    private let loader: any SpeechModelLoading
    private let threadPool: NIOThreadPool
    private let logger: Logger
    private let metrics: WhisperMetrics?
    private let directory: URL
    private var registry: ModelRegistry
    private var lastScan: ContinuousClock.Instant
    private var slots: [String: Slot] = [:]
    private var capabilities: [String: ModelCapabilities] = [:]

    /// Creates a manager and lists the models directory.
    /// - Parameters:
    ///   - configuration: directory, default model, aliases and limits.
    ///   - loader: how a model directory becomes a model.
    ///   - threadPool: where blocking loads run.
    ///   - logger: for loads and unloads.
    ///   - metrics: where models loaded and load times are recorded, or `nil`.
    public init(
        configuration: ServerConfiguration.Models, loader: any SpeechModelLoading = WhisperModelLoader(),
        threadPool: NIOThreadPool = .singleton, logger: Logger, metrics: WhisperMetrics? = nil
    ) {
        self.metrics = metrics
        self.configuration = configuration
        self.loader = loader
        self.threadPool = threadPool
        self.logger = logger
        self.directory = URL(fileURLWithPath: configuration.directory, isDirectory: true)
        self.registry = ModelRegistry.scan(directory: directory, aliases: configuration.allAliases)
        self.lastScan = .now
    }

    // MARK: Lookup

    /// The current registry, listing the directory again when it was last listed more than a second ago.
    public func currentRegistry() -> ModelRegistry {
        if ContinuousClock.now - lastScan > .seconds(1) { rescan() }
        return registry
    }

    /// Resolves an id or alias to a model id, or throws 404.
    public func resolve(_ idOrAlias: String) throws(OpenAIError) -> String {
        if let id = registry.resolve(idOrAlias) { return id }
        if let id = currentRegistry().resolve(idOrAlias) { return id }
        throw .modelNotFound(idOrAlias)
    }

    /// Every name a request may use (ids, then aliases whose model exists).
    public func names() -> [String] {
        currentRegistry().names
    }

    /// Every model in the directory, with capabilities of those loaded or loaded before.
    public func listings() -> [Listing] {
        let registry = currentRegistry()
        return registry.ids.compactMap { id in registry.entries[id].map { Listing(entry: $0, capabilities: capabilities[id]) } }
    }

    /// Whether the default model is loaded and ready.
    public func isDefaultModelLoaded() -> Bool {
        guard let id = registry.resolve(configuration.defaultModel), case .loaded = slots[id] else { return false }
        return true
    }

    /// Ids of the models in memory.
    public func loadedIDs() -> [String] {
        slots.compactMap { id, slot in if case .loaded = slot { id } else { nil } }.sorted()
    }

    private func rescan() {
        registry = ModelRegistry.scan(directory: directory, aliases: configuration.allAliases)
        lastScan = .now
    }

    // MARK: Leases

    /// Holds a model for a request, loading it first if needed.
    /// - Parameter idOrAlias: a model id or alias.
    /// - Returns: the lease, to give back with ``release(_:)``.
    /// - Throws: 404 for an unknown model, 500 with the reason when the model fails to load.
    public func acquire(_ idOrAlias: String) async throws(OpenAIError) -> Lease {
        let id = try resolve(idOrAlias)
        switch slots[id] {
        case .loaded(var loaded):
            loaded.inUse += 1
            loaded.lastUsed = .now
            slots[id] = .loaded(loaded)
            return Lease(id: id, model: loaded.model)
        case .loading(let task, let waiters):
            slots[id] = .loading(task, waiters: waiters + 1)
            return try await wait(for: task, id: id)
        case nil:
            guard let entry = registry.entries[id] else { throw .modelNotFound(idOrAlias) }
            let task = Task { try await self.load(entry) }
            slots[id] = .loading(task, waiters: 1)
            return try await wait(for: task, id: id)
        }
    }

    /// Gives a model back; it may be unloaded once no request uses it.
    public func release(_ lease: Lease) {
        guard case .loaded(var loaded) = slots[lease.id] else { return }
        loaded.inUse = max(0, loaded.inUse - 1)
        loaded.lastUsed = .now
        slots[lease.id] = .loaded(loaded)
        evictOverCapacity()
    }

    /// Runs `body` with a model held, giving it back afterwards.
    public nonisolated func withModel<Value: Sendable>(
        _ idOrAlias: String, _ body: (Lease) async throws -> Value
    ) async throws -> Value {
        let lease = try await acquire(idOrAlias)
        do {
            let value = try await body(lease)
            await release(lease)
            return value
        } catch {
            await release(lease)
            throw error
        }
    }

    private func wait(for task: Task<any SpeechModel, any Error>, id: String) async throws(OpenAIError) -> Lease {
        do {
            return Lease(id: id, model: try await task.value)
        } catch {
            throw OpenAIError.from(error)
        }
    }

    /// Loads on the thread pool, then installs the model with one use per waiting request (runs on the actor).
    private func load(_ entry: ModelRegistry.Entry) async throws -> any SpeechModel {
        let start = ContinuousClock.now
        logger.info("loading model", metadata: ["model.id": "\(entry.id)"])
        do {
            let loader = self.loader
            let logger = self.logger
            let model = try await threadPool.runIfActive { try loader.load(directory: entry.directory, logger: logger) }
            var waiters = 1
            if case .loading(_, let count) = slots[entry.id] { waiters = count }
            slots[entry.id] = .loaded(Loaded(model: model, inUse: waiters, lastUsed: .now))
            capabilities[entry.id] = model.capabilities
            metrics?.recordModelLoad(seconds: (ContinuousClock.now - start).seconds, model: entry.id)
            logger.info(
                "loaded model",
                metadata: ["model.id": "\(entry.id)", "model.load_seconds": "\((ContinuousClock.now - start).seconds)"]
            )
            evictOverCapacity()
            recordModelsLoaded()
            return model
        } catch {
            slots[entry.id] = nil
            logger.error("model failed to load", metadata: ["model.id": "\(entry.id)", "error": "\(error)"])
            throw error
        }
    }

    // MARK: Eviction

    private func evictOverCapacity() {
        while slots.count > configuration.maxLoaded, let victim = leastRecentlyUsedIdle() {
            unload(victim, reason: "capacity")
        }
    }

    private func leastRecentlyUsedIdle() -> String? {
        var best: (id: String, lastUsed: ContinuousClock.Instant)?
        for (id, slot) in slots {
            guard case .loaded(let loaded) = slot, loaded.inUse == 0 else { continue }
            if best == nil || loaded.lastUsed < best!.lastUsed { best = (id, loaded.lastUsed) }
        }
        return best?.id
    }

    /// Unloads idle models unused for longer than the idle TTL.
    func evictIdle(now: ContinuousClock.Instant = .now) {
        guard let ttl = configuration.idleTTL else { return }
        for (id, slot) in slots {
            guard case .loaded(let loaded) = slot, loaded.inUse == 0, now - loaded.lastUsed > .seconds(ttl) else { continue }
            unload(id, reason: "idle")
        }
    }

    private func unload(_ id: String, reason: String) {
        slots[id] = nil
        logger.info("unloaded model", metadata: ["model.id": "\(id)", "reason": "\(reason)"])
        recordModelsLoaded()
    }

    private func recordModelsLoaded() {
        metrics?.setModelsLoaded(loadedIDs().count)
    }

    // MARK: Service

    /// Preloads the default model if configured, then unloads idle models until shutdown.
    public func run() async throws {
        if configuration.preload {
            do {
                let lease = try await acquire(configuration.defaultModel)
                release(lease)
            } catch {
                logger.error("preloading the default model failed", metadata: ["error": "\(error.message)"])
            }
        }
        let interval = min(max((configuration.idleTTL ?? 60) / 4, 0.05), 5)
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(interval))
                await self.evictIdle()
            }
        }
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}
