#if canImport(Glibc)
    import Glibc
#endif

/// Runs blocking work (socket round trips to a VMM, which may hang until their timeout) on a thread
/// of its own, so the few threads of Swift's cooperative pool keep serving every other client.
enum BlockingCall {
    private final class Job: @unchecked Sendable {
        let work: () -> Void
        init(_ work: @escaping () -> Void) { self.work = work }
    }

    static func run<T: Sendable, E: Error>(_ work: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
        let result: Result<T, E> = await withCheckedContinuation { continuation in
            let job = Job {
                do throws(E) {
                    continuation.resume(returning: .success(try work()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            if !startDetachedThread(job) {
                // No thread to be had: do the work here rather than not at all.
                job.work()
            }
        }
        return try result.get()
    }

    private static func startDetachedThread(_ job: Job) -> Bool {
        let box = Unmanaged.passRetained(job)
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var handle = pthread_t()
        let result = pthread_create(
            &handle, &attributes,
            { raw in
                guard let raw else { return nil }
                Unmanaged<Job>.fromOpaque(raw).takeRetainedValue().work()
                return nil
            }, box.toOpaque())
        guard result == 0 else {
            box.release()
            return false
        }
        return true
    }
}
