import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing

@testable import WhisperServer

/// Live tests whose timings must not overlap: the suites inside run one test at a time.
@Suite(.serialized) enum LiveServerTests {}

extension LiveServerTests {
/// The scheduler and model manager over real HTTP on loopback, with fake models whose duration the prompt sets.
@Suite struct ServerConcurrencyTests {
    let modelsDirectory: URL

    init() throws {
        modelsDirectory = try ServerTest.makeModelsDirectory(["tiny.en", "base"])
    }

    /// A transcription request whose fake inference takes `seconds`.
    static func request(sleep seconds: Double, model: String = "whisper-1") -> TestClient.Request {
        TestClient.Request(
            "/v1/audio/transcriptions", method: .post, authority: "localhost", headers: ServerTest.formHeaders,
            body: ServerTest.form([("model", model), ("prompt", "sleep:\(seconds)")], file: ServerTest.wav(seconds: 0.5))
        )
    }

    /// Sends a request on its own connection.
    static func send(_ request: TestClient.Request, port: Int, timeout: Duration = .seconds(30)) async throws -> TestClient.Response {
        var withHost = request
        // Like every real HTTP/1.1 client, send a Host (the server answers 400 to hosts not on its allow-list).
        if withHost.head.authority == nil { withHost.head.authority = "127.0.0.1:\(port)" }
        let request = withHost
        return try await TestClient.withClient(host: "127.0.0.1", port: port, configuration: .init(timeout: timeout)) { client in
            try await client.execute(request)
        }
    }

    /// Polls `/ready` until the scheduler holds the given counts.
    static func waitUntil(running: Int, waiting: Int, client: some TestClientProtocol) async throws {
        for _ in 0..<200 {
            let ready = try await client.execute(uri: "/ready", method: .get)
            let object = try ServerTest.object(ready)
            if object["running"] as? Int == running && object["waiting"] as? Int == waiting { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        Issue.record("the scheduler never reached running \(running), waiting \(waiting)")
    }

    @Test func fullQueueAnswers429WithRetryAfter() async throws {
        let configuration = ServerTest.configuration(modelsDirectory: modelsDirectory, workers: 1, queueSize: 1)
        try await ServerTest.app(configuration).test(.live) { client in
            let port = try #require(client.port)
            _ = try await client.execute(uri: "/v1/models", method: .get)
            try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                group.addTask { try await Self.send(Self.request(sleep: 1.5), port: port).status }
                try await Task.sleep(for: .milliseconds(300))
                group.addTask { try await Self.send(Self.request(sleep: 0.1), port: port).status }
                try await Self.waitUntil(running: 1, waiting: 1, client: client)
                let refused = try await Self.send(Self.request(sleep: 0.1), port: port)
                #expect(refused.status == .tooManyRequests)
                let retryAfter = try #require(refused.headers[.retryAfter].flatMap(Int.init))
                #expect(retryAfter >= 1)
                let error = try JSONDecoder().decode(OpenAIError.ErrorBody.self, from: Data(buffer: try #require(refused.body)))
                #expect(error.error.code == "queue_full")
                let ready = try await client.execute(uri: "/ready", method: .get)
                #expect(ready.status == .serviceUnavailable)
                for try await status in group { #expect(status == .ok) }
            }
            #expect(try await client.execute(uri: "/ready", method: .get).status == .ok)
        }
    }

    @Test func deadlineAnswers504AndFreesTheWorker() async throws {
        let loader = FakeModelLoader()
        let configuration = ServerTest.configuration(modelsDirectory: modelsDirectory, workers: 1, queueSize: 2, timeout: 1)
        try await ServerTest.app(configuration, loader: loader).test(.live) { client in
            let port = try #require(client.port)
            let start = ContinuousClock.now
            try await withThrowingTaskGroup(of: TestClient.Response.self) { group in
                group.addTask { try await Self.send(Self.request(sleep: 10), port: port) }
                try await Task.sleep(for: .milliseconds(200))
                group.addTask { try await Self.send(Self.request(sleep: 10), port: port) }  // waits in the queue
                for try await response in group {
                    #expect(response.status == .gatewayTimeout)
                    let error = try JSONDecoder().decode(OpenAIError.ErrorBody.self, from: Data(buffer: try #require(response.body)))
                    #expect(error.error.code == "timeout")
                }
            }
            #expect(ContinuousClock.now - start < .seconds(8))
            // The running job noticed and freed its worker: a quick request now succeeds.
            let next = try await Self.send(Self.request(sleep: 0), port: port)
            #expect(next.status == .ok)
            // The first stopped at its deadline; the second either expired in the queue or started and was stopped too.
            #expect((1...2).contains(loader.counters.cancelled.load(ordering: .relaxed)))
        }
    }

    @Test func clientDisconnectCancelsRunningWork() async throws {
        let loader = FakeModelLoader()
        let configuration = ServerTest.configuration(modelsDirectory: modelsDirectory, workers: 1, queueSize: 0)
        try await ServerTest.app(configuration, loader: loader).test(.live) { client in
            let port = try #require(client.port)
            _ = try await Self.send(Self.request(sleep: 0), port: port)  // load the model
            let leaving = TestClient(host: "127.0.0.1", port: port)
            leaving.connect()
            try await leaving.executeAndDontWaitForResponse(Self.request(sleep: 30))
            try await Task.sleep(for: .milliseconds(500))
            #expect(loader.counters.started.load(ordering: .relaxed) == 2)
            try await leaving.shutdown()
            var status = HTTPResponse.Status.tooManyRequests
            let start = ContinuousClock.now
            while status == .tooManyRequests, ContinuousClock.now - start < .seconds(5) {
                status = try await Self.send(Self.request(sleep: 0), port: port).status
                if status == .tooManyRequests { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(status == .ok)
            #expect(ContinuousClock.now - start < .seconds(2))
            #expect(loader.counters.cancelled.load(ordering: .relaxed) == 1)
        }
    }

    @Test func clientDisconnectLeavesTheQueue() async throws {
        let loader = FakeModelLoader()
        let configuration = ServerTest.configuration(modelsDirectory: modelsDirectory, workers: 1, queueSize: 1)
        try await ServerTest.app(configuration, loader: loader).test(.live) { client in
            let port = try #require(client.port)
            _ = try await Self.send(Self.request(sleep: 0), port: port)
            try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                group.addTask { try await Self.send(Self.request(sleep: 2), port: port).status }
                try await Task.sleep(for: .milliseconds(300))
                let leaving = TestClient(host: "127.0.0.1", port: port)
                leaving.connect()
                try await leaving.executeAndDontWaitForResponse(Self.request(sleep: 0))
                try await Task.sleep(for: .milliseconds(200))
                #expect(try await Self.send(Self.request(sleep: 0), port: port).status == .tooManyRequests)
                try await leaving.shutdown()
                try await Task.sleep(for: .milliseconds(200))
                // The queue place is free again although the running request has not finished.
                group.addTask { try await Self.send(Self.request(sleep: 0), port: port).status }
                for try await status in group { #expect(status == .ok) }
            }
            // The request that left never ran: warm-up, long and last only.
            #expect(loader.counters.started.load(ordering: .relaxed) == 3)
        }
    }

    @Test func healthAnswersFastDuringInference() async throws {
        let configuration = ServerTest.configuration(modelsDirectory: modelsDirectory, workers: 1, queueSize: 4)
        try await ServerTest.app(configuration).test(.live) { client in
            let port = try #require(client.port)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<3 {
                    group.addTask { _ = try await Self.send(Self.request(sleep: 1), port: port) }
                }
                try await Task.sleep(for: .milliseconds(300))
                var worst = Duration.zero
                for _ in 0..<20 {
                    let start = ContinuousClock.now
                    let response = try await client.execute(uri: "/health", method: .get)
                    worst = max(worst, ContinuousClock.now - start)
                    #expect(response.status == .ok)
                    let models = try await client.execute(uri: "/v1/models", method: .get)
                    #expect(models.status == .ok)
                    try await Task.sleep(for: .milliseconds(50))
                }
                print("health worst latency during inference: \(worst)")
                #expect(worst < .milliseconds(250))
                try await group.waitForAll()
            }
        }
    }

    @Test func shortRequestsFinishWhileALongOneRuns() async throws {
        let configuration = ServerTest.configuration(modelsDirectory: modelsDirectory, workers: 2, queueSize: 8)
        try await ServerTest.app(configuration).test(.live) { client in
            let port = try #require(client.port)
            _ = try await Self.send(Self.request(sleep: 0), port: port)
            var order: [String] = []
            try await withThrowingTaskGroup(of: (String, HTTPResponse.Status).self) { group in
                group.addTask { ("long", try await Self.send(Self.request(sleep: 3), port: port).status) }
                try await Task.sleep(for: .milliseconds(100))
                for index in 0..<3 {
                    group.addTask { ("short\(index)", try await Self.send(Self.request(sleep: 0.3), port: port).status) }
                }
                for try await (name, status) in group {
                    #expect(status == .ok)
                    order.append(name)
                }
            }
            #expect(order.last == "long", "\(order)")
        }
    }

    @Test func concurrentFirstUsesLoadTheModelOnce() async throws {
        var slowLoader = FakeModelLoader()
        slowLoader.loadDelay = 0.5
        let loader = slowLoader
        let configuration = ServerTest.configuration(modelsDirectory: modelsDirectory, workers: 2, queueSize: 8)
        try await ServerTest.app(configuration, loader: loader).test(.live) { client in
            let port = try #require(client.port)
            try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<4 { group.addTask { try await Self.send(Self.request(sleep: 0, model: "base"), port: port).status } }
                for try await status in group { #expect(status == .ok) }
            }
            #expect(loader.counters.loads.load(ordering: .relaxed) == 1)
        }
    }

    @Test func streamingOverHTTP() async throws {
        let configuration = ServerTest.configuration(modelsDirectory: modelsDirectory)
        try await ServerTest.app(configuration).test(.live) { client in
            let response = try await client.execute(
                uri: "/v1/audio/transcriptions", method: .post, headers: ServerTest.formHeaders,
                body: ServerTest.form([("stream", "true"), ("prompt", "sleep:0.4")], file: ServerTest.wav(seconds: 1))
            )
            #expect(response.status == .ok)
            let events = try ServerRouteTests.events(response.body)
            #expect(events.map { $0["type"] as? String } == ["transcript.text.delta", "transcript.text.delta", "transcript.text.done"])
        }
    }
}

}

/// The model manager's cache rules, directly.
@Suite struct ModelManagerTests {
    func manager(maxLoaded: Int = 1, idleTTL: Double? = nil, loader: FakeModelLoader = FakeModelLoader()) throws -> ModelManager {
        var configuration = ServerConfiguration.Models()
        configuration.directory = try ServerTest.makeModelsDirectory(["tiny.en", "base", "small"]).path
        configuration.maxLoaded = maxLoaded
        configuration.idleTTL = idleTTL
        return ModelManager(configuration: configuration, loader: loader, logger: ServerTest.logger)
    }

    @Test func evictsLeastRecentlyUsedButNeverInUse() async throws {
        let models = try manager(maxLoaded: 2)
        let tiny = try await models.acquire("whisper-1")
        let base = try await models.acquire("base")
        await models.release(base)
        let small = try await models.acquire("small")
        #expect(await models.loadedIDs() == ["small", "tiny.en"])  // base idle and least recent; tiny.en in use
        await models.release(small)
        await models.release(tiny)
        let again = try await models.acquire("base")
        #expect(await models.loadedIDs() == ["base", "tiny.en"])
        await models.release(again)
    }

    @Test func keepsModelsInUseBeyondTheLimit() async throws {
        let models = try manager(maxLoaded: 1)
        let tiny = try await models.acquire("tiny.en")
        let base = try await models.acquire("base")
        #expect(await models.loadedIDs() == ["base", "tiny.en"])
        await models.release(tiny)
        #expect(await models.loadedIDs() == ["base"])
        await models.release(base)
    }

    @Test func unloadsIdleModels() async throws {
        let models = try manager(maxLoaded: 3, idleTTL: 0.1)
        let lease = try await models.acquire("tiny.en")
        await models.evictIdle(now: .now + .seconds(1))
        #expect(await models.loadedIDs() == ["tiny.en"])  // in use
        await models.release(lease)
        await models.evictIdle(now: .now + .seconds(1))
        #expect(await models.loadedIDs() == [])
    }

    @Test func idsAreLookedUpNeverJoinedIntoPaths() async throws {
        let models = try manager()
        for id in ["../../etc/passwd", "/etc/passwd", "tiny.en/../base", ".", "..", "", "tiny.en/"] {
            await #expect(throws: OpenAIError.self) { _ = try await models.acquire(id) }
        }
    }
}

/// The scheduler's queue rules, directly.
@Suite struct InferenceSchedulerTests {
    final class Flag: Sendable {
        private let value = Atomic<Bool>(false)
        func set() { value.store(true, ordering: .relaxed) }
        var isSet: Bool { value.load(ordering: .relaxed) }
    }

    /// A job that holds its worker until `flag` is set, then returns 1; returns once the job is running.
    static func blockingJob(on scheduler: InferenceScheduler, until flag: Flag) async -> Task<Int, any Error> {
        let started = Flag()
        let task = Task {
            try await scheduler.run(deadline: .now + .seconds(30), timeoutSeconds: 30) { _ in
                started.set()
                while !flag.isSet { Thread.sleep(forTimeInterval: 0.01) }
                return 1
            }
        }
        while !started.isSet { try? await Task.sleep(for: .milliseconds(5)) }
        return task
    }

    @Test func cancelledWaitingJobLeavesTheQueue() async throws {
        let scheduler = InferenceScheduler(workers: 1, queueSize: 1)
        let release = Flag()
        let running = await Self.blockingJob(on: scheduler, until: release)
        let waiting = Task { try await scheduler.run(deadline: .now + .seconds(30), timeoutSeconds: 30) { _ in 2 } }
        for _ in 0..<2000 where scheduler.snapshot.waiting == 0 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(scheduler.snapshot == .init(running: 1, waiting: 1, workers: 1, queueSize: 1))
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
        #expect(scheduler.snapshot.waiting == 0)
        release.set()
        #expect(try await running.value == 1)
        try await scheduler.shutdown()
    }

    @Test func refusesBeyondCapacity() async throws {
        let scheduler = InferenceScheduler(workers: 1, queueSize: 0)
        let release = Flag()
        let running = await Self.blockingJob(on: scheduler, until: release)
        await #expect(throws: OpenAIError.self) { try await scheduler.run(deadline: .now + .seconds(30), timeoutSeconds: 30) { _ in 2 } }
        release.set()
        _ = try await running.value
        // The worker is handed back just after the result is delivered.
        for _ in 0..<2000 where scheduler.snapshot.running > 0 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(try await scheduler.run(deadline: .now + .seconds(30), timeoutSeconds: 30) { _ in 3 } == 3)
        try await scheduler.shutdown()
    }
}
