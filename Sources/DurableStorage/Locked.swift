#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

#if DURABLE_TSAN
/// The package's lock around a value: in ThreadSanitizer builds (`tools/sanitize thread` compiles with
/// `-DDURABLE_TSAN`), a pthread mutex, which ThreadSanitizer intercepts, instead of the
/// standard library's futex-based one, which it cannot see: every access it orders would
/// otherwise be reported as a race.
package typealias Locked<Value: ~Copyable> = InstrumentedMutex<Value>

/// A lock around a value, on a `pthread_mutex_t` (ThreadSanitizer builds only).
///
/// `@unchecked Sendable` is sound: `value` is only read or written inside `withLock`, while the
/// pthread mutex is held, so no two threads ever touch it at once.
package final class InstrumentedMutex<Value: ~Copyable>: @unchecked Sendable {
    private let lock: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    package init(_ value: consuming sending Value) {
        self.value = value
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_mutex_t())
        pthread_mutex_init(lock, nil)
    }

    deinit {
        pthread_mutex_destroy(lock)
        lock.deallocate()
    }

    package func withLock<Result: ~Copyable, E: Error>(
        _ body: (inout sending Value) throws(E) -> sending Result
    ) throws(E) -> sending Result {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return try body(&value)
    }

    package func withLockIfAvailable<Result: ~Copyable, E: Error>(
        _ body: (inout sending Value) throws(E) -> sending Result
    ) throws(E) -> sending Result? {
        guard pthread_mutex_trylock(lock) == 0 else { return nil }
        defer { pthread_mutex_unlock(lock) }
        return try body(&value)
    }
}
#else
/// The package's lock around a value: the standard library's `Mutex` (a pthread mutex in ThreadSanitizer
/// builds, which it can see; see `tools/sanitize`).
package typealias Locked<Value: ~Copyable> = Synchronization.Mutex<Value>
#endif
