#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DurableStorage
import Dispatch
import Synchronization

/// A fixed pool of dedicated threads for blocking file-system calls.
///
/// `pwrite`, `fdatasync`, `fsync` and blocking lock waits run here, never on Swift's
/// cooperative pool (two threads on a 2-core machine: one `fdatasync` would stall half of all
/// tasks). Callers await the result through a continuation. Jobs for different logs run in
/// parallel, which lets the kernel merge their journal commits and device flushes.
final class IOThreads: Sendable {
    typealias Job = @Sendable () -> Void

    private struct State {
        var jobs: [Job] = []
        var head = 0
        var stopping = false
    }

    private let state = Locked(State())
    private let available = DispatchSemaphore(value: 0)
    private let exited = DispatchSemaphore(value: 0)
    let threadCount: Int

    init(threadCount: Int) {
        precondition(threadCount > 0)
        self.threadCount = threadCount
        for index in 0..<threadCount {
            let box = Unmanaged.passRetained(Worker(pool: self))
            var thread = pthread_t()
            let rc = pthread_create(
                &thread, nil,
                { raw in
                    let worker = Unmanaged<Worker>.fromOpaque(raw!).takeRetainedValue()
                    worker.pool.runLoop()
                    return nil
                }, box.toOpaque())
            precondition(rc == 0, "could not start I/O thread \(index): \(rc)")
            pthread_detach(thread)
        }
    }

    /// Runs `job` on one of the pool's threads.
    func submit(_ job: @escaping Job) {
        state.withLock { s in
            precondition(!s.stopping, "I/O pool used after shutdown")
            s.jobs.append(job)
        }
        available.signal()
    }

    /// Runs `body` on a pool thread and returns its result to the awaiting task.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws(StorageError) -> T) async throws(StorageError) -> T {
        let result: Result<T, StorageError> = await withCheckedContinuation { continuation in
            submit {
                do throws(StorageError) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }

    /// Lets the threads finish queued work and exit; waits for them.
    func shutdown() {
        let already = state.withLock { s in
            defer { s.stopping = true }
            return s.stopping
        }
        if already { return }
        for _ in 0..<threadCount { available.signal() }
        for _ in 0..<threadCount { exited.wait() }
    }

    private func runLoop() {
        while true {
            available.wait()
            let job: Job? = state.withLock { s in
                guard s.head < s.jobs.count else { return nil }
                let job = s.jobs[s.head]
                s.head += 1
                if s.head > 1024 && s.head * 2 > s.jobs.count {
                    s.jobs.removeFirst(s.head)
                    s.head = 0
                }
                return job
            }
            if let job {
                job()
                continue
            }
            if state.withLock({ $0.stopping }) {
                exited.signal()
                return
            }
        }
    }

    private final class Worker: Sendable {
        let pool: IOThreads
        init(pool: IOThreads) { self.pool = pool }
    }
}
