#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DurableStorage
import CDurableLinux
import Synchronization

/// Wakes tasks when another process (or this one) appends to a file: inotify, one dedicated
/// thread per store, no polling interval.
///
/// Waiting follows a check-then-wait pattern that cannot lose a wake-up: read
/// ``version(of:)``, check the condition (read the log), then ``wait(for:after:until:)`` with the
/// version read before the check; if the file changed in between, the wait returns at once.
///
/// When inotify is not available (the per-user limit of inotify instances or watches is
/// reached, or the kernel lacks it), the watcher degrades to polling the file's size and
/// modification time instead of failing: every 2 ms at first, backing off to every 100 ms while
/// nothing changes, so that many idle waiters cost little CPU. Slower, and blind to a second
/// change within one timestamp tick, which the callers' re-checks bound.
public final class FileWatcher: Sendable {
    /// The first and the longest interval between two polls of a path without inotify.
    static let pollIntervals = (first: Duration.milliseconds(2), longest: Duration.milliseconds(100))

    private struct Watch {
        var version: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    }

    private struct State {
        /// Paths watched by polling their metadata (inotify unavailable for them).
        var polled: Set<String> = []
        var descriptors: [String: Int32] = [:]
        var paths: [Int32: String] = [:]
        var watches: [String: Watch] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let inotify: Int32
    private let stopPipe: (read: Int32, write: Int32)
    private let state = Locked(State())

    /// Whether inotify serves this watcher (false: every path is polled).
    public var usesInotify: Bool { inotify >= 0 }

    /// Where a polled path's metadata is read (`stat` must not run on the cooperative pool).
    private let io: IOThreads

    /// A watcher on inotify, or polling (its `stat` calls on `io`) if inotify (or the pipe that
    /// stops its thread) is unavailable.
    init(useInotify: Bool = true, io: IOThreads) {
        self.io = io
        var fds: [Int32] = [-1, -1]
        var descriptor = useInotify ? inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK)) : -1
        if descriptor >= 0 && durable_pipe_cloexec(&fds) != 0 {
            close(descriptor)
            descriptor = -1
        }
        inotify = descriptor
        stopPipe = (fds[0], fds[1])
        guard descriptor >= 0 else { return }
        let box = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(
            &thread, nil,
            { raw in
                Unmanaged<FileWatcher>.fromOpaque(raw!).takeRetainedValue().readEvents()
                return nil
            }, box)
        precondition(rc == 0, "could not start the file watcher thread: \(rc)")
        pthread_detach(thread)
    }

    deinit {
        guard inotify >= 0 else { return }
        close(inotify)
        close(stopPipe.read)
        close(stopPipe.write)
    }

    /// Stops the watcher thread (waiters already registered are woken by their deadlines).
    func stop() {
        guard inotify >= 0 else { return }
        var byte: UInt8 = 1
        _ = write(stopPipe.write, &byte, 1)
    }

    /// A counter that grows every time `path` is modified (0 before it is first watched); for a
    /// directory, every time an entry is created or moved into it. Call it on an I/O thread: the
    /// first call adds a watch (a path lookup), and a polled path is read with `stat`. From async
    /// code, ``watchedVersion(of:)`` answers from memory once the path is watched.
    public func version(of path: String) throws(StorageError) -> UInt64 {
        let polled = try state.withLock { (s) throws(StorageError) -> Bool in
            if s.polled.contains(path) { return true }
            if s.watches[path] == nil {
                let wd =
                    inotify >= 0
                    ? inotify_add_watch(
                        inotify, path, UInt32(IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_CREATE | IN_MOVED_TO)) : -1
                guard wd >= 0 else {
                    let code = inotify >= 0 ? Glibc.errno : ENOSYS
                    if code == ENOENT { throw StorageError(.notFound, "no such file", path: path, errno: code) }
                    s.polled.insert(path)  // no watch to be had (ENOSPC: the per-user limit): poll it
                    return true
                }
                s.descriptors[path] = wd
                s.paths[wd] = path
                s.watches[path] = Watch()
            }
            return false
        }
        if polled { return try Self.signature(of: path) }
        return state.withLock { $0.watches[path]!.version }
    }

    /// `path`'s version if inotify watches it, told from memory (nil: not watched yet, or polled).
    public func watchedVersion(of path: String) -> UInt64? {
        state.withLock { $0.watches[path]?.version }
    }

    /// A polled path's version: its inode, size and modification time, hashed.
    private static func signature(of path: String) throws(StorageError) -> UInt64 {
        var st = stat()
        guard stat(path, &st) == 0 else {
            let code = Glibc.errno
            if code == ENOENT { throw StorageError(.notFound, "no such file", path: path, errno: code) }
            throw StorageError(.io, "stat failed", path: path, errno: code)
        }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for part in [
            UInt64(st.st_ino), UInt64(bitPattern: Int64(st.st_size)), UInt64(bitPattern: Int64(st.st_mtim.tv_sec)),
            UInt64(bitPattern: Int64(st.st_mtim.tv_nsec)),
        ] {
            hash = (hash ^ part) &* 0x100_0000_01b3
        }
        return hash
    }

    /// The monotonic-clock deadline (ns) `duration` from now, for ``wait(for:after:until:)``.
    public static func deadline(after duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        return SystemCall.monotonicNanoseconds()
            &+ UInt64(max(0, seconds) * 1_000_000_000 + max(0, attoseconds) / 1_000_000_000)
    }

    /// Returns once `path` changes after `version`, or at `deadline` (monotonic ns), or on cancellation.
    public func wait(for path: String, after version: UInt64, until deadline: UInt64?) async {
        if state.withLock({ $0.polled.contains(path) }) {
            var interval = Self.pollIntervals.first
            while !Task.isCancelled,
                (try? await io.run({ () throws(StorageError) in try Self.signature(of: path) })) == version
            {
                let now = SystemCall.monotonicNanoseconds()
                if let deadline, now >= deadline { return }
                let untilDeadline = deadline.map { Duration.nanoseconds(Int64($0 - now)) } ?? interval
                try? await Task.sleep(for: min(interval, untilDeadline))
                interval = min(interval * 2, Self.pollIntervals.longest)
            }
            return
        }
        let id = state.withLock { s -> UInt64 in
            s.nextWaiter += 1
            return s.nextWaiter
        }
        let timer: Task<Void, Never>? = deadline.map { deadline in
            Task { [weak self] in
                let now = SystemCall.monotonicNanoseconds()
                if deadline > now { try? await Task.sleep(for: .nanoseconds(Int64(deadline - now))) }
                self?.resume(path: path, waiter: id)
            }
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { s -> Bool in
                    guard let watch = s.watches[path], watch.version == version, !Task.isCancelled else { return true }
                    s.watches[path]!.waiters[id] = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            resume(path: path, waiter: id)
        }
        timer?.cancel()
    }

    private func resume(path: String, waiter id: UInt64) {
        let continuation = state.withLock { $0.watches[path]?.waiters.removeValue(forKey: id) }
        continuation?.resume()
    }

    private func readEvents() {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            var fds = [
                pollfd(fd: inotify, events: Int16(POLLIN), revents: 0),
                pollfd(fd: stopPipe.read, events: Int16(POLLIN), revents: 0),
            ]
            if poll(&fds, 2, -1) < 0 {
                if Glibc.errno == EINTR { continue }
                return
            }
            if fds[1].revents != 0 { return }
            let n = buffer.withUnsafeMutableBytes { read(inotify, $0.baseAddress, $0.count) }
            if n <= 0 { continue }
            var offset = 0
            var woken: [CheckedContinuation<Void, Never>] = []
            while offset + MemoryLayout<inotify_event>.size <= n {
                let (wd, length) = buffer.withUnsafeBytes { raw in
                    let event = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                    return (event.wd, Int(event.len))
                }
                offset += MemoryLayout<inotify_event>.size + length
                state.withLock { s in
                    if wd == -1 {
                        // IN_Q_OVERFLOW: events were dropped, so every watched file may have changed.
                        for path in s.watches.keys {
                            s.watches[path]!.version += 1
                            woken += s.watches[path]!.waiters.values
                            s.watches[path]!.waiters = [:]
                        }
                        return
                    }
                    guard let path = s.paths[wd], var watch = s.watches[path] else { return }
                    watch.version += 1
                    woken += watch.waiters.values
                    watch.waiters = [:]
                    s.watches[path] = watch
                }
            }
            for continuation in woken { continuation.resume() }
        }
    }
}
