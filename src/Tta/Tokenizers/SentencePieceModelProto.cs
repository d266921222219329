using System.Buffers.Binary;
using System.Text;

namespace Tta.Tokenizers;

/// <summary>The parts of SentencePiece's <c>ModelProto</c> (sentencepiece_model.proto) a tokenizer needs.</summary>
public sealed class SentencePieceModelProto
{
    public enum PieceType { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 }

    public sealed record Piece(string Text, float Score, PieceType Type);

    public List<Piece> Pieces { get; } = [];
    /// <summary>TrainerSpec.model_type: 1 unigram, 2 BPE, 3 word, 4 char.</summary>
    public int ModelType { get; private set; } = 1;
    public bool ByteFallback { get; private set; }
    public bool TreatWhitespaceAsSuffix { get; private set; }
    public int UnkId { get; private set; }
    public int BosId { get; private set; } = 1;
    public int EosId { get; private set; } = 2;
    public int PadId { get; private set; } = -1;
    public string NormalizerName { get; private set; } = "";
    public byte[] PrecompiledCharsMap { get; private set; } = [];
    public bool AddDummyPrefix { get; private set; } = true;
    public bool RemoveExtraWhitespaces { get; private set; } = true;
    public bool EscapeWhitespaces { get; private set; } = true;

    public static SentencePieceModelProto Parse(ReadOnlySpan<byte> data)
    {
        var m = new SentencePieceModelProto();
        foreach (var (field, wire, value, bytes) in Fields(data))
        {
            if (field == 1 && wire == 2) m.Pieces.Add(ParsePiece(bytes.Span));
            else if (field == 2 && wire == 2) m.ParseTrainerSpec(bytes.Span);
            else if (field == 3 && wire == 2) m.ParseNormalizerSpec(bytes.Span);
            _ = value;
        }
        if (m.Pieces.Count == 0) throw new InvalidDataException("spiece.model: no pieces");
        return m;
    }

    private static Piece ParsePiece(ReadOnlySpan<byte> data)
    {
        string text = "";
        float score = 0;
        var type = PieceType.Normal;
        foreach (var (field, wire, value, bytes) in Fields(data))
        {
            if (field == 1 && wire == 2) text = Encoding.UTF8.GetString(bytes.Span);
            else if (field == 2 && wire == 5) score = BitConverter.Int32BitsToSingle((int)value);
            else if (field == 3 && wire == 0) type = (PieceType)(int)value;
        }
        return new Piece(text, score, type);
    }

    private void ParseTrainerSpec(ReadOnlySpan<byte> data)
    {
        foreach (var (field, wire, value, _) in Fields(data))
        {
            if (wire != 0) continue;
            switch (field)
            {
                case 3: ModelType = (int)value; break;
                case 24: TreatWhitespaceAsSuffix = value != 0; break;
                case 35: ByteFallback = value != 0; break;
                case 40: UnkId = (int)(long)value; break;
                case 41: BosId = (int)(long)value; break;
                case 42: EosId = (int)(long)value; break;
                case 43: PadId = (int)(long)value; break;
            }
        }
    }

    private void ParseNormalizerSpec(ReadOnlySpan<byte> data)
    {
        foreach (var (field, wire, value, bytes) in Fields(data))
        {
            switch (field)
            {
                case 1 when wire == 2: NormalizerName = Encoding.UTF8.GetString(bytes.Span); break;
                case 2 when wire == 2: PrecompiledCharsMap = bytes.ToArray(); break;
                case 3 when wire == 0: AddDummyPrefix = value != 0; break;
                case 4 when wire == 0: RemoveExtraWhitespaces = value != 0; break;
                case 5 when wire == 0: EscapeWhitespaces = value != 0; break;
            }
        }
    }

    /// <summary>Protobuf wire format: (field number, wire type, varint/fixed value, length-delimited bytes).</summary>
    private static List<(int Field, int Wire, ulong Value, ReadOnlyMemory<byte> Bytes)> Fields(ReadOnlySpan<byte> data)
    {
        var list = new List<(int, int, ulong, ReadOnlyMemory<byte>)>();
        var i = 0;
        while (i < data.Length)
        {
            var key = Varint(data, ref i);
            var field = (int)(key >> 3);
            var wire = (int)(key & 7);
            switch (wire)
            {
                case 0: list.Add((field, wire, Varint(data, ref i), default)); break;
                case 1:
                    Need(data, i, 8);
                    list.Add((field, wire, BinaryPrimitives.ReadUInt64LittleEndian(data[i..]), default));
                    i += 8;
                    break;
                case 5:
                    Need(data, i, 4);
                    list.Add((field, wire, BinaryPrimitives.ReadUInt32LittleEndian(data[i..]), default));
                    i += 4;
                    break;
                case 2:
                    var length = (int)Varint(data, ref i);
                    Need(data, i, length);
                    list.Add((field, wire, 0, data.Slice(i, length).ToArray()));
                    i += length;
                    break;
                default: throw new InvalidDataException($"spiece.model: unsupported protobuf wire type {wire}");
            }
        }
        return list;
    }

    private static void Need(ReadOnlySpan<byte> data, int at, int count)
    {
        if (count < 0 || at + count > data.Length) throw new InvalidDataException("spiece.model: truncated protobuf");
    }

    private static ulong Varint(ReadOnlySpan<byte> data, ref int i)
    {
        ulong result = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            Need(data, i, 1);
            var b = data[i++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return result;
        }
        throw new InvalidDataException("spiece.model: bad varint");
    }
}
