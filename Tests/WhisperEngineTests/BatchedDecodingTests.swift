import Dispatch
import Foundation
import Synchronization
import Testing
import WhisperTensor

@testable import WhisperEngine

/// Decoder steps of several sessions in one pass, and concurrent transcriptions through the compute gate: results are
/// bit-identical to running alone, and cancellation while waiting for the gate leaves cleanly.
@Suite(.enabled(if: TestResources.hasTinyEn, "needs models/tiny.en (make model)"), .serialized) struct BatchedDecodingTests {
    /// A model of its own: transcriptions of other suites running in parallel on the shared one would batch with the
    /// ones this suite runs alone.
    static let model = TestResources.loadModel()

    /// A session over the first window of a fixture, after a prompt and `generated` further steps.
    static func session(_ name: String, generated: [Int]) throws -> DecoderSession {
        let weights = model.weights
        let mel = LogMelSpectrogram(samples: try TestResources.samples("speech/\(name).wav"), melBins: model.info.melBins)
        let audio = Encoder(weights: weights).encode(mel.window(from: 0, count: min(LogMelSpectrogram.windowFrames, mel.frames - 1)))
        var session = DecoderSession(weights: weights, audio: audio)
        let special = model.specialTokens
        _ = session.forward([[special.startOfTranscript, special.noTimestamps]], logitsAt: [1])
        for token in generated { _ = session.forward([[token]], logitsAt: [0]) }
        return session
    }

    /// Steps sessions of different lengths and audio, a beam session (five sequences) among them, alone and in one
    /// pass of more than ``MatrixVector/maximumRows`` rows: every sequence's logits are bit-identical, over
    /// consecutive steps.
    @Test func batchedStepsMatchLoneSteps() throws {
        let text = Self.model.tokenizer.encode(" The quick brown fox jumps over the lazy dog and keeps running")
        var beams = try Self.session("quick-fox", generated: Array(text[0..<3]))
        beams.fork(into: 5)
        var widerBeams = try Self.session("weather", generated: Array(text[0..<1]))
        widerBeams.fork(into: 4)
        var sessions = [
            try Self.session("hello-world", generated: []),
            beams,
            try Self.session("directions", generated: Array(text[0..<7])),
            widerBeams,
            try Self.session("recipe", generated: Array(text[0..<2])),
        ]
        #expect(sessions.map(\.sequences).reduce(0, +) > 8)
        var alone = sessions
        for round in 0..<3 {
            let tokens = sessions.enumerated().map { index, session in
                (0..<session.sequences).map { text[(round * 3 + index + $0) % text.count] }
            }
            var expected: [[[Float]]] = []
            for index in alone.indices {
                expected.append(withUnsafeMutablePointer(to: &alone[index]) { DecoderSession.step([$0], tokens: [tokens[index]])[0] })
            }
            let batched = sessions.withUnsafeMutableBufferPointer { buffer in
                DecoderSession.step(buffer.indices.map { buffer.baseAddress! + $0 }, tokens: tokens)
            }
            #expect(batched == expected, "round \(round)")
            #expect(sessions.map(\.length) == alone.map(\.length))
        }
        // A lone step is the prompt path's single-token forward, as before batching.
        var viaForward = alone[1]
        let lone = withUnsafeMutablePointer(to: &alone[1]) { DecoderSession.step([$0], tokens: [[text[0], text[1], text[2], text[3], text[4]]])[0] }
        #expect(viaForward.forward([[text[0]], [text[1]], [text[2]], [text[3]], [text[4]]], logitsAt: [0]).map { $0[0] } == lone)
    }

    /// A session stepped past the model's text positions stops the process on the decoder's precondition (Swift's
    /// trap, `SIGILL`) instead of writing past its caches: release builds keep their checks (built with `-Ounchecked`,
    /// this step wrote out of bounds and the process died later, elsewhere, of the corruption).
    @Test func steppingPastTheTextPositionsTraps() async {
        await #expect(processExitsWith: .signal(SIGILL)) {
            var session = try BatchedDecodingTests.session("hello-world", generated: [])
            let token = BatchedDecodingTests.model.specialTokens.noTimestamps
            for _ in session.length...BatchedDecodingTests.model.weights.hyper.textPositions {
                _ = withUnsafeMutablePointer(to: &session) { DecoderSession.step([$0], tokens: [[token]]) }
            }
        }
    }

    /// Transcriptions running at once on their own threads (greedy, beam search, sampling; greedy with the model's
    /// suppressed tokens and with none, whose screened logits differ) produce the transcripts and log-probabilities
    /// they produce alone, and their decoder steps did share passes.
    @Test func concurrentTranscriptionsMatchAlone() throws {
        let jobs: [(name: String, beamSize: Int, temperature: Float, suppressed: [Int]?)] = [
            ("hello-world", 1, 0, nil), ("directions", 5, 0, nil), ("weather", 1, 0, nil), ("recipe", 1, 0.6, nil),
            ("moon-landing", 1, 0, nil), ("lighthouse", 5, 0, nil), ("directions", 1, 0, []),
        ]
        let inputs = try jobs.map { job in
            var options = TranscriptionOptions()
            options.beamSize = job.beamSize
            options.temperatures = [job.temperature]
            options.suppressTokens = job.suppressed
            options.wordTimestamps = job.name == "weather"
            return (samples: try TestResources.samples("speech/\(job.name).wav"), options: options)
        }
        let alone = try inputs.map { try Self.model.transcribe($0.samples, options: $0.options) }
        for repetition in 0..<2 {
            let before = WhisperModel.computeActivity
            let together = try Self.concurrently(inputs.count) { index throws(TranscriptionError) in
                try Self.model.transcribe(inputs[index].samples, options: inputs[index].options)
            }.map { try $0.get() }
            for (index, (ours, theirs)) in zip(together, alone).enumerated() {
                #expect(ours.segments == theirs.segments, "\(jobs[index].name), repetition \(repetition)")
                #expect(ours.logprobs == theirs.logprobs, "\(jobs[index].name), repetition \(repetition)")
            }
            let batched = together.map(\.statistics.batchedSteps).reduce(0, +)
            print("concurrent transcriptions: \(batched) of \(together.map(\.statistics.decodedTokens).reduce(0, +)) decoder steps batched")
            #expect(batched > 0)
            // The gate's counters saw passes that advanced several transcriptions (other suites may add their own).
            let after = WhisperModel.computeActivity
            let passes = after.decoderPasses - before.decoderPasses
            #expect(passes > 0 && after.decoderPassSessions - before.decoderPassSessions > passes)
            #expect(after.decoderPassesBySessions.dropFirst().reduce(0, +) > before.decoderPassesBySessions.dropFirst().reduce(0, +))
            for work in [ComputeWork.encoder, .prompt, .alignment, .decoderStep] {
                #expect(after.seconds[work, default: 0] > before.seconds[work, default: 0], "\(work)")
            }
        }
        #expect(alone.allSatisfy { $0.statistics.batchedSteps == 0 })
    }

    /// The gate counts its work: the time exclusive work and decoder passes held it, by kind, and how many sessions
    /// each pass advanced.
    @Test func gateCountsItsWork() throws {
        let gate = ComputeGate()
        #expect(gate.activity == ComputeActivity())
        try gate.exclusive(.prompt, isCancelled: { false }) { Thread.sleep(forTimeInterval: 0.02) }
        let model = ObjectIdentifier(Self.model)
        var session = try Self.session("hello-world", generated: [])
        for token in Self.model.tokenizer.encode(" Hello world") {
            _ = try gate.decoding(model: model) { () throws(TranscriptionError) in
                try gate.step(&session, tokens: [token], model: model, isCancelled: { false })
            }
        }
        let activity = gate.activity
        let steps = Self.model.tokenizer.encode(" Hello world").count
        #expect(activity.seconds[.prompt, default: 0] >= 0.02 && activity.seconds[.prompt, default: 0] < 5)
        #expect(activity.seconds[.decoderStep, default: 0] > 0)
        #expect(activity.seconds[.encoder] == nil)
        #expect(activity.decoderPasses == steps && activity.decoderPassSessions == steps)
        #expect(activity.decoderPassesBySessions == [steps, 0, 0, 0, 0, 0, 0])
    }

    /// Work on half the cores counts half its time; passes count in the bucket of their session count.
    @Test func activityCountsSharedWorkHalfAndBucketsPasses() {
        var activity = ComputeActivity()
        activity.record(.encoder, elapsed: .milliseconds(300), sharedCores: false)
        activity.record(.encoder, elapsed: .milliseconds(200), sharedCores: true)
        #expect(abs(activity.seconds[.encoder, default: 0] - 0.4) < 1e-9)
        for sessions in [1, 2, 3, 8, 9, 32, 33] { activity.recordDecoderPass(sessions: sessions) }
        #expect(activity.decoderPasses == 7 && activity.decoderPassSessions == 88)
        #expect(activity.decoderPassesBySessions == [1, 1, 1, 1, 1, 1, 1])
    }

    /// Work waiting for a held gate leaves when cancelled, without running; the gate then serves the next one at once.
    @Test func cancelledWaiterLeavesTheGate() throws {
        let gate = ComputeGate()
        let done = DispatchSemaphore(value: 0)
        let finish = Self.holdGate(gate, done: done)
        let start = ContinuousClock.now
        var ran = false
        #expect(throws: TranscriptionError.self) {
            try gate.exclusive(.encoder, isCancelled: { ContinuousClock.now - start > .milliseconds(50) }) { ran = true }
        }
        #expect(!ran)
        finish.signal()
        done.wait()
        #expect(try gate.exclusive(.encoder, isCancelled: { false }) { 42 } == 42)
    }

    /// Two pieces of exclusive work queued together hold the gate at the same time, each on half the cores (each
    /// waits inside for the other to arrive); work alone has all the cores.
    @Test(.enabled(if: ComputeGate.sharesCores, "one core, or OpenBLAS's process-wide thread count"))
    func adjacentExclusiveWorkSharesTheCores() throws {
        let cores = Matrix.threadCount
        let gate = ComputeGate()
        #expect(try gate.exclusive(.encoder, isCancelled: { false }) { Matrix.threadCount } == cores)
        let finish = Self.holdGate(gate)
        let arrived = [DispatchSemaphore(value: 0), DispatchSemaphore(value: 0)]
        let seen = Mutex<[Int: (threads: Int, metTheOther: Bool)]>([:])
        let done = DispatchGroup()
        for index in 0..<2 {
            done.enter()
            Thread {
                try? gate.exclusive(.encoder, isCancelled: { false }) {
                    arrived[index].signal()
                    let met = arrived[1 - index].wait(timeout: .now() + 5) == .success
                    seen.withLock { $0[index] = (Matrix.threadCount, met) }
                }
                done.leave()
            }.start()
        }
        while gate.queuedCount < 2 { Thread.sleep(forTimeInterval: 0.001) }
        finish.signal()
        done.wait()
        #expect(seen.withLock { $0.count } == 2)
        for index in 0..<2 {
            #expect(seen.withLock { $0[index]?.threads } == cores / 2)
            #expect(seen.withLock { $0[index]?.metTheOther } == true)
        }
        #expect(try gate.exclusive(.encoder, isCancelled: { false }) { Matrix.threadCount } == cores)
    }

    /// A decoder step queued next to exclusive work runs beside it, each on half the cores (the exclusive work sees the
    /// step finish while it holds the gate), with the same logits as on all of them.
    @Test(.enabled(if: ComputeGate.sharesCores, "one core, or OpenBLAS's process-wide thread count"))
    func decoderStepSharesTheCoresWithExclusiveWork() throws {
        let gate = ComputeGate()
        let token = Self.model.specialTokens.startOfTranscript + 2
        var alone = try Self.session("hello-world", generated: [])
        let expected = try gate.step(&alone, tokens: [token], model: ObjectIdentifier(Self.model), isCancelled: { false }).logits
        let stepped = DispatchSemaphore(value: 0)
        let metTheStep = Mutex<Bool?>(nil)
        let logits = Mutex<[[Float]]>([])
        let done = DispatchGroup()
        let finish = Self.holdGate(gate)
        done.enter()
        Thread {
            try? gate.exclusive(.encoder, isCancelled: { false }) {
                metTheStep.withLock { $0 = stepped.wait(timeout: .now() + 10) == .success }
            }
            done.leave()
        }.start()
        while gate.queuedCount < 1 { Thread.sleep(forTimeInterval: 0.001) }
        done.enter()
        nonisolated(unsafe) var session = try Self.session("hello-world", generated: [])
        Thread {
            let model = ObjectIdentifier(Self.model)
            let result = try? gate.decoding(model: model) { () throws(TranscriptionError) in
                try gate.step(&session, tokens: [token], model: model, isCancelled: { false })
            }
            logits.withLock { $0 = result?.logits ?? [] }
            stepped.signal()
            done.leave()
        }.start()
        while gate.queuedCount < 2 { Thread.sleep(forTimeInterval: 0.001) }
        finish.signal()
        done.wait()
        #expect(metTheStep.withLock { $0 } == true)
        #expect(logits.withLock { $0 } == expected)
    }

    /// A transcription cancelled while others run alongside stops with `cancelled`; the others finish unchanged.
    @Test func cancellingOneOfSeveralLeavesTheOthersIntact() throws {
        let names = ["long-form.flac", "lighthouse.wav", "directions.wav"]
        let inputs = try names.map { try TestResources.samples("speech/\($0)") }
        let alone = try inputs.dropFirst().map { try Self.model.transcribe($0) }
        let started = ContinuousClock.now
        let results = Self.concurrently(inputs.count) { index throws(TranscriptionError) in
            try Self.model.transcribe(inputs[index], isCancelled: { index == 0 && ContinuousClock.now - started > .milliseconds(300) })
        }
        if case .failure(let error) = results[0] {
            #expect(error.kind == .cancelled)
        } else {
            Issue.record("the cancelled transcription finished")
        }
        for (index, theirs) in zip(1..., alone) {
            #expect((try? results[index].get())?.segments == theirs.segments, "\(names[index])")
        }
    }

    /// Holds `gate` with exclusive work on another thread until the returned semaphore is signalled; then signals
    /// `done`, if given, once that work has left the gate.
    static func holdGate(_ gate: ComputeGate, done: DispatchSemaphore? = nil) -> DispatchSemaphore {
        let holding = DispatchSemaphore(value: 0)
        let finish = DispatchSemaphore(value: 0)
        Thread {
            try? gate.exclusive(.encoder, isCancelled: { false }) {
                holding.signal()
                finish.wait()
            }
            done?.signal()
        }.start()
        holding.wait()
        return finish
    }

    /// Runs `count` transcriptions at once, each on its own thread, and returns their outcomes in order.
    static func concurrently(
        _ count: Int, _ body: @escaping @Sendable (Int) throws(TranscriptionError) -> Transcript
    ) -> [Result<Transcript, TranscriptionError>] {
        let results = Outcomes()
        let group = DispatchGroup()
        for index in 0..<count {
            group.enter()
            Thread {
                let result = Result { () throws(TranscriptionError) in try body(index) }
                results.values.withLock { $0[index] = result }
                group.leave()
            }.start()
        }
        group.wait()
        return results.values.withLock { values in (0..<count).map { values[$0]! } }
    }

    /// Outcomes collected from several threads.
    final class Outcomes: Sendable {
        let values = Mutex<[Int: Result<Transcript, TranscriptionError>]>([:])
    }
}

/// The engine gives the same bits on one thread as on all: the compute gate may run two pieces of work (encoder
/// windows, prompts, word alignment) side by side on a share of the cores each, and a transcript must not depend on that.
@Suite(.enabled(if: TestResources.hasTinyEn, "needs models/tiny.en (make model)")) struct ThreadCountTests {
    @Test func encoderOutputIsBitIdenticalOnOneThread() throws {
        let model = TestResources.model
        let samples = try TestResources.samples("speech/lighthouse.wav")
        let mel = LogMelSpectrogram(samples: samples, melBins: model.info.melBins)
        let features = mel.window(from: 0, count: LogMelSpectrogram.windowFrames)
        let encoder = Encoder(weights: model.weights)
        let all = encoder.encode(features)
        let one = Matrix.withThreadLimit(1) { encoder.encode(features) }
        #expect(all.storage == one.storage)
    }

    /// Word timings and probabilities (from the cross-attention weights and logits of an alignment pass over the
    /// window's tokens) are the same on one thread: before the alignment's attention ran its `sgemm` on every thread,
    /// and a word's probability differed in the seventh digit beside other work.
    @Test func wordTimingsAreTheSameOnOneThread() throws {
        let model = TestResources.model
        var options = TranscriptionOptions()
        options.beamSize = 1
        options.temperatures = [0]
        options.wordTimestamps = true
        let samples = try TestResources.samples("speech/weather.wav")
        let all = try model.transcribe(samples, options: options)
        let one = try Matrix.withThreadLimit(1) { try model.transcribe(samples, options: options) }
        #expect(all.segments.contains { !($0.words ?? []).isEmpty })
        #expect(all.segments == one.segments)
    }
}
