import Foundation
import Logging
import WhisperEngine
import WhisperTensor

extension ServerConfiguration {
    /// `--config`/`WHISPER_CONFIG`: the JSON config file, read before the environment and the options.
    public static var configFileSetting: Setting {
        Setting(
            "config", flag: "--config", type: "path", defaultText: "none",
            help: "JSON config file whose keys are the settings' keys below; the environment and the options override it.",
            valueName: "<file>", apply: { _, _ in nil }
        )
    }

    /// Every setting of `whisper-server serve`, in the order `--help` and docs/configuration.md list them.
    ///
    /// This table is the one declaration of the settings: the command line, the `WHISPER_*` environment (and the
    /// original server's names), the config file, validation, `--help` and the docs' table all read it. A setting's
    /// default lives on the property it sets (``HTTP``, ``Models``, …) and is read from there.
    public static var settings: [Setting] {
        [
            // HTTP
            .text(
                "host", flag: "--host", legacy: "WHISPER_SERVER_HOST",
                help: "Address to bind: IPv4, IPv6 or host name; anything but loopback needs API keys or --allow-unauthenticated.",
                \.http.host, valueName: "<address>",
                validate: { ConfigurationValidator.isValidHost($0) ? nil : "'\($0)' is not a valid IPv4 address, IPv6 address or host name" }
            ),
            .integer(
                "port", flag: "--port", legacy: "WHISPER_SERVER_PORT", help: "TCP port; 0 picks any free port.", \.http.port,
                range: 0...65535, valueName: "<port>", check: { port, label, check in check.checkPort(port, setting: label, allowEphemeral: true) }
            ),
            .number(
                "header_timeout", flag: "--header-timeout",
                help: "Seconds a client has to send a request's headers; idle keep-alive connections close after it too.",
                \.http.headerTimeout, range: 0.1...3600, unit: "seconds"
            ),
            .number(
                "body_timeout", flag: "--body-timeout",
                help: "Seconds a request body may take to arrive, plus 1 s per 64 KiB received: a steady slow upload survives, a trickle is cut.",
                \.http.bodyTimeout, range: 0.1...86_400, unit: "seconds"
            ),
            .integer(
                "max_connections", flag: "--max-connections",
                help: "Connections open at once; further ones wait in the listen backlog.", \.http.maxConnections, range: 1...1_000_000
            ),
            // Models
            .text(
                "models_dir", flag: "--models-dir", help: "Directory with one sub-directory (or ggml file) per model; must exist.",
                \.models.directory, valueName: "<directory>"
            ),
            .text(
                "default_model", flag: "--default-model", help: "Model for whisper-1 and for requests naming none; must exist.",
                \.models.defaultModel, valueName: "<model>"
            ),
            modelAliasesSetting,
            .integer(
                "max_loaded_models", flag: "--max-loaded-models",
                help: "Models kept in memory at once; the least recently used is unloaded first.", \.models.maxLoaded, range: 1...1000
            ),
            .optionalNumber(
                "model_idle_ttl", flag: "--model-idle-ttl", help: "Unload a model unused for this many seconds.", \.models.idleTTL,
                range: 0.001...1_000_000_000, unit: "seconds", unsetText: "never"
            ),
            .boolean(
                "preload", flag: "--preload", isSwitch: true, help: "Load the default model at start (/ready is 503 until it is loaded).",
                \.models.preload
            ),
            // Inference
            .integer(
                "workers", flag: "--workers",
                help: "Requests in flight together, each on its own worker thread; their decoder steps run batched.",
                \.inference.workers, range: 1...256
            ),
            .integer(
                "queue_size", flag: "--queue-size", help: "Requests that may wait for a worker; one more gets 429 with Retry-After.",
                \.inference.queueSize, range: 0...100_000
            ),
            .number(
                "request_timeout", flag: "--request-timeout", help: "Seconds from a request's arrival to its answer before 504.",
                \.inference.requestTimeout, range: 0.001...86_400, unit: "seconds"
            ),
            .choice(
                "encoder_precision", flag: "--encoder-precision",
                help: "bfloat16 runs the encoder on bfloat16 instructions (AVX512-BF16 or AMX), faster, with transcripts that may differ in places; float32 on CPUs without.",
                \.inference.encoderPrecision, choices: ProductPrecision.allCases.map(\.rawValue),
                defaultText: Setting.defaults.inference.encoderPrecision.rawValue, parse: { ProductPrecision(rawValue: $0.lowercased()) }
            ),
            .choice(
                "decoder_weights", flag: "--decoder-weights",
                help: "int8 holds the decoder's matrices in 8 bits (a step reads half the bytes); transcripts may differ in places.",
                \.inference.decoderWeights, choices: DecoderWeights.allCases.map(\.rawValue),
                defaultText: Setting.defaults.inference.decoderWeights.rawValue, parse: { DecoderWeights(rawValue: $0.lowercased()) }
            ),
            // Limits
            maxUploadSetting,
            .number(
                "max_audio_seconds", flag: "--max-audio-seconds", help: "Longest audio accepted (413 above); must exceed the minimum.",
                \.limits.maxAudioSeconds, range: 0...1_000_000, unit: "seconds"
            ),
            .number(
                "min_audio_seconds", flag: "--min-audio-seconds", help: "Shortest audio accepted (400 below).", \.limits.minAudioSeconds,
                range: 0...3600, unit: "seconds"
            ),
            .number(
                "decode_timeout", flag: "--decode-timeout", help: "Seconds one audio decode may take (422 after).", \.limits.decodeTimeout,
                range: 0.001...86_400, unit: "seconds"
            ),
            // Preprocessing
            .boolean(
                "normalize_peak", flag: "--normalize-peak", isSwitch: true, help: "Scale audio to a full-scale peak before inference.",
                \.preprocessing.normalizePeak
            ),
            .optionalNumber(
                "trim_silence_db", flag: "--trim-silence-db",
                help: "Trim leading and trailing audio quieter than this many dB below full scale.",
                \.preprocessing.trimSilenceThresholdDB, range: 1...120, unit: "dB", unsetText: "off", valueName: "<dB>"
            ),
            // Security
            .optionalText(
                "api_keys_file", flag: "--api-keys-file", help: "File of API keys, one per line, optionally name:key; # starts a comment.",
                \.security.apiKeysFile, valueName: "<file>"
            ),
            .optionalText("api_keys", flag: nil, help: "Comma-separated API keys, each optionally name:key.", \.security.apiKeys, valueName: "<keys>"),
            .boolean(
                "allow_unauthenticated", flag: "--allow-unauthenticated", isSwitch: true,
                help: "Serve without API keys on a non-loopback address.", \.security.allowUnauthenticated
            ),
            .boolean(
                "protect_metrics", flag: "--protect-metrics", isSwitch: false, help: "Whether /metrics needs a key when keys are configured.",
                \.security.protectMetrics
            ),
            .optionalInteger(
                "rate_limit_requests", flag: "--rate-limit-requests", legacy: "RATE_LIMIT_REQUESTS",
                help: "Requests per window per API key (or client IP without keys); 0 is unlimited.", \.security.rateLimitRequests,
                range: 0...1_000_000
            ),
            .optionalNumber(
                "rate_limit_audio_seconds", flag: "--rate-limit-audio-seconds",
                help: "Seconds of audio per window per API key or client IP; 0 is unlimited.", \.security.rateLimitAudioSeconds,
                range: 0...100_000_000, unit: "seconds", unsetText: "unlimited"
            ),
            rateLimitWindowSetting,
            .list(
                "allowed_hosts", flag: "--allowed-host", legacy: "ALLOWED_HOSTS",
                help: "Host header allow-list (*.example.com, * for any); other hosts get 400.", \.security.allowedHosts,
                defaultText: "the bound host, `localhost`, `127.0.0.1`, `::1`", valueName: "<host>",
                validate: { host, label, check in check.checkAllowedHost(host, setting: label) }
            ),
            .list(
                "trusted_proxies", flag: "--trusted-proxy", help: "Proxy addresses or CIDR blocks whose X-Forwarded-For is believed.",
                \.security.trustedProxies, defaultText: "none", valueName: "<address>",
                validate: { proxy, label, check in check.checkAddressRange(proxy, setting: label) }
            ),
            .list(
                "cors_origins", flag: "--cors-origin", legacy: "ALLOWED_ORIGINS",
                help: "Browser origins allowed to call the API: * or http(s)://host[:port]; none turns CORS off.", \.security.cors.origins,
                defaultText: "none (CORS off)", valueName: "<origin>",
                validate: { origin, label, check in check.checkOrigin(origin, setting: label) }
            ),
            // Observability
            .choice(
                "log_format", flag: "--log-format", help: "Log lines as JSON, text, or auto: text on a terminal, JSON otherwise.",
                \.observability.logFormat, choices: LogFormat.allCases.map(\.rawValue), defaultText: Setting.defaults.observability.logFormat.rawValue,
                parse: { LogFormat(rawValue: $0.lowercased()) }
            ),
            .choice(
                "log_level", flag: "--log-level", legacy: "LOG_LEVEL", help: "Least severe level logged (any case; warn is warning).",
                \.observability.logLevel, choices: Logger.Level.allCases.map(\.rawValue),
                defaultText: Setting.defaults.observability.logLevel.rawValue, parse: ObservabilitySettings.parseLogLevel
            ),
            .boolean("access_log", flag: nil, isSwitch: false, help: "One log line per request.", \.observability.accessLog),
            .boolean("metrics", flag: nil, isSwitch: false, help: "Serve GET /metrics (Prometheus).", \.observability.metricsEnabled),
            // Lifecycle
            .number(
                "shutdown_grace_seconds", flag: "--shutdown-grace-seconds",
                help: "After SIGTERM or SIGINT, seconds in-flight requests get before they are cancelled.",
                \.lifecycle.shutdownGraceSeconds, range: 0...3600, unit: "seconds"
            ),
        ]
    }

    /// `--alias a=b`: names added to the models; repeated options and list entries add up.
    static var modelAliasesSetting: Setting {
        Setting(
            "model_aliases", flag: "--alias", type: "alias=model list", defaultText: "none",
            help: "Extra model names as alias=model (an object in the config file); whisper-1 always names the default model.",
            isRepeatable: true, valueName: "<alias=model>",
            apply: { configuration, text in
                guard let aliases = SettingText.aliases(text) else { return "'\(text)' is not a list of alias=model pairs" }
                configuration.models.aliases.merge(aliases) { _, new in new }
                return nil
            },
            check: { configuration, label, check in
                for (alias, model) in configuration.models.aliases.sorted(by: { $0.key < $1.key }) where alias.isEmpty || model.isEmpty {
                    check.report("\(label): alias '\(alias)' → '\(model)' has an empty side")
                }
            }
        )
    }

    /// `--max-upload-mb`: read in MiB, held in bytes.
    static var maxUploadSetting: Setting {
        Setting(
            "max_upload_mb", flag: "--max-upload-mb", legacy: "MAX_AUDIO_FILE_SIZE_MB", type: "MiB",
            defaultText: "`\(SettingText.format(Double(Setting.defaults.limits.maxUploadBytes) / 1_048_576))`", range: "1 KiB…2 GiB",
            help: "Largest audio upload (413 above); base64 in JSON may be a third longer.", valueName: "<MiB>",
            apply: { configuration, text in
                guard let megabytes = SettingText.number(text) else { return "'\(text)' is not a number" }
                configuration.limits.maxUploadBytes = ServerConfiguration.bytes(megabytes: megabytes)
                return nil
            },
            check: { configuration, label, check in
                let bytes = configuration.limits.maxUploadBytes
                check.require((1024...(2 * 1024 * 1024 * 1024)).contains(bytes), "\(label): must be within 1 KiB…2 GiB (got \(bytes) bytes)")
            }
        )
    }

    /// `--rate-limit-window`: seconds, or a duration as the original server wrote it (`1 minute`).
    static var rateLimitWindowSetting: Setting {
        Setting(
            "rate_limit_window", flag: "--rate-limit-window", legacy: "RATE_LIMIT_WINDOW", type: "seconds or duration",
            defaultText: "`\(SettingText.format(Setting.defaults.security.rateLimitWindowSeconds))`", range: "1…86400",
            help: "Length of the rate-limit window: seconds, or a count and a unit such as 30 seconds, 1 minute, 1 hour.",
            valueName: "<seconds>",
            apply: { configuration, text in
                guard let seconds = SettingText.duration(text) else {
                    return "'\(text)' is not a duration (seconds, or e.g. 30 seconds, 1 minute, 1 hour)"
                }
                configuration.security.rateLimitWindowSeconds = seconds
                return nil
            },
            check: { configuration, label, check in check.checkRange(configuration.security.rateLimitWindowSeconds, 1...86_400, setting: label) }
        )
    }

    /// The setting whose config-file key is `key`.
    public static func setting(key: String) -> Setting? {
        settings.first { $0.key == key }
    }

    /// How problems name the setting whose key is `key`, e.g. `--models-dir/WHISPER_MODELS_DIR`.
    static func label(_ key: String) -> String {
        setting(key: key)?.label ?? key
    }

    /// The `WHISPER_*` environment variables the settings read (plus `WHISPER_CONFIG`).
    public static var environmentVariables: [String] { settings.map(\.environment) }

    /// The config-file key of an environment variable: the name without `WHISPER_`, lower-cased (`WHISPER_MAX_UPLOAD_MB` → `max_upload_mb`).
    public static func fileKey(forEnvironmentVariable name: String) -> String {
        String(name.dropFirst("WHISPER_".count)).lowercased()
    }

    /// Mebibytes (as given on the command line) to bytes.
    public static func bytes(megabytes: Double) -> Int {
        guard megabytes.isFinite, megabytes > 0 else { return 0 }
        return Int(min(megabytes, 1_000_000) * 1024 * 1024)
    }
}
