import Foundation
import Testing

/// A compressed or containerised fixture format: how `ffmpeg` makes it and how closely its decoded samples must
/// correlate with the 16 kHz reference.
struct FixtureFormat: Sendable, CustomTestStringConvertible {
    let name: String
    let fileExtension: String
    let extraInputs: [String]
    let options: [String]
    /// The least acceptable correlation with the reference after aligning for codec delay.
    let minimumCorrelation: Double
    /// FFmpeg's container and codec names the decoder must report.
    let containerName: String
    let codecName: String

    var testDescription: String { name }

    private static let video = ["-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=6"]

    static let all: [FixtureFormat] = [
        FixtureFormat(
            name: "mp3 CBR", fileExtension: "mp3", extraInputs: [], options: ["-c:a", "libmp3lame", "-b:a", "64k"],
            minimumCorrelation: 0.99, containerName: "mp3", codecName: "mp3"
        ),
        FixtureFormat(
            name: "mp3 VBR", fileExtension: "mp3", extraInputs: [], options: ["-c:a", "libmp3lame", "-q:a", "4"],
            minimumCorrelation: 0.99, containerName: "mp3", codecName: "mp3"
        ),
        FixtureFormat(
            name: "mp3 ID3", fileExtension: "mp3", extraInputs: [],
            options: [
                "-c:a", "libmp3lame", "-b:a", "96k", "-id3v2_version", "3", "-write_id3v1", "1",
                "-metadata", "title=WhisperServer fixture", "-metadata", "artist=espeak-ng", "-metadata", "comment=\(String(repeating: "x", count: 2000))",
            ],
            minimumCorrelation: 0.99, containerName: "mp3", codecName: "mp3"
        ),
        FixtureFormat(
            name: "flac", fileExtension: "flac", extraInputs: [], options: ["-ar", "44100", "-c:a", "flac"],
            minimumCorrelation: 0.999, containerName: "flac", codecName: "flac"
        ),
        FixtureFormat(
            name: "ogg vorbis", fileExtension: "ogg", extraInputs: [], options: ["-c:a", "libvorbis", "-q:a", "4"],
            minimumCorrelation: 0.99, containerName: "ogg", codecName: "vorbis"
        ),
        FixtureFormat(
            name: "ogg opus", fileExtension: "ogg", extraInputs: [], options: ["-c:a", "libopus", "-b:a", "48k"],
            minimumCorrelation: 0.99, containerName: "ogg", codecName: "opus"
        ),
        FixtureFormat(
            name: "webm opus", fileExtension: "webm", extraInputs: [], options: ["-c:a", "libopus", "-b:a", "48k"],
            minimumCorrelation: 0.99, containerName: "matroska,webm", codecName: "opus"
        ),
        FixtureFormat(
            name: "m4a aac", fileExtension: "m4a", extraInputs: [], options: ["-c:a", "aac", "-b:a", "96k"],
            minimumCorrelation: 0.99, containerName: "mov,mp4,m4a,3gp,3g2,mj2", codecName: "aac"
        ),
        FixtureFormat(
            name: "mp4 h264 aac", fileExtension: "mp4", extraInputs: video,
            options: ["-map", "1:v", "-map", "0:a", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-b:a", "96k", "-shortest"],
            minimumCorrelation: 0.99, containerName: "mov,mp4,m4a,3gp,3g2,mj2", codecName: "aac"
        ),
        FixtureFormat(
            name: "mpeg-ps mp2", fileExtension: "mpg", extraInputs: video,
            options: ["-map", "1:v", "-map", "0:a", "-c:v", "mpeg1video", "-c:a", "mp2", "-b:a", "128k", "-ar", "44100", "-shortest", "-f", "mpeg"],
            minimumCorrelation: 0.98, containerName: "mpeg", codecName: "mp2"
        ),
    ]

    func make() throws -> URL {
        try Fixtures.make(fileExtension, extraInputs: extraInputs, options)
    }
}
