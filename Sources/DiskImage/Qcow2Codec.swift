import CZlib
import CZstd

/// Compression of whole clusters, byte-compatible with QEMU's qcow2-threads.c: zlib as raw deflate with
/// a 4 KiB window (windowBits -12, memLevel 9, default level), zstd as one frame with default parameters.
/// The only place calling zlib and zstd.
enum Qcow2Codec {
    /// Compresses `input` into `output`; nil when the result does not fit (the caller then stores the
    /// cluster uncompressed).
    static func compress(
        _ type: Qcow2CompressionType, _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
    ) -> Int? {
        guard let source = input.baseAddress, let destination = output.baseAddress else { return nil }
        switch type {
        case .zlib:
            var stream = z_stream()
            guard czlib_deflate_init2(&stream, Z_DEFAULT_COMPRESSION, -12, 9, Z_DEFAULT_STRATEGY) == Z_OK else {
                return nil
            }
            defer { deflateEnd(&stream) }
            stream.next_in = UnsafeMutablePointer(mutating: source.assumingMemoryBound(to: Bytef.self))
            stream.avail_in = uInt(input.count)
            stream.next_out = destination.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(output.count)
            guard deflate(&stream, Z_FINISH) == Z_STREAM_END else { return nil }
            return output.count - Int(stream.avail_out)
        case .zstd:
            guard let context = ZSTD_createCCtx() else { return nil }
            defer { ZSTD_freeCCtx(context) }
            var outBuffer = ZSTD_outBuffer(dst: destination, size: output.count, pos: 0)
            var inBuffer = ZSTD_inBuffer(src: source, size: input.count, pos: 0)
            // One call with ZSTD_e_end; anything left to flush means the output buffer was too small.
            let remaining = ZSTD_compressStream2(context, &outBuffer, &inBuffer, ZSTD_e_end)
            guard remaining == 0, outBuffer.pos <= output.count else { return nil }
            return outBuffer.pos
        }
    }

    /// Decompresses exactly `output.count` bytes from `input`; `input` may carry trailing bytes (the
    /// descriptor only knows sectors). Throws when the stream is damaged or too short.
    static func decompress(
        _ type: Qcow2CompressionType, _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
    ) throws(DiskImageError) {
        guard let source = input.baseAddress, let destination = output.baseAddress else {
            throw .corrupt("empty compressed cluster")
        }
        switch type {
        case .zlib:
            var stream = z_stream()
            guard czlib_inflate_init2(&stream, -12) == Z_OK else { throw .corrupt("zlib could not start inflating") }
            defer { inflateEnd(&stream) }
            stream.next_in = UnsafeMutablePointer(mutating: source.assumingMemoryBound(to: Bytef.self))
            stream.avail_in = uInt(input.count)
            stream.next_out = destination.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(output.count)
            let result = inflate(&stream, Z_FINISH)
            // Z_BUF_ERROR with a full output buffer: the cluster is complete, trailing input is padding.
            guard (result == Z_STREAM_END || result == Z_BUF_ERROR) && stream.avail_out == 0 else {
                throw .corrupt("compressed cluster does not inflate to a full cluster (zlib \(result))")
            }
        case .zstd:
            guard let context = ZSTD_createDCtx() else { throw .corrupt("zstd could not allocate a context") }
            defer { ZSTD_freeDCtx(context) }
            var outBuffer = ZSTD_outBuffer(dst: destination, size: output.count, pos: 0)
            var inBuffer = ZSTD_inBuffer(src: source, size: input.count, pos: 0)
            var lastResult = 0
            // Several frames may follow each other; every round must make progress.
            while outBuffer.pos < outBuffer.size {
                let (inBefore, outBefore) = (inBuffer.pos, outBuffer.pos)
                lastResult = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
                if ZSTD_isError(lastResult) != 0 {
                    throw .corrupt("compressed cluster is not valid zstd data")
                }
                guard inBuffer.pos > inBefore || outBuffer.pos > outBefore else {
                    throw .corrupt("compressed cluster ends before a full cluster (zstd)")
                }
            }
            guard lastResult == 0 else { throw .corrupt("compressed cluster decompresses to more than a cluster") }
        }
    }
}
