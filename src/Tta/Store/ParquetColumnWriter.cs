using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Tta.Store;

/// <summary>
/// A small Parquet writer for the store's fixed shape of data: flat required/optional columns and one
/// <c>list&lt;float&gt;</c> column whose lists are never null. Each column chunk is one PLAIN data page (v1) with
/// RLE levels, Snappy-compressed; metadata is Thrift compact protocol. It exists because the general-purpose writer we
/// used (Parquet.Net) encodes list columns at about a fifth of disk speed; reading stays with Parquet.Net and DuckDB,
/// which the tests use to check these files.
/// </summary>
internal sealed class ParquetColumnWriter
{
    /// <summary>Parquet physical types and repetitions used here (parquet.thrift).</summary>
    public enum PhysicalType { Int32 = 1, Float = 4, ByteArray = 6 }

    public enum Repetition { Required = 0, Optional = 1, Repeated = 2 }

    /// <summary>A leaf column of the schema: flat, or the float element of <c>name (LIST) → list → element</c>.</summary>
    public sealed record Column(string Name, PhysicalType Type, Repetition Repetition, bool IsString = false, bool IsFloatList = false)
    {
        public int MaxDefinition => IsFloatList ? 2 : Repetition == Repetition.Optional ? 1 : 0;
        public int MaxRepetition => IsFloatList ? 1 : 0;
        public string[] Path => IsFloatList ? [Name, "list", "element"] : [Name];
    }

    private sealed record ChunkInfo(Column Column, long Offset, long Values, long Uncompressed, long Compressed);

    private sealed record RowGroupInfo(long Rows, List<ChunkInfo> Chunks);

    private readonly Stream stream;
    private readonly IReadOnlyList<Column> columns;
    private readonly List<RowGroupInfo> rowGroups = [];
    private List<ChunkInfo>? current;
    private long currentRows;
    private long position;

    public ParquetColumnWriter(Stream stream, IReadOnlyList<Column> columns)
    {
        this.stream = stream;
        this.columns = columns;
        Write("PAR1"u8);
    }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        stream.Write(bytes);
        position += bytes.Length;
    }

    public void BeginRowGroup(long rows)
    {
        current = [];
        currentRows = rows;
    }

    public void EndRowGroup()
    {
        if (current is null || current.Count != columns.Count) throw new InvalidOperationException("row group is missing columns");
        rowGroups.Add(new RowGroupInfo(currentRows, current));
        current = null;
    }

    private Column Next() => columns[current!.Count];

    public void WriteStrings(IReadOnlyList<string> values)
    {
        var column = Next();
        var size = values.Sum(v => 4 + Encoding.UTF8.GetByteCount(v));
        var data = new byte[size];
        var at = 0;
        foreach (var v in values)
        {
            var n = Encoding.UTF8.GetBytes(v, data.AsSpan(at + 4));
            BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(at), n);
            at += 4 + n;
        }
        WritePage(column, values.Count, [], column.MaxDefinition > 0 ? Levels.Constant(values.Count, 1, column.MaxDefinition) : [], data);
    }

    public void WriteInts(ReadOnlySpan<int> values) =>
        WritePage(Next(), values.Length, [], [], MemoryMarshal.AsBytes(values));

    /// <summary>An optional int32 column: nulls get definition level 0 and no value.</summary>
    public void WriteNullableInts(IReadOnlyList<int?> values)
    {
        var column = Next();
        var present = values.Where(v => v.HasValue).Select(v => v!.Value).ToArray();
        var definitions = values.Select(v => v.HasValue ? 1 : 0).ToArray();
        WritePage(column, values.Count, [], Levels.Encode(definitions, 1), MemoryMarshal.AsBytes(present.AsSpan()));
    }

    /// <summary>The list column: <paramref name="rows"/> lists of <paramref name="length"/> floats each, row-major.</summary>
    public void WriteFloatLists(ReadOnlySpan<float> values, int rows, int length)
    {
        var column = Next();
        if (values.Length != (long)rows * length || length == 0) throw new ArgumentException("list values do not match rows × length");
        WritePage(column, values.Length, Levels.ListStarts(rows, length), Levels.Constant(values.Length, 2, 2),
            MemoryMarshal.AsBytes(values));
    }

    private void WritePage(Column column, long valueCount, byte[] repetition, byte[] definition, ReadOnlySpan<byte> data)
    {
        // Data page v1 body: [repetition levels][definition levels][values], each level block length-prefixed;
        // assembled once in a pooled buffer and Snappy-compressed into another (two passes over the data).
        var bodyLength = (repetition.Length > 0 ? 4 + repetition.Length : 0) + (definition.Length > 0 ? 4 + definition.Length : 0) + data.Length;
        var bodyBuffer = System.Buffers.ArrayPool<byte>.Shared.Rent(bodyLength);
        var packedBuffer = System.Buffers.ArrayPool<byte>.Shared.Rent(Snappier.Snappy.GetMaxCompressedLength(bodyLength));
        try
        {
            var body = bodyBuffer.AsSpan(0, bodyLength);
            var at = 0;
            foreach (var levels in new[] { repetition, definition })
            {
                if (levels.Length == 0) continue;
                BinaryPrimitives.WriteInt32LittleEndian(body[at..], levels.Length);
                levels.CopyTo(body[(at + 4)..]);
                at += 4 + levels.Length;
            }
            data.CopyTo(body[at..]);
            var packed = packedBuffer.AsSpan(0, Snappier.Snappy.Compress(body, packedBuffer));
            WritePageHeaderAndData(column, valueCount, bodyLength, packed);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(bodyBuffer);
            System.Buffers.ArrayPool<byte>.Shared.Return(packedBuffer);
        }
    }

    private void WritePageHeaderAndData(Column column, long valueCount, int uncompressedLength, ReadOnlySpan<byte> compressed)
    {
        var header = new ThriftWriter();
        header.I32(1, 0); // type: DATA_PAGE
        header.I32(2, uncompressedLength);
        header.I32(3, compressed.Length);
        header.BeginStruct(5); // data_page_header
        header.I32(1, checked((int)valueCount));
        header.I32(2, 0); // PLAIN
        header.I32(3, 3); // RLE definition levels
        header.I32(4, 3); // RLE repetition levels
        header.EndStruct();
        header.Stop();

        var offset = position;
        Write(header.ToArray());
        Write(compressed);
        current!.Add(new ChunkInfo(column, offset, valueCount, header.Length + uncompressedLength, position - offset));
    }

    /// <summary>Writes the footer (schema, row groups, key-value metadata) and the closing magic.</summary>
    public void Finish(IReadOnlyDictionary<string, string> keyValues, string createdBy)
    {
        var meta = new ThriftWriter();
        meta.I32(1, 1); // version
        var schemaCount = 1 + columns.Sum(c => c.IsFloatList ? 3 : 1);
        meta.BeginList(2, ThriftWriter.Struct, schemaCount);
        meta.ListStruct(s => { s.Str(4, "schema"); s.I32(5, columns.Count); });
        foreach (var c in columns)
        {
            if (c.IsFloatList)
            {
                meta.ListStruct(s =>
                {
                    s.I32(3, (int)Repetition.Optional); s.Str(4, c.Name); s.I32(5, 1); s.I32(6, 3); // LIST
                    s.BeginStruct(10); s.BeginStruct(3); s.EndStruct(); s.EndStruct(); // logicalType LIST
                });
                meta.ListStruct(s => { s.I32(3, (int)Repetition.Repeated); s.Str(4, "list"); s.I32(5, 1); });
                meta.ListStruct(s => { s.I32(1, (int)PhysicalType.Float); s.I32(3, (int)Repetition.Required); s.Str(4, "element"); });
            }
            else
            {
                meta.ListStruct(s =>
                {
                    s.I32(1, (int)c.Type); s.I32(3, (int)c.Repetition); s.Str(4, c.Name);
                    if (c.IsString)
                    {
                        s.I32(6, 0); // UTF8
                        s.BeginStruct(10); s.BeginStruct(1); s.EndStruct(); s.EndStruct(); // logicalType STRING
                    }
                });
            }
        }
        meta.I64(3, rowGroups.Sum(g => g.Rows));
        meta.BeginList(4, ThriftWriter.Struct, rowGroups.Count);
        foreach (var g in rowGroups)
            meta.ListStruct(r =>
            {
                r.BeginList(1, ThriftWriter.Struct, g.Chunks.Count);
                foreach (var k in g.Chunks)
                    r.ListStruct(cc =>
                    {
                        cc.I64(2, k.Offset);
                        cc.BeginStruct(3);
                        cc.I32(1, (int)k.Column.Type);
                        cc.BeginList(2, ThriftWriter.I32Type, k.Column.MaxDefinition > 0 ? 2 : 1);
                        cc.ListI32(0); // PLAIN
                        if (k.Column.MaxDefinition > 0) cc.ListI32(3); // RLE levels
                        cc.BeginList(3, ThriftWriter.Binary, k.Column.Path.Length);
                        foreach (var p in k.Column.Path) cc.ListStr(p);
                        cc.I32(4, 1); // SNAPPY
                        cc.I64(5, k.Values);
                        cc.I64(6, k.Uncompressed);
                        cc.I64(7, k.Compressed);
                        cc.I64(9, k.Offset);
                        cc.EndStruct();
                    });
                r.I64(2, g.Chunks.Sum(k => k.Uncompressed));
                r.I64(3, g.Rows);
                r.I64(5, g.Chunks[0].Offset);
                r.I64(6, g.Chunks.Sum(k => k.Compressed));
            });
        var pairs = keyValues.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        meta.BeginList(5, ThriftWriter.Struct, pairs.Count);
        foreach (var (k, v) in pairs) meta.ListStruct(s => { s.Str(1, k); s.Str(2, v); });
        meta.Str(6, createdBy);
        meta.Stop();
        var footer = meta.ToArray();
        Write(footer);
        Span<byte> tail = stackalloc byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(tail, footer.Length);
        "PAR1"u8.CopyTo(tail[4..]);
        Write(tail);
    }

    /// <summary>RLE / bit-packed hybrid level encoding, RLE runs only (levels here come in long runs).</summary>
    private static class Levels
    {
        private static int BitWidth(int max) => max == 0 ? 0 : 32 - int.LeadingZeroCount(max);

        private static void Run(List<byte> o, int count, int value, int width)
        {
            var header = (uint)count << 1;
            while (header >= 0x80) { o.Add((byte)(header | 0x80)); header >>= 7; }
            o.Add((byte)header);
            for (var b = 0; b < (width + 7) / 8; b++) o.Add((byte)(value >> (8 * b)));
        }

        public static byte[] Constant(long count, int value, int max)
        {
            var o = new List<byte>();
            for (var left = count; left > 0; left -= int.MaxValue >> 1)
                Run(o, (int)Math.Min(left, int.MaxValue >> 1), value, BitWidth(max));
            return [.. o];
        }

        public static byte[] Encode(IReadOnlyList<int> values, int max)
        {
            var o = new List<byte>();
            for (var i = 0; i < values.Count;)
            {
                var j = i;
                while (j < values.Count && values[j] == values[i]) j++;
                Run(o, j - i, values[i], BitWidth(max));
                i = j;
            }
            return [.. o];
        }

        /// <summary>Repetition levels of rows of fixed-length lists: 0 starts a row, 1 continues it.</summary>
        public static byte[] ListStarts(int rows, int length)
        {
            var o = new List<byte>(rows * 6);
            for (var r = 0; r < rows; r++)
            {
                Run(o, 1, 0, 1);
                if (length > 1) Run(o, length - 1, 1, 1);
            }
            return [.. o];
        }
    }
}
