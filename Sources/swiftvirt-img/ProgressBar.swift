/// qemu-img's -p progress line ("    (12.34/100%)\r" on stdout, then a newline at the end), printed
/// when the value moved by more than `minimumStep` percent, and at 0 and 100 (QEMU's qemu-progress.c).
final class ProgressBar {
    private let isEnabled: Bool
    private let minimumStep: Float
    private var current: Float = 0
    private var lastPrinted: Float = 0

    init(enabled: Bool, minimumStep: Float = 1.0) {
        isEnabled = enabled
        self.minimumStep = minimumStep
    }

    /// Sets the absolute percentage.
    func set(_ percent: Float) {
        update(min(max(percent, 0), 100))
    }

    /// Adds `delta` percent of a task worth `share` percent of the whole.
    func advance(_ delta: Float, share: Float = 100) {
        update(min(current + delta / 100 * share, 100))
    }

    private var hasEnded = false

    /// The final newline (once).
    func end() {
        if isEnabled && !hasEnded { ToolOutput.out("\n") }
        hasEnded = true
    }

    private func update(_ value: Float) {
        current = value
        guard value > lastPrinted + minimumStep || value < lastPrinted - minimumStep || value == 0 || value == 100
        else { return }
        lastPrinted = value
        if isEnabled { ToolOutput.out("    (" + cFormat("%3.2f", Double(value)) + "/100%)\r") }
    }
}
