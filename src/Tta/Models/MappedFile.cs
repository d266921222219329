using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Tta.Models;

/// <summary>
/// A checkpoint file mapped into memory, copy-on-write (libtorch's <c>from_file</c>, not shared: the file opened
/// read-only, <c>MAP_PRIVATE</c>), so a tensor whose stored dtype is the load dtype becomes a view of the file's pages
/// instead of a copy of them: the weights sit in memory once (the page cache, mapped into the process, counted in its
/// resident set) instead of twice, and a write to a weight stays in the process. The file is mapped once per element
/// type on first use; views keep the mapping alive after <see cref="Dispose"/>, until the last of them is freed.
/// </summary>
public sealed partial class MappedFile(string path, long length) : IDisposable
{
    private readonly Dictionary<ScalarType, Tensor> byType = [];
    private readonly Lock gate = new();

    public string Path { get; } = path;

    /// <summary>
    /// A tensor over the file's bytes at <paramref name="byteOffset"/> with the given shape and element strides, or null
    /// where the offset is not a multiple of the element size (the caller then reads a copy).
    /// </summary>
    public Tensor? View(ScalarType dtype, long byteOffset, long[] shape, long[] strides)
    {
        var size = SafetensorsFile.ElementSize(dtype);
        if (byteOffset % size != 0 || length / size == 0) return null;
        Tensor whole;
        lock (gate)
        {
            if (!byType.TryGetValue(dtype, out whole!))
            {
                try
                {
                    whole = from_file(Path, shared: false, size: length / size, dtype: dtype).DetachFromDisposeScope();
                }
                catch (Exception e) when (e is ExternalException or InvalidOperationException or ArgumentException)
                {
                    // No mapping (strict overcommit charges a private mapping in full, a ulimit -v): read instead.
                    return null;
                }
                byType[dtype] = whole;
            }
        }
        return whole.as_strided(shape, strides, byteOffset / size);
    }

    public void Dispose()
    {
        lock (gate)
        {
            foreach (var t in byType.Values) t.Dispose();
            byType.Clear();
        }
    }

    /// <summary>
    /// Brings the mapped pages of [<paramref name="start"/>, +<paramref name="bytes"/>) into memory now
    /// (<c>MADV_POPULATE_READ</c>, or one read per page where the kernel predates it), so a load has read its weights
    /// when it ends instead of stalling the first forward pass on page faults.
    /// </summary>
    public static unsafe void Prefault(nint start, long bytes, string file)
    {
        if (bytes <= 0) return;
        var page = Environment.SystemPageSize;
        var first = start & ~(nint)(page - 1);
        var length = (nuint)(start - first + bytes);
        if (OperatingSystem.IsLinux())
        {
            if (Madvise(first, length, PopulateRead) == 0) return;
            var errno = Marshal.GetLastPInvokeError();
            if (errno != Einval) // EINVAL: a kernel before 5.14; touch the pages instead
                throw new IOException($"{file}: reading the weights failed (madvise: errno {errno}); check the file and the disk");
        }
        var p = (byte*)first;
        var sum = 0;
        for (nuint at = 0; at < length; at += (nuint)page) sum += Volatile.Read(ref p[at]);
        GC.KeepAlive(sum);
    }

    private const int PopulateRead = 22; // MADV_POPULATE_READ, Linux 5.14+
    private const int Einval = 22;

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int Madvise(nint address, nuint length, int advice);
}
