import Foundation
import Logging
import WhisperEngine

/// One live transcription session: its settings, the audio of the turn being spoken, turn detection, and the turns
/// committed but not yet finally transcribed. Everything it says goes out through `send` as server events, in order.
///
/// The session never runs inference itself: ``nextPass()`` hands the driver the next pass (the final pass of the
/// oldest committed turn first, else a live pass over the current turn once enough new audio arrived), the driver
/// runs it through the scheduler, and ``finish(_:result:)`` turns the result into events. A session therefore has
/// at most one pass in flight, and its turns complete in the order they were committed.
actor RealtimeSession {
    /// A pass the driver should run.
    struct Pass: Sendable {
        enum Kind: Sendable { case live, final }
        var kind: Kind
        var itemID: String
        /// The turn's generation; a live pass over a turn that was cleared since is ignored.
        var generation: Int
        var input: IncrementalTranscription.Pass
        /// The model and options to run it with.
        var model: String
        var options: TranscriptionOptions
        /// When the last audio of the pass arrived, for the delta latency.
        var audioArrival: ContinuousClock.Instant
    }

    /// Totals reported when the session ends.
    struct Totals: Sendable {
        var audioSeconds = 0.0
        var turns = 0
        var failedTurns = 0
        var deltas = 0
        var droppedSeconds = 0.0
        var errors = 0
        var passes = 0
    }

    /// The turn being spoken (or, without turn detection, the audio since the last commit).
    private struct Turn {
        var itemID: String
        var generation: Int
        var transcription: IncrementalTranscription
        /// Session sample index of the turn's first sample.
        var start: Int
        /// Session sample index up to which audio has been given to the turn.
        var fedUpTo: Int
        /// Turn sample count at the last live pass.
        var lastPassAt = 0
    }

    /// A committed turn waiting for its final pass.
    private struct CommittedTurn {
        var itemID: String
        var previousItemID: String?
        var transcription: IncrementalTranscription
        var committedAt: ContinuousClock.Instant
    }

    static let sampleRate = IncrementalTranscription.sampleRate
    /// Audio kept before the current time when no turn is open, enough for the detector's start and padding.
    static let recentSeconds = 5.0
    /// Audio given to a turn before the detected start of speech (after the previous turn's end), beyond the
    /// reported padding: Whisper drops a soft first word ("The …") that starts right at the edge of its input.
    static let leadInSeconds = 0.5
    /// Shortest audio a commit accepts (OpenAI's limit).
    static let minimumCommitSeconds = 0.1

    let id: String
    let limits: ServerConfiguration.Realtime
    private let send: @Sendable (String) -> Void
    private let knowsModel: @Sendable (String) async -> Bool
    private let metrics: WhisperMetrics?
    private(set) var settings: RealtimeSessionSettings
    private var resampler: StreamingResampler
    private var vad: StreamingVoiceActivity?
    /// Recent 16 kHz audio, from session sample `recentStart` on.
    private var recent: [Float] = []
    private var recentStart = 0
    private var turn: Turn?
    private var committed: [CommittedTurn] = []
    private var lastItemID: String?
    /// Session sample index where the last turn's audio ended.
    private var lastTurnEnd = 0
    private var generation = 0
    private var lastAudioArrival = ContinuousClock.now
    private(set) var lastActivity = ContinuousClock.now
    let openedAt = ContinuousClock.now
    private(set) var totals = Totals()
    /// Whether the session is behind real time (untranscribed audio over the allowed lag).
    private(set) var isBehind = false

    /// Creates a session.
    /// - Parameters:
    ///   - defaultModel: the model passes use until the client names one.
    ///   - limits: the server's Realtime settings.
    ///   - metrics: where audio, turns and latencies are recorded.
    ///   - knowsModel: whether a model id or alias names an installed model.
    ///   - send: queues one server event (a JSON text frame) for the client.
    init(
        defaultModel: String, limits: ServerConfiguration.Realtime, metrics: WhisperMetrics?,
        knowsModel: @escaping @Sendable (String) async -> Bool, send: @escaping @Sendable (String) -> Void
    ) {
        self.knowsModel = knowsModel
        self.id = RealtimeIdentifier.make("sess")
        self.limits = limits
        self.metrics = metrics
        self.send = send
        let settings = RealtimeSessionSettings(model: defaultModel)
        self.settings = settings
        self.resampler = StreamingResampler(inputRate: settings.format.rate)
        self.vad = settings.turnDetection.map { StreamingVoiceActivity(options: $0.voiceActivity) }
    }

    /// Sends `session.created`.
    func start() {
        emit(SessionCreated(session: TranscriptionSessionObject(id: id, settings: settings)))
    }

    /// Handles one text message from the client.
    func receive(_ text: String) async {
        lastActivity = .now
        switch RealtimeClientEvent.decode(text) {
        case .failure(let failure):
            refuse(failure.error, eventID: failure.eventID)
        case .success(let event):
            switch event {
            case .sessionUpdate(let update):
                if await checkModel(update.session, eventID: update.eventID), applySettings(update.session, eventID: update.eventID) {
                    emit(SessionUpdated(session: TranscriptionSessionObject(id: id, settings: settings)))
                }
            case .transcriptionSessionUpdate(let update):
                if await checkModel(update.session, eventID: update.eventID), applySettings(update.session, eventID: update.eventID) {
                    emit(TranscriptionSessionUpdated(session: BetaTranscriptionSessionObject(id: id, settings: settings)))
                }
            case .inputAudioBufferAppend(let append):
                self.append(append)
            case .inputAudioBufferCommit(let commit):
                if let turn, turn.transcription.sampleCount >= Int(Self.minimumCommitSeconds * Double(Self.sampleRate)) {
                    commitTurn()
                } else {
                    let milliseconds = Int(((turn.map { Double($0.transcription.sampleCount) } ?? 0) / Double(Self.sampleRate) * 1000).rounded())
                    refuse(
                        RealtimeProtocolError(
                            code: "input_audio_buffer_commit_empty",
                            message: "Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has \(milliseconds)ms of audio."),
                        eventID: commit.eventID)
                }
            case .inputAudioBufferClear:
                clear()
            }
        }
    }

    /// Tells the client about a message it cannot use (binary frames).
    func refuseBinary() {
        lastActivity = .now
        refuse(.invalidJSON("Binary messages are not supported: send JSON events as text."), eventID: nil)
    }

    /// Sends an `error` event about a session limit (idle or total timeout) before the session closes.
    func closing(code: String, message: String) {
        emit(RealtimeErrorEvent(RealtimeProtocolError(code: code, message: message), eventID: nil))
    }

    // MARK: Settings

    /// Refuses an update that names a model this server does not have.
    private func checkModel(_ patch: RealtimeSessionPatch, eventID: String?) async -> Bool {
        guard let model = patch.transcription?.model, !(await knowsModel(model)) else { return true }
        refuse(
            RealtimeProtocolError(
                code: "model_not_found", message: "The model '\(model)' does not exist: see GET /v1/models (whisper-1 names the default model).",
                param: "session.audio.input.transcription.model"),
            eventID: eventID)
        return false
    }

    private func applySettings(_ patch: RealtimeSessionPatch, eventID: String?) -> Bool {
        let before = settings
        do {
            try settings.apply(patch)
        } catch {
            refuse(error, eventID: eventID)
            return false
        }
        if settings.format != before.format {
            resampler = StreamingResampler(inputRate: settings.format.rate)
        }
        if settings.turnDetection != before.turnDetection {
            // The detector starts afresh, counting from the audio received so far.
            vad = settings.turnDetection.map { StreamingVoiceActivity(options: $0.voiceActivity) }
            vadOffset = recentStart + recent.count
        }
        return true
    }

    /// Session sample index of the detector's sample 0.
    private var vadOffset = 0

    // MARK: Audio

    private func append(_ event: InputAudioBufferAppend) {
        guard let bytes = Data(base64Encoded: event.audio) else {
            refuse(.invalidValue("audio", "The audio is not valid base64."), eventID: event.eventID)
            return
        }
        guard bytes.count <= limits.maxAppendBytes else {
            refuse(
                RealtimeProtocolError(
                    code: "input_audio_buffer_append_too_large",
                    message: "The appended audio is \(bytes.count) bytes; one append may carry at most \(limits.maxAppendBytes) bytes.",
                    param: "audio"),
                eventID: event.eventID)
            return
        }
        let decoded: [Float]
        do {
            decoded = try settings.format.samples(from: Array(bytes))
        } catch {
            refuse(error, eventID: event.eventID)
            return
        }
        let samples = resampler.process(decoded)
        guard !samples.isEmpty else { return }
        lastAudioArrival = .now
        let seconds = Double(decoded.count) / Double(settings.format.rate)
        totals.audioSeconds += seconds
        metrics?.recordRealtimeAudio(seconds: seconds)

        let chunkStart = recentStart + recent.count
        recent.append(contentsOf: samples)
        let now = chunkStart + samples.count
        if var detector = vad {
            let events = detector.append(samples)
            vad = detector
            for event in events {
                switch event {
                case .speechStarted(let sample):
                    let start = max(recentStart, vadOffset + sample)
                    if turn == nil {
                        openTurn(at: max(recentStart, lastTurnEnd, start - Int(Self.leadInSeconds * Double(Self.sampleRate))))
                    }
                    emit(InputAudioBufferSpeechStarted(audioStartMs: Self.milliseconds(start), itemID: turn!.itemID))
                case .speechStopped(let sample):
                    let end = min(now, vadOffset + sample)
                    guard turn != nil else { continue }
                    feedTurn(upTo: end)
                    emit(InputAudioBufferSpeechStopped(audioEndMs: Self.milliseconds(end), itemID: turn!.itemID))
                    commitTurn()
                }
            }
        } else if turn == nil {
            openTurn(at: chunkStart)
        }
        if turn != nil { feedTurn(upTo: now) }
        trimRecent(now: now)
        enforceBufferCap()
    }

    private func openTurn(at start: Int) {
        generation += 1
        turn = Turn(
            itemID: RealtimeIdentifier.make("item"), generation: generation, transcription: IncrementalTranscription(prompt: settings.prompt),
            start: start, fedUpTo: start)
    }

    private func feedTurn(upTo end: Int) {
        guard var current = turn, end > current.fedUpTo else { return }
        let from = max(current.fedUpTo, recentStart) - recentStart
        let to = min(end - recentStart, recent.count)
        if to > from { current.transcription.append(Array(recent[from..<to])) }
        current.fedUpTo = end
        turn = current
    }

    private func trimRecent(now: Int) {
        let keepFrom = min(turn?.fedUpTo ?? now, now - Int(Self.recentSeconds * Double(Self.sampleRate)))
        if keepFrom > recentStart {
            recent.removeFirst(min(recent.count, keepFrom - recentStart))
            recentStart = keepFrom
        }
    }

    /// Drops the oldest untranscribed audio of the open turn when the session holds more than the cap: the session
    /// is behind real time. The client gets an `error` event with the seconds dropped.
    private func enforceBufferCap() {
        let cap = Int(limits.maxBufferedSeconds * Double(Self.sampleRate))
        let held = committed.reduce(0) { $0 + $1.transcription.sampleCount - $1.transcription.windowStart }
            + (turn.map { $0.transcription.sampleCount - $0.transcription.windowStart } ?? 0)
        let behind = held > cap / 2
        if behind != isBehind { isBehind = behind }
        guard held > cap, var current = turn else { return }
        let excess = held - cap
        let dropped = current.transcription.dropOldest(excess)
        turn = current
        guard dropped > 0 else { return }
        let seconds = Double(dropped) / Double(Self.sampleRate)
        totals.droppedSeconds += seconds
        metrics?.recordRealtimeDropped(seconds: seconds)
        emit(
            RealtimeErrorEvent(
                RealtimeProtocolError(
                    type: "server_error", code: "input_audio_buffer_overflow",
                    message: String(
                        format: "Transcription is behind real time: dropped the oldest %.2f s of untranscribed audio (%.2f s in this session).",
                        seconds, totals.droppedSeconds)),
                eventID: nil))
    }

    // MARK: Turns

    private func commitTurn() {
        guard let current = turn else { return }
        turn = nil
        lastTurnEnd = current.fedUpTo
        let previous = lastItemID
        lastItemID = current.itemID
        committed.append(
            CommittedTurn(itemID: current.itemID, previousItemID: previous, transcription: current.transcription, committedAt: .now))
        emit(InputAudioBufferCommitted(previousItemID: Nullable(previous), itemID: current.itemID))
        let fields = ConversationItemFields(previousItemID: Nullable(previous), item: RealtimeItem(id: current.itemID, transcript: nil))
        emit(ConversationItemAdded(fields: fields))
        emit(ConversationItemCreated(fields: fields))
    }

    private func clear() {
        turn = nil
        generation += 1
        // Sample numbering goes on (audio_start_ms counts from the session's first audio); the detector restarts here.
        recentStart += recent.count
        recent.removeAll()
        vadOffset = recentStart
        lastTurnEnd = recentStart
        vad = settings.turnDetection.map { StreamingVoiceActivity(options: $0.voiceActivity) }
        emit(InputAudioBufferCleared())
    }

    // MARK: Passes

    /// The next pass to run, or `nil` when there is nothing to do yet.
    func nextPass(decodingOptions: TranscriptionOptions) -> Pass? {
        if let oldest = committed.first {
            var options = decodingOptions
            options.language = settings.language ?? options.language
            let input = oldest.transcription.nextPass()
            return Pass(
                kind: .final, itemID: oldest.itemID, generation: 0, input: input, model: settings.model, options: input.options(options),
                audioArrival: oldest.committedAt)
        }
        guard var current = turn else { return nil }
        let interval = Int(limits.passInterval * Double(Self.sampleRate))
        let count = current.transcription.sampleCount
        // The first pass waits for a second of audio: shorter audio is mostly guesses.
        guard count - current.lastPassAt >= interval, count >= max(interval, Self.sampleRate) else { return nil }
        current.lastPassAt = count
        turn = current
        var options = decodingOptions
        options.language = settings.language ?? options.language
        // A live pass is redone half a second later anyway: no temperature fallback.
        options.temperatures = [0]
        let input = current.transcription.nextPass()
        return Pass(
            kind: .live, itemID: current.itemID, generation: current.generation, input: input, model: settings.model,
            options: input.options(options), audioArrival: lastAudioArrival)
    }

    /// Turns a pass's result into events.
    func finish(_ pass: Pass, result: Result<Transcript, OpenAIError>) {
        totals.passes += 1
        switch pass.kind {
        case .live:
            guard case .success(let transcript) = result, var current = turn, current.itemID == pass.itemID,
                current.generation == pass.generation
            else { return }
            let delta = current.transcription.accept(transcript, of: pass.input)
            turn = current
            if !delta.isEmpty { emitDelta(delta, itemID: pass.itemID, since: pass.audioArrival) }
        case .final:
            guard let index = committed.firstIndex(where: { $0.itemID == pass.itemID }) else { return }
            var finished = committed.remove(at: index)
            switch result {
            case .success(let transcript):
                let delta = finished.transcription.finish(transcript, of: pass.input)
                if !delta.isEmpty { emitDelta(delta, itemID: pass.itemID, since: pass.audioArrival) }
                let text = finished.transcription.text
                let seconds = (Double(finished.transcription.sampleCount) / Double(Self.sampleRate) * 100).rounded() / 100
                emit(
                    ConversationItemInputAudioTranscriptionCompleted(
                        itemID: pass.itemID, transcript: text, usage: .init(seconds: seconds),
                        logprobs: settings.includeLogprobs ? finished.transcription.logprobs.map(RealtimeLogprob.init) : nil))
                emit(
                    ConversationItemDone(
                        fields: ConversationItemFields(
                            previousItemID: Nullable(finished.previousItemID), item: RealtimeItem(id: pass.itemID, transcript: text))))
                totals.turns += 1
                metrics?.recordRealtimeTurn(outcome: "completed")
            case .failure(let error):
                emit(
                    ConversationItemInputAudioTranscriptionFailed(
                        itemID: pass.itemID,
                        error: .init(type: error.type, code: Nullable(error.code), message: error.message, param: Nullable(error.param))))
                totals.failedTurns += 1
                metrics?.recordRealtimeTurn(outcome: "failed")
            }
        }
    }

    private func emitDelta(_ delta: IncrementalTranscription.Delta, itemID: String, since arrival: ContinuousClock.Instant) {
        totals.deltas += 1
        metrics?.recordRealtimeDeltaLatency(seconds: (ContinuousClock.now - arrival).seconds)
        emit(
            ConversationItemInputAudioTranscriptionDelta(
                itemID: itemID, delta: delta.text, logprobs: settings.includeLogprobs ? delta.logprobs.map(RealtimeLogprob.init) : nil))
    }

    // MARK: Output

    private func refuse(_ error: RealtimeProtocolError, eventID: String?) {
        totals.errors += 1
        emit(RealtimeErrorEvent(error, eventID: eventID))
    }

    private func emit(_ event: some RealtimeServerEvent) {
        send(event.json())
    }

    static func milliseconds(_ sample: Int) -> Int {
        Int((Double(sample) * 1000 / Double(sampleRate)).rounded())
    }
}
