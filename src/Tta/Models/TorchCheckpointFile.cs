using System.IO.Compression;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Tta.Models;

/// <summary>
/// Reads the tensors of a <c>pytorch_model.bin</c>: the zip archive <c>torch.save</c> writes (<c>&lt;name&gt;/data.pkl</c>,
/// a pickled state dict whose tensors are persistent references to <c>&lt;name&gt;/data/&lt;key&gt;</c> storage files, stored
/// uncompressed) and the legacy pre-1.6 stream (magic number, protocol, system info, state dict, storage keys, then
/// each storage as an 8-byte element count and its bytes). Only what a state dict needs is unpickled (see
/// <see cref="TorchUnpickler"/>); tensor bytes are read in place from the file like safetensors.
/// </summary>
public sealed class TorchCheckpointFile : IDisposable
{
    private static readonly System.Numerics.BigInteger LegacyMagic = System.Numerics.BigInteger.Parse("1950a86a20f9469cfc6c", System.Globalization.NumberStyles.HexNumber);

    private readonly SafeFileHandle handle;
    private readonly MappedFile mapping;
    private readonly Dictionary<string, StoredTensor> tensors = new(StringComparer.Ordinal);

    public string Path { get; }
    public IReadOnlyDictionary<string, StoredTensor> Tensors => tensors;

    private sealed record ZipEntry(string Name, int Method, long CompressedSize, long Size, long DataOffset);

    public TorchCheckpointFile(string path)
    {
        Path = path;
        handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        mapping = new MappedFile(path, RandomAccess.GetLength(handle));
        try
        {
            Span<byte> magic = stackalloc byte[4];
            RandomAccess.Read(handle, magic, 0);
            if (magic[0] == 'P' && magic[1] == 'K') ReadZip();
            else if (magic[0] == 0x80) ReadLegacy();
            else throw new InvalidDataException($"{path}: neither a torch.save zip archive nor a legacy torch.save file");
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        mapping.Dispose();
        handle.Dispose();
    }

    // ---- zip archive (torch >= 1.6) ----------------------------------------------------------------------------

    private void ReadZip()
    {
        var entries = ReadZipDirectory();
        var pkl = entries.Values.Where(e => e.Name == "data.pkl" || e.Name.EndsWith("/data.pkl", StringComparison.Ordinal))
            .OrderBy(e => e.Name.Length).FirstOrDefault()
            ?? throw new InvalidDataException($"{Path}: zip archive without data.pkl (not written by torch.save)");
        var prefix = pkl.Name[..^"data.pkl".Length];
        if (entries.TryGetValue(prefix + "byteorder", out var order))
        {
            var text = Encoding.ASCII.GetString(ReadEntry(order)).Trim();
            if (text != "little") throw new NotSupportedException($"{Path}: byte order '{text}' is not supported (only little-endian)");
        }
        var root = new TorchUnpickler(new MemoryStream(ReadEntry(pkl)), $"{Path}:{pkl.Name}",
            pid => TorchUnpickler.StorageFromPersistentId(pid, Path)).Load();
        foreach (var (name, t) in StateDictTensors(root))
        {
            if (!entries.TryGetValue($"{prefix}data/{t.Storage.Key}", out var storage))
                throw new InvalidDataException($"{Path}: tensor '{name}' refers to storage '{t.Storage.Key}', which the archive lacks");
            if (storage.Method != 0)
                throw new NotSupportedException($"{Path}: storage '{storage.Name}' is compressed; torch.save stores them uncompressed");
            Add(name, t, storage.DataOffset, storage.Size);
        }
    }

    private void Add(string name, PickleTensor t, long storageStart, long storageBytes)
    {
        var size = SafetensorsFile.ElementSize(t.Storage.DType);
        if (t.Shape.Length != t.Strides.Length)
            throw new InvalidDataException($"{Path}: tensor '{name}' has {t.Shape.Length} sizes but {t.Strides.Length} strides");
        var stored = new StoredTensor(handle, mapping, Path, name, t.Storage.DType, t.Shape, t.Strides, storageStart + t.StorageOffset * size);
        var available = Math.Min(storageBytes, t.Storage.ElementCount * size);
        if (t.StorageOffset < 0 || t.StorageOffset * size + stored.SpanBytes > available)
            throw new InvalidDataException($"{Path}: tensor '{name}' reaches beyond its storage '{t.Storage.Key}'");
        tensors[name] = stored;
    }

    private IEnumerable<(string Name, PickleTensor Tensor)> StateDictTensors(object? root)
    {
        if (root is not PickleDict dict)
            throw new InvalidDataException($"{Path}: the pickle holds no state dict (a dict of tensors)");
        foreach (var (key, value) in dict.Items)
            if (key is string name && value is PickleTensor t) yield return (name, t);
    }

    private byte[] ReadEntry(ZipEntry e)
    {
        if (e.CompressedSize > int.MaxValue) throw new InvalidDataException($"{Path}: '{e.Name}' is too large to read whole");
        var raw = new byte[e.CompressedSize];
        if (RandomAccess.Read(handle, raw, e.DataOffset) != raw.Length) throw new EndOfStreamException($"{Path}: '{e.Name}' is cut short");
        return e.Method switch
        {
            0 => raw,
            8 => Inflate(raw, e.Size),
            _ => throw new NotSupportedException($"{Path}: '{e.Name}' uses zip compression method {e.Method}"),
        };
    }

    private static byte[] Inflate(byte[] raw, long size)
    {
        using var inflate = new DeflateStream(new MemoryStream(raw), CompressionMode.Decompress);
        var result = new byte[size];
        inflate.ReadExactly(result);
        return result;
    }

    private Dictionary<string, ZipEntry> ReadZipDirectory()
    {
        var length = RandomAccess.GetLength(handle);
        var tailLength = (int)Math.Min(length, 65_557);
        var tail = new byte[tailLength];
        RandomAccess.Read(handle, tail, length - tailLength);
        var eocd = -1;
        for (var i = tailLength - 22; i >= 0; i--)
            if (BitConverter.ToUInt32(tail, i) == 0x06054b50) { eocd = i; break; }
        if (eocd < 0) throw new InvalidDataException($"{Path}: zip end-of-directory record not found");
        long count = BitConverter.ToUInt16(tail, eocd + 10);
        long dirSize = BitConverter.ToUInt32(tail, eocd + 12);
        long dirOffset = BitConverter.ToUInt32(tail, eocd + 16);
        if (count == 0xFFFF || dirSize == 0xFFFFFFFF || dirOffset == 0xFFFFFFFF)
        {
            // ZIP64: a locator just before the end record points at the ZIP64 end record.
            var locator = eocd - 20;
            if (locator < 0 || BitConverter.ToUInt32(tail, locator) != 0x07064b50)
                throw new InvalidDataException($"{Path}: ZIP64 locator not found");
            var record = new byte[56];
            RandomAccess.Read(handle, record, BitConverter.ToInt64(tail, locator + 8));
            if (BitConverter.ToUInt32(record, 0) != 0x06064b50) throw new InvalidDataException($"{Path}: ZIP64 end record not found");
            count = BitConverter.ToInt64(record, 32);
            dirSize = BitConverter.ToInt64(record, 40);
            dirOffset = BitConverter.ToInt64(record, 48);
        }
        if (dirOffset < 0 || dirSize < 0 || dirOffset + dirSize > length || dirSize > int.MaxValue)
            throw new InvalidDataException($"{Path}: zip central directory lies outside the file");
        var dir = new byte[dirSize];
        RandomAccess.Read(handle, dir, dirOffset);
        var entries = new Dictionary<string, ZipEntry>(StringComparer.Ordinal);
        var p = 0;
        Span<byte> local = stackalloc byte[30];
        for (long n = 0; n < count; n++)
        {
            if (p + 46 > dir.Length || BitConverter.ToUInt32(dir, p) != 0x02014b50)
                throw new InvalidDataException($"{Path}: zip central directory entry {n} is malformed");
            var flags = BitConverter.ToUInt16(dir, p + 8);
            var method = BitConverter.ToUInt16(dir, p + 10);
            long compressed = BitConverter.ToUInt32(dir, p + 20);
            long size = BitConverter.ToUInt32(dir, p + 24);
            int nameLength = BitConverter.ToUInt16(dir, p + 28), extraLength = BitConverter.ToUInt16(dir, p + 30),
                commentLength = BitConverter.ToUInt16(dir, p + 32);
            long localOffset = BitConverter.ToUInt32(dir, p + 42);
            var name = Encoding.UTF8.GetString(dir, p + 46, nameLength);
            // ZIP64 extra field: the 64-bit values of whichever fields hold 0xFFFFFFFF, in this order.
            for (var x = p + 46 + nameLength; x + 4 <= p + 46 + nameLength + extraLength;)
            {
                int id = BitConverter.ToUInt16(dir, x), len = BitConverter.ToUInt16(dir, x + 2);
                if (id == 1)
                {
                    var y = x + 4;
                    if (size == 0xFFFFFFFF) { size = BitConverter.ToInt64(dir, y); y += 8; }
                    if (compressed == 0xFFFFFFFF) { compressed = BitConverter.ToInt64(dir, y); y += 8; }
                    if (localOffset == 0xFFFFFFFF) localOffset = BitConverter.ToInt64(dir, y);
                }
                x += 4 + len;
            }
            if ((flags & 1) != 0) throw new NotSupportedException($"{Path}: '{name}' is encrypted");
            RandomAccess.Read(handle, local, localOffset);
            if (BitConverter.ToUInt32(local) != 0x04034b50) throw new InvalidDataException($"{Path}: local header of '{name}' not found");
            var dataOffset = localOffset + 30 + BitConverter.ToUInt16(local[26..]) + BitConverter.ToUInt16(local[28..]);
            if (dataOffset + compressed > length) throw new InvalidDataException($"{Path}: '{name}' lies outside the file");
            entries[name] = new ZipEntry(name, method, compressed, size, dataOffset);
            p += 46 + nameLength + extraLength + commentLength;
        }
        return entries;
    }

    // ---- legacy stream (torch < 1.6) ---------------------------------------------------------------------------

    private void ReadLegacy()
    {
        using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        object? Next(string what, Func<object?[], object>? persistent = null) =>
            new TorchUnpickler(stream, $"{Path} ({what})", persistent ?? (_ => throw new InvalidDataException($"{Path}: unexpected persistent id in {what}"))).Load();
        var magic = Next("magic number");
        if (magic is not System.Numerics.BigInteger m || m != LegacyMagic)
            throw new InvalidDataException($"{Path}: not a torch.save file (bad magic number)");
        _ = Next("protocol version");
        _ = Next("system info");
        var storages = new Dictionary<string, PickleStorage>(StringComparer.Ordinal);
        var root = Next("state dict", pid =>
        {
            if (pid.Length >= 6 && pid[5] is not null)
                throw new NotSupportedException($"{Path}: storage views (legacy view_metadata) are not supported");
            var s = TorchUnpickler.StorageFromPersistentId(pid, Path);
            return storages.TryGetValue(s.Key, out var known) ? known : storages[s.Key] = s;
        });
        var keys = Next("storage keys") as List<object?> ?? throw new InvalidDataException($"{Path}: storage key list missing");
        var start = new Dictionary<string, (long Offset, long Bytes)>(StringComparer.Ordinal);
        var position = stream.Position;
        Span<byte> count = stackalloc byte[8];
        foreach (var k in keys)
        {
            var key = k as string ?? throw new InvalidDataException($"{Path}: storage key {k} is not a string");
            if (!storages.TryGetValue(key, out var s)) throw new InvalidDataException($"{Path}: storage '{key}' is not referenced");
            if (RandomAccess.Read(handle, count, position) != 8) throw new EndOfStreamException($"{Path}: storage '{key}' is cut short");
            var elements = BitConverter.ToInt64(count);
            var bytes = elements * SafetensorsFile.ElementSize(s.DType);
            start[key] = (position + 8, bytes);
            position += 8 + bytes;
        }
        if (position > RandomAccess.GetLength(handle)) throw new EndOfStreamException($"{Path}: storages run past the end of the file");
        foreach (var (name, t) in StateDictTensors(root))
        {
            if (!start.TryGetValue(t.Storage.Key, out var at))
                throw new InvalidDataException($"{Path}: tensor '{name}' refers to storage '{t.Storage.Key}', which the file lacks");
            Add(name, t, at.Offset, at.Bytes);
        }
    }
}
