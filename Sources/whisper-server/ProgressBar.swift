import Foundation

/// A progress bar on standard error, shown only when it is a terminal and the audio is longer than one window.
final class ProgressBar {
    private let total: Double
    private let enabled: Bool
    private let width = 40

    init(total: Double) {
        self.total = total
        enabled = isatty(STDERR_FILENO) != 0 && total > 30
    }

    func update(_ seconds: Double) {
        guard enabled else { return }
        let fraction = min(1, max(0, seconds / total))
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        FileHandle.standardError.write(Data(String(format: "\r%@ %3.0f%% %.0f/%.0f s", bar, fraction * 100, seconds, total).utf8))
    }

    func finish() {
        guard enabled else { return }
        update(total)
        FileHandle.standardError.write(Data("\n".utf8))
    }
}
