using System.Buffers.Binary;
using System.Text;

namespace Tta.Tokenizers;

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

    /// <summary>The model's pieces by id (control, unknown and byte pieces included).</summary>
    public IReadOnlyList<string?> Vocabulary { get; }
    public SentencePieceModelProto Model => model;

    public SentencePieceTokenizer(SentencePieceModelProto model, bool appendEos = true)
    {
        if (model.ModelType != 1)
            throw new NotSupportedException($"SentencePiece model type {model.ModelType} is not supported (only unigram, type 1)");
        if (model.TreatWhitespaceAsSuffix) throw new NotSupportedException("SentencePiece treat_whitespace_as_suffix is not supported");
        this.model = model;
        AppendEos = appendEos;
        Vocabulary = [.. model.Pieces.Select(p => p.Text)];
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
