import WhisperAudio

extension TranscriptionService {
    /// What `POST /debug/audio-info` reports about a request's audio once decoded.
    public struct AudioInfo: Sendable {
        /// Seconds of audio.
        public var duration: Double
        /// The container FFmpeg found, e.g. `wav`.
        public var format: String
        /// The codec, e.g. `pcm_s16le`.
        public var codec: String
        /// The source's sample rate, before resampling to 16 kHz.
        public var sampleRate: Int
        /// The source's channels, before mixing down to mono.
        public var channels: Int
    }

    /// Decodes a request's audio on an inference worker (through the scheduler's queue, with the request's deadline
    /// and the configured decode limits), without transcribing it.
    /// - Parameters:
    ///   - request: the validated request.
    ///   - arrival: when the request arrived.
    /// - Returns: the decoded audio's duration and format.
    /// - Throws: the decoder's 400/413/422 errors, 429 when the queue is full, 504 past the deadline.
    public func audioInfo(_ request: TranscriptionRequest, arrival: ContinuousClock.Instant) async throws -> AudioInfo {
        let limits = configuration.limits
        let audioBytes = request.audio
        let timeout = configuration.inference.requestTimeout
        return try await scheduler.run(deadline: arrival + .seconds(timeout), timeoutSeconds: timeout) { control in
            let decoder = AudioDecoder(
                limits: AudioLimits(
                    maxInputBytes: limits.maxUploadBytes, maxDuration: limits.maxAudioSeconds, minDuration: limits.minAudioSeconds,
                    decodeTimeout: max(0.001, min(limits.decodeTimeout, control.remainingSeconds))
                )
            )
            let audio = try decoder.decode(audioBytes)
            return AudioInfo(
                duration: audio.duration, format: audio.containerName, codec: audio.codecName, sampleRate: audio.sourceSampleRate,
                channels: audio.sourceChannels
            )
        }
    }
}
