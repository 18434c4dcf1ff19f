import Dispatch
import Synchronization

/// Runs `background` on another thread while `foreground` runs on this one, e.g. parsing the tokenizer while the
/// weights are read (each takes about half of a small model's load time). Waits for both; an error of `foreground`
/// wins over one of `background`.
func concurrently<First, Second: Sendable>(
    _ foreground: () throws(ModelLoadingError) -> First,
    alongside background: @escaping @Sendable () throws(ModelLoadingError) -> Second
) throws(ModelLoadingError) -> (First, Second) {
    let outcome = Mutex<Result<Second, ModelLoadingError>?>(nil)
    let done = DispatchSemaphore(value: 0)
    DispatchQueue.global(qos: .userInitiated).async {
        let result = Result { () throws(ModelLoadingError) -> Second in try background() }
        outcome.withLock { $0 = result }
        done.signal()
    }
    let first: Result<First, ModelLoadingError> = Result { () throws(ModelLoadingError) -> First in try foreground() }
    done.wait()
    let second = outcome.withLock { $0! }
    return (try first.get(), try second.get())
}
