/// A host system call a device's own machinery (its thread, its wake-up event) needed failed.
struct SystemCallFailure: Error, Equatable {
    var name: String
    var errno: Int32
}
