using System.IO.Compression;

namespace Tta.Archive;

/// <summary>
/// Reads a zip member no further than the size it declares: more bytes (a member that lies about its size, a
/// decompression bomb) or fewer are an <see cref="InvalidDataException"/>, so a reader's memory and time stay bounded
/// by what it agreed to read.
/// </summary>
internal sealed class BoundedStream(ZipArchiveEntry entry) : Stream
{
    private readonly Stream inner = entry.Open();
    private readonly long declared = entry.Length;
    private long read;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => declared;
    public override long Position { get => read; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        // Ask for one byte more than is left, so a member that goes on past its declared size is caught.
        var want = (int)Math.Min(buffer.Length, declared - read + 1);
        var n = want <= 0 ? 0 : inner.Read(buffer[..want]);
        read += n;
        if (read > declared) throw new InvalidDataException($"{entry.FullName} inflates to more than the {declared} bytes it declares");
        if (n == 0 && read < declared && buffer.Length > 0)
            throw new InvalidDataException($"{entry.FullName} ends after {read} of the {declared} bytes it declares");
        return n;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
