using Microsoft.Win32.SafeHandles;
using TorchSharp;
using static TorchSharp.torch;

namespace Tta.Models;

/// <summary>
/// One tensor inside a checkpoint file (safetensors or a <c>torch.save</c> zip): its dtype, shape, element strides and
/// where its first element lies. A checkpoint load maps it where it can (<see cref="MapView"/>: a view of the file's
/// pages, no copy); otherwise reading copies the file bytes straight into the destination tensor's storage with
/// positional reads (no copy of the whole file or model): when the dtypes match and the destination is a contiguous
/// CPU tensor the bytes land in place; otherwise they pass through a bounded staging buffer and are converted chunk by
/// chunk (a strided source is staged one tensor at a time).
/// </summary>
public sealed class StoredTensor
{
    /// <summary>Elements converted per staging chunk (32 MB of float32).</summary>
    public const long ChunkElements = 8L << 20;

    private readonly SafeFileHandle handle;
    private readonly MappedFile? mapping;

    public string Name { get; }
    public string File { get; }
    public ScalarType DType { get; }
    public long[] Shape { get; }
    /// <summary>Strides in elements (row-major contiguous for safetensors).</summary>
    public long[] Strides { get; }
    /// <summary>Byte offset of element 0 in the file.</summary>
    public long Offset { get; }

    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
    public bool IsContiguous => Strides.SequenceEqual(ContiguousStrides(Shape)) || ElementCount <= 1;
    /// <summary>Bytes from element 0 to one past the last element the strides reach.</summary>
    public long SpanBytes => ElementCount == 0 ? 0
        : (1 + Shape.Zip(Strides, (n, s) => (n - 1) * s).Sum()) * SafetensorsFile.ElementSize(DType);

    internal StoredTensor(SafeFileHandle handle, MappedFile? mapping, string file, string name, ScalarType dtype, long[] shape, long[] strides, long offset)
    {
        this.handle = handle;
        this.mapping = mapping;
        File = file;
        Name = name;
        DType = dtype;
        Shape = shape;
        Strides = strides;
        Offset = offset;
        if (shape.Any(n => n < 0) || strides.Length != shape.Length || strides.Any(s => s < 0))
            throw new InvalidDataException($"{file}: tensor '{name}' has an invalid shape [{string.Join(", ", shape)}] / strides [{string.Join(", ", strides)}]");
    }

    public static long[] ContiguousStrides(long[] shape)
    {
        var strides = new long[shape.Length];
        long s = 1;
        for (var i = shape.Length - 1; i >= 0; i--)
        {
            strides[i] = s;
            s *= Math.Max(shape[i], 1);
        }
        return strides;
    }

    /// <summary>
    /// A CPU tensor in the stored dtype over the file's mapped pages (nothing read yet: see
    /// <see cref="MappedFile.Prefault"/>), or null where the file is not mapped or the tensor's offset is not aligned to
    /// its element size.
    /// </summary>
    public Tensor? MapView() => ElementCount == 0 ? null : mapping?.View(DType, Offset, Shape, Strides);

    /// <summary>Loads the tensor into a new contiguous CPU tensor, converted to <paramref name="dtype"/> when given.</summary>
    public Tensor Load(ScalarType? dtype = null)
    {
        var t = empty(Shape, dtype ?? DType);
        try
        {
            ReadInto(t);
            return t;
        }
        catch
        {
            t.Dispose();
            throw;
        }
    }

    /// <summary>Copies the stored values into <paramref name="destination"/> (same shape; any dtype and device).</summary>
    /// <param name="chunkElements">elements per conversion chunk when the dtypes differ or the destination is not
    /// CPU memory.</param>
    public unsafe void ReadInto(Tensor destination, long chunkElements = ChunkElements)
    {
        if (chunkElements <= 0) throw new ArgumentOutOfRangeException(nameof(chunkElements));
        if (!destination.shape.SequenceEqual(Shape))
            throw new ArgumentException($"{File}: tensor '{Name}' is [{string.Join(", ", Shape)}], destination is [{string.Join(", ", destination.shape)}]");
        var count = ElementCount;
        if (count == 0) return;
        using var noGrad = no_grad();
        var size = SafetensorsFile.ElementSize(DType);
        if (!IsContiguous)
        {
            // A strided view of a larger storage (torch.save keeps views as they are): stage its span, then copy.
            using var staging = empty(SpanBytes / size, DType);
            ReadBytes(Offset, (byte*)NativeTensor.DataPointer(staging), SpanBytes);
            using var view = staging.as_strided(Shape, Strides);
            destination.copy_(view);
            return;
        }
        var inPlace = destination.device_type == DeviceType.CPU && destination.is_contiguous();
        if (inPlace && destination.dtype == DType)
        {
            ReadBytes(Offset, (byte*)NativeTensor.DataPointer(destination), count * size);
            return;
        }
        if (!destination.is_contiguous())
        {
            using var whole = Load();
            destination.copy_(whole);
            return;
        }
        using var flat = destination.view(-1);
        using var buffer = empty(Math.Min(count, chunkElements), DType);
        var ptr = (byte*)NativeTensor.DataPointer(buffer);
        for (long start = 0; start < count; start += chunkElements)
        {
            var n = Math.Min(chunkElements, count - start);
            ReadBytes(Offset + start * size, ptr, n * size);
            using var src = buffer.narrow(0, 0, n);
            using var dst = flat.narrow(0, start, n);
            dst.copy_(src);
        }
    }

    private unsafe void ReadBytes(long fileOffset, byte* destination, long count)
    {
        long done = 0;
        while (done < count)
        {
            var n = (int)Math.Min(count - done, 1L << 30);
            var read = RandomAccess.Read(handle, new Span<byte>(destination + done, n), fileOffset + done);
            if (read <= 0) throw new EndOfStreamException($"{File}: tensor '{Name}' is cut short ({done} of {count} bytes)");
            done += read;
        }
    }
}
