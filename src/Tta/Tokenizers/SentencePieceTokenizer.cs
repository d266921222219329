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

/// <summary>
/// A SentencePiece unigram model (<c>spiece.model</c>, as T5 ships it) run the way <c>SentencePieceProcessor.Encode</c>
/// runs it: the normaliser (precompiled charsmap, leading/trailing/repeated whitespace removed, a "▁" dummy prefix,
/// spaces escaped as "▁"), unigram Viterbi over the pieces, byte fallback if the model has it; then the end-of-sequence
/// piece appended, as the T5 tokenizers do. Unknown pieces are labelled with their surface text.
/// </summary>
public sealed class SentencePieceTokenizer : ITextTokenizer
{
    private const string SpaceSymbol = "\u2581";
    private readonly SentencePieceModelProto model;
    private readonly PrecompiledCharsMap? charsMap;
    private readonly UnigramModel unigram;
    private readonly string[] userDefined;

    public bool AppendEos { get; }
    public SentencePieceModelProto Model => model;

    public SentencePieceTokenizer(SentencePieceModelProto model, bool appendEos = true)
    {
        if (model.ModelType != 1)
            throw new NotSupportedException($"SentencePiece model type {model.ModelType} is not supported (only unigram, type 1)");
        if (model.TreatWhitespaceAsSuffix) throw new NotSupportedException("SentencePiece treat_whitespace_as_suffix is not supported");
        this.model = model;
        AppendEos = appendEos;
        charsMap = model.PrecompiledCharsMap.Length > 0 ? new PrecompiledCharsMap(model.PrecompiledCharsMap) : null;
        var pieces = model.Pieces;
        float min = float.MaxValue, max = float.MinValue;
        foreach (var p in pieces.Where(p => p.Type == SentencePieceModelProto.PieceType.Normal))
        {
            min = Math.Min(min, p.Score);
            max = Math.Max(max, p.Score);
        }
        if (min == float.MaxValue) min = max = 0;
        userDefined = pieces.Where(p => p.Type == SentencePieceModelProto.PieceType.UserDefined).Select(p => p.Text)
            .Where(t => t.Length > 0).OrderByDescending(t => Encoding.UTF8.GetByteCount(t)).ToArray();
        var unk = pieces.FindIndex(p => p.Type == SentencePieceModelProto.PieceType.Unknown);
        if (unk < 0) throw new InvalidDataException("spiece.model: no unknown piece");
        var maxScore = max;
        unigram = new UnigramModel(pieces.Select(p => p.Text).ToList(), pieces.Select(p => (double)p.Score).ToList(),
            id => pieces[id].Type is SentencePieceModelProto.PieceType.Normal or SentencePieceModelProto.PieceType.UserDefined,
            unk, min, model.ByteFallback, singlePrecision: true)
        {
            // As SentencePiece: length in UTF-8 bytes times the top score (float), less 0.1 (double).
            ScoreOverride = (id, _) => pieces[id].Type == SentencePieceModelProto.PieceType.UserDefined
                ? (float)Encoding.UTF8.GetByteCount(pieces[id].Text) * maxScore - 0.1 : pieces[id].Score,
        };
    }

    public static SentencePieceTokenizer Load(string path, bool appendEos = true) =>
        new(SentencePieceModelProto.Parse(File.ReadAllBytes(path)), appendEos);

    public TokenizedText Encode(string text)
    {
        var pieces = unigram.Encode(Normalize(text));
        if (AppendEos && model.EosId >= 0 && model.EosId < model.Pieces.Count) pieces.Add((model.EosId, model.Pieces[model.EosId].Text));
        return new TokenizedText(pieces.Select(p => (long)p.Id).ToArray(), pieces.Select(p => p.Piece).ToArray());
    }

    /// <summary>SentencePiece's normaliser (normalizer.cc), on UTF-8 bytes.</summary>
    public string Normalize(string text)
    {
        var input = Encoding.UTF8.GetBytes(text);
        var output = new List<byte>(input.Length + 8);
        var space = model.EscapeWhitespaces ? Encoding.UTF8.GetBytes(SpaceSymbol) : [(byte)' '];
        var pos = 0;
        if (model.RemoveExtraWhitespaces)
        {
            while (pos < input.Length)
            {
                var (piece, consumed) = NormalizePrefix(input.AsSpan(pos));
                if (!(piece.Length == 1 && piece[0] == ' ')) break;
                pos += consumed;
            }
        }
        if (pos >= input.Length) return "";
        if (model.AddDummyPrefix) output.AddRange(space);
        var previousSpace = model.RemoveExtraWhitespaces;
        while (pos < input.Length)
        {
            var (piece, consumed) = NormalizePrefix(input.AsSpan(pos));
            pos += consumed;
            var start = 0;
            if (previousSpace) while (start < piece.Length && piece[start] == ' ') start++;
            if (start >= piece.Length) continue;
            for (var k = start; k < piece.Length; k++)
            {
                if (model.EscapeWhitespaces && piece[k] == ' ') output.AddRange(space);
                else output.Add(piece[k]);
            }
            previousSpace = piece[^1] == ' ';
        }
        if (model.RemoveExtraWhitespaces)
            while (output.Count >= space.Length && System.Runtime.InteropServices.CollectionsMarshal.AsSpan(output)[(output.Count - space.Length)..].SequenceEqual(space))
                output.RemoveRange(output.Count - space.Length, space.Length);
        return Encoding.UTF8.GetString(output.ToArray());
    }

    private (byte[] Piece, int Consumed) NormalizePrefix(ReadOnlySpan<byte> input)
    {
        foreach (var symbol in userDefined)
        {
            var bytes = Encoding.UTF8.GetBytes(symbol);
            if (input.StartsWith(bytes)) return (bytes, bytes.Length);
        }
        if (charsMap?.LongestMatch(input) is { } match) return match;
        var length = Utf8CharLength(input);
        if (length == 0) return ([0xEF, 0xBF, 0xBD], 1); // invalid UTF-8: U+FFFD, one byte consumed
        return (input[..length].ToArray(), length);
    }

    /// <summary>Length of the valid UTF-8 character at the start, or 0 if it is malformed.</summary>
    private static int Utf8CharLength(ReadOnlySpan<byte> s)
    {
        var status = System.Text.Rune.DecodeFromUtf8(s, out _, out var consumed);
        return status == System.Buffers.OperationStatus.Done ? consumed : 0;
    }
}
