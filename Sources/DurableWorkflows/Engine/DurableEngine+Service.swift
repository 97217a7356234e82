import ServiceLifecycle

/// The engine as a swift-service-lifecycle `Service`, so it runs in one `ServiceGroup` beside a
/// Hummingbird or Vapor server and stops with it:
///
/// ```swift
/// let engine = try DurableEngine(directory: ".durable")
/// engine.register(Checkout())
/// let group = ServiceGroup(services: [engine, httpServer], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()
/// ```
extension DurableEngine: Service {
    /// Launches the engine (recovering pending workflows), serves until a graceful shutdown is
    /// triggered (or the task is cancelled), then shuts down: running workflows are interrupted
    /// without recording anything and their leases released, so the next executor continues
    /// them from their last checkpoint.
    public func run() async throws {
        try await launch()
        try? await gracefulShutdown()  // returns at the shutdown signal; throws if cancelled first
        await shutdown()
    }
}
