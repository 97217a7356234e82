#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser

/// Runs blocking work (file reads and writes) on a thread of its own, so that the cooperative
/// pool never waits on the disk.
enum BlockingThread {
    /// Runs `work` on a new thread and returns its result.
    static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let box = Unmanaged.passRetained(Job { continuation.resume(with: Result { try work() }) })
            var thread = pthread_t()
            let started = pthread_create(
                &thread, nil,
                { raw in
                    let job = Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue()
                    job.body()
                    return nil
                }, box.toOpaque())
            if started == 0 {
                pthread_detach(thread)
            } else {
                box.release()
                continuation.resume(throwing: ValidationError("could not start a thread (error \(started))"))
            }
        }
    }

    /// The closure a thread runs; immutable, handed to exactly one thread.
    private final class Job: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
}
