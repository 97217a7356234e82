import DurableStorage
import Synchronization

/// Change counters by key (a workflow's history, its inbox, a queue), and the tasks waiting for
/// them to move: what a store's followers and queue waits block on.
///
/// A key moves when this store commits a change to it, and when the store's listening connection
/// hears another process's `NOTIFY`. Waits are also capped by the store's polling interval, since
/// DBOS's own writers do not notify on every change.
final class WakeBoard: Sendable {
    private struct Waiter {
        var key: String
        var continuation: CheckedContinuation<Void, Never>?
        var fired = false
    }

    /// Versions come from one counter, so a key's version never repeats; keys nobody waits on are
    /// forgotten once there are many (every process's notifications reach every store), and a
    /// forgotten key reads as the counter's value when it was forgotten: a reader may then wake
    /// once for nothing, but never misses a move.
    private struct State {
        var versions: [String: UInt64] = [:]
        var counter: UInt64 = 0
        var floor: UInt64 = 0
        var waiters: [Int: Waiter] = [:]
        var nextID = 0

        func version(_ key: String) -> UInt64 { versions[key] ?? floor }
    }

    /// How many keys are remembered before the ones without waiters are forgotten.
    private static let remembered = 4096

    private let state = Locked(State())

    /// The current version of `key`.
    func version(_ key: String) -> UInt64 {
        state.withLock { $0.version(key) }
    }

    /// Moves `key` and wakes every task waiting on it.
    func signal(_ key: String) {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            if state.versions.count >= Self.remembered {
                let waited = Set(state.waiters.values.map(\.key))
                state.floor = state.counter
                state.versions = state.versions.filter { waited.contains($0.key) }
            }
            state.counter += 1
            state.versions[key] = state.counter
            var woken: [CheckedContinuation<Void, Never>] = []
            for (id, waiter) in state.waiters where waiter.key == key {
                if let continuation = waiter.continuation { woken.append(continuation) }
                state.waiters[id]?.continuation = nil
                state.waiters[id]?.fired = true
            }
            return woken
        }
        for continuation in woken { continuation.resume() }
    }

    /// Moves every key (the listening connection was lost: what it missed is unknown).
    func signalAll() {
        let keys = state.withLock { state in Array(state.versions.keys) + state.waiters.values.map(\.key) }
        for key in Set(keys) { signal(key) }
    }

    /// Returns once `key` moved past `version`, after `timeout`, or when the task is cancelled.
    func wait(_ key: String, after version: UInt64, timeout: Duration) async {
        let id = state.withLock { state -> Int in
            defer { state.nextID += 1 }
            state.waiters[state.nextID] = Waiter(key: key)
            return state.nextID
        }
        let timer = Task { [self] in
            try? await Task.sleep(for: timeout)
            fire(id)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state -> Bool in
                    if state.waiters[id]?.fired == true || state.version(key) != version { return true }
                    state.waiters[id]?.continuation = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            fire(id)
        }
        timer.cancel()
        state.withLock { _ = $0.waiters.removeValue(forKey: id) }
    }

    private func fire(_ id: Int) {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard state.waiters[id] != nil else { return nil }
            state.waiters[id]?.fired = true
            defer { state.waiters[id]?.continuation = nil }
            return state.waiters[id]?.continuation
        }
        continuation?.resume()
    }
}
