using Microsoft.Win32.SafeHandles;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using Tta.Core;
using static TorchSharp.torch;

namespace Tta.Models;

/// <summary>One tensor's entry in a safetensors header.</summary>
public sealed record SafetensorsEntry(string Name, string DType, long[] Shape, long Begin, long End)
{
    public long ByteLength => End - Begin;
}

/// <summary>
/// Reads a safetensors file: a checkpoint load maps it (<see cref="MappedFile"/>) and views each tensor stored in the
/// load dtype in place; other reads go with positional reads straight from the file into their final torch storage (see
/// <see cref="StoredTensor"/>), never through a managed copy of the whole file.
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    private readonly SafeFileHandle handle;
    private readonly MappedFile mapping;
    private readonly long dataStart;
    private readonly Dictionary<string, StoredTensor> tensors = new(StringComparer.Ordinal);

    public string Path { get; }
    public IReadOnlyDictionary<string, SafetensorsEntry> Entries { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }
    public IReadOnlyDictionary<string, StoredTensor> Tensors => tensors;

    public SafetensorsFile(string path)
    {
        Path = path;
        handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        try
        {
            var length = RandomAccess.GetLength(handle);
            if (length < 8) throw new InvalidDataException($"{path}: not a safetensors file (too short)");
            mapping = new MappedFile(path, length);
            Span<byte> prefix = stackalloc byte[8];
            RandomAccess.Read(handle, prefix, 0);
            var headerLength = BitConverter.ToInt64(prefix);
            if (headerLength <= 0 || headerLength > 100_000_000 || 8 + headerLength > length)
                throw new InvalidDataException($"{path}: not a safetensors file (header length {headerLength})");
            var header = new byte[headerLength];
            if (RandomAccess.Read(handle, header, 8) != header.Length)
                throw new InvalidDataException($"{path}: safetensors header is cut short");
            dataStart = 8 + headerLength;
            var entries = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var root = JsonNode.Parse(header)?.AsObject()
                ?? throw new InvalidDataException($"{path}: safetensors header is not a JSON object");
            foreach (var (name, node) in root)
            {
                if (name == "__metadata__")
                {
                    foreach (var (k, v) in node!.AsObject()) metadata[k] = v!.GetValue<string>();
                    continue;
                }
                var o = node!.AsObject();
                var offsets = o["data_offsets"]!.AsArray();
                var entry = new SafetensorsEntry(name, o["dtype"]!.GetValue<string>(),
                    o["shape"]!.AsArray().Select(x => x!.GetValue<long>()).ToArray(),
                    offsets[0]!.GetValue<long>(), offsets[1]!.GetValue<long>());
                if (dataStart + entry.End > length || entry.Begin > entry.End || entry.Begin < 0)
                    throw new InvalidDataException($"{path}: tensor '{name}' lies outside the file");
                var stored = ToScalarType(entry.DType, path, name);
                var expected = entry.Shape.Aggregate(1L, (a, b) => a * b) * ElementSize(stored);
                if (expected != entry.ByteLength)
                    throw new InvalidDataException($"{path}: tensor '{name}' has {entry.ByteLength} bytes, shape needs {expected}");
                entries[name] = entry;
                tensors[name] = new StoredTensor(handle, mapping, path, name, stored, entry.Shape,
                    StoredTensor.ContiguousStrides(entry.Shape), dataStart + entry.Begin);
            }
            Entries = entries;
            Metadata = metadata;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    public bool Contains(string name) => Entries.ContainsKey(name);

    public StoredTensor Stored(string name) => tensors.TryGetValue(name, out var t)
        ? t : throw new KeyNotFoundException($"{Path}: no tensor named '{name}'");

    /// <summary>Loads one tensor, converted to <paramref name="dtype"/> when given (one tensor at a time).</summary>
    public Tensor Load(string name, ScalarType? dtype = null) => Stored(name).Load(dtype);

    /// <summary>Copies the stored values of <paramref name="e"/> into <paramref name="destination"/> (converting if needed).</summary>
    public void CopyInto(SafetensorsEntry e, Tensor destination) => Stored(e.Name).ReadInto(destination);

    public void Dispose()
    {
        mapping.Dispose();
        handle.Dispose();
    }

    public static ScalarType ToScalarType(string dtype, string path = "", string name = "") => dtype switch
    {
        "F32" => ScalarType.Float32,
        "F16" => ScalarType.Float16,
        "BF16" => ScalarType.BFloat16,
        "F64" => ScalarType.Float64,
        "I64" => ScalarType.Int64,
        "I32" => ScalarType.Int32,
        "I16" => ScalarType.Int16,
        "I8" => ScalarType.Int8,
        "U8" => ScalarType.Byte,
        "BOOL" => ScalarType.Bool,
        _ => throw new InvalidDataException($"{path}: tensor '{name}' has unsupported dtype {dtype}"),
    };

    public static string ToSafetensorsDType(ScalarType t) => t switch
    {
        ScalarType.Float32 => "F32",
        ScalarType.Float16 => "F16",
        ScalarType.BFloat16 => "BF16",
        ScalarType.Float64 => "F64",
        ScalarType.Int64 => "I64",
        ScalarType.Int32 => "I32",
        ScalarType.Int16 => "I16",
        ScalarType.Int8 => "I8",
        ScalarType.Byte => "U8",
        ScalarType.Bool => "BOOL",
        _ => throw new NotSupportedException($"safetensors cannot store {t}"),
    };

    public static int ElementSize(ScalarType t) => t switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };

    /// <summary>
    /// Writes tensors as a safetensors file (names sorted, so the bytes depend only on the contents), atomically:
    /// the file appears under its final name only when complete.
    /// </summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var sorted = tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
        {
            var m = new JsonObject();
            foreach (var (k, v) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)) m[k] = v;
            header["__metadata__"] = m;
        }
        long offset = 0;
        var contiguous = new List<Tensor>(sorted.Count);
        foreach (var (name, tensor) in sorted)
        {
            var c = tensor.cpu().contiguous();
            contiguous.Add(c);
            var bytes = c.NumberOfElements * ElementSize(c.dtype);
            header[name] = new JsonObject
            {
                ["dtype"] = ToSafetensorsDType(c.dtype),
                ["shape"] = new JsonArray(c.shape.Select(s => (JsonNode)s).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }
        var headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString(new JsonSerializerOptions { WriteIndented = false }));
        var pad = (8 - headerBytes.Length % 8) % 8; // keep tensor data 8-byte aligned, as the reference writer does
        var padded = new byte[headerBytes.Length + pad];
        headerBytes.CopyTo(padded, 0);
        for (var i = headerBytes.Length; i < padded.Length; i++) padded[i] = (byte)' ';
        AtomicFile.Write(path, stream =>
        {
            stream.Write(BitConverter.GetBytes((long)padded.Length));
            stream.Write(padded);
            foreach (var c in contiguous) stream.Write(c.bytes);
        });
        foreach (var c in contiguous) c.Dispose();
    }
}

/// <summary>Raw storage access TorchSharp keeps internal (the same native entry point its spans use).</summary>
public static partial class NativeTensor
{
    [System.Runtime.InteropServices.LibraryImport("LibTorchSharp")]
    private static partial IntPtr THSTensor_data(IntPtr handle);

    public static IntPtr DataPointer(Tensor t)
    {
        if (!t.is_contiguous() || t.device_type != DeviceType.CPU)
            throw new ArgumentException("raw access needs a contiguous CPU tensor");
        var p = THSTensor_data(t.Handle);
        if (p == IntPtr.Zero && t.NumberOfElements > 0) throw new InvalidOperationException("tensor has no storage");
        return p;
    }

    /// <summary>The address of element 0 of a CPU tensor of any layout (a strided view's first element).</summary>
    public static IntPtr FirstElement(Tensor t)
    {
        if (t.device_type != DeviceType.CPU) throw new ArgumentException("raw access needs a CPU tensor");
        return THSTensor_data(t.Handle);
    }

    /// <summary>The values of a float32 tensor as a managed array, copied in one block (any device, any layout).</summary>
    public static unsafe float[] ToFloatArray(Tensor t)
    {
        using var c = t.to(ScalarType.Float32, CPU).contiguous();
        var result = new float[c.NumberOfElements];
        new ReadOnlySpan<float>((void*)DataPointer(c), result.Length).CopyTo(result);
        return result;
    }

    /// <summary>A float32 CPU tensor holding a copy of <paramref name="values"/>, copied in one block.</summary>
    public static unsafe Tensor FromFloats(ReadOnlySpan<float> values, long[] shape)
    {
        var t = empty(shape, ScalarType.Float32);
        if (t.NumberOfElements != values.Length) throw new ArgumentException($"{values.Length} values for shape [{string.Join(", ", shape)}]");
        values.CopyTo(new Span<float>((void*)DataPointer(t), values.Length));
        return t;
    }
}
