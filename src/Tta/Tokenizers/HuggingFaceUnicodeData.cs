using System.Runtime.CompilerServices;
using System.Text;

namespace Tta.Tokenizers;

/// <summary>
/// The tables of <c>HuggingFaceUnicodeData.txt</c>, embedded in this assembly: every character class and mapping of
/// Hugging Face's tokenizers, generated from the library itself by <c>tests/tokenizer-oracle/generate-tables.js</c>
/// (the file's header says how to regenerate it and from which versions). Data, not code: a table is a name and rows
/// of hexadecimal numbers (a set's rows are [start, end) ranges, a mapping's a code point and what it maps to).
/// </summary>
internal sealed class HuggingFaceUnicodeData
{
    /// <summary>Manifest name of the embedded table file.</summary>
    public const string ResourceName = "Tta.Tokenizers.HuggingFaceUnicodeData.txt";

    private readonly Dictionary<string, List<int[]>> tables;

    private HuggingFaceUnicodeData(Dictionary<string, List<int[]>> tables) => this.tables = tables;

    /// <summary>Reads the embedded table file.</summary>
    public static HuggingFaceUnicodeData Load()
    {
        using var stream = typeof(HuggingFaceUnicodeData).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"embedded table {ResourceName} is missing from {typeof(HuggingFaceUnicodeData).Assembly.GetName().Name}");
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return Parse(bytes);
    }

    /// <summary>
    /// Parses the table format (ASCII): <c>[Name]</c> starts a table, <c>#</c> a comment line, any other line is a row.
    /// Parsed by hand, byte by byte, and compiled optimised at once (it runs once, on the first tokenizer's load, whose
    /// time it would otherwise double in unoptimised code; readers, splitting and number styles cost more to compile).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static HuggingFaceUnicodeData Parse(ReadOnlySpan<byte> text)
    {
        var tables = new Dictionary<string, List<int[]>>(StringComparer.Ordinal);
        List<int[]>? rows = null;
        var row = new List<int>(8);
        for (var number = 1; !text.IsEmpty; number++)
        {
            var end = text.IndexOf((byte)'\n');
            var line = end < 0 ? text : text[..end];
            text = end < 0 ? [] : text[(end + 1)..];
            if (line.IsEmpty || line[0] == '#') continue;
            if (line[0] == '[' && line[^1] == ']')
            {
                var name = Encoding.ASCII.GetString(line[1..^1]);
                if (!tables.TryAdd(name, rows = []))
                    throw new InvalidDataException($"{ResourceName}:{number}: table [{name}] appears twice");
                continue;
            }
            if (rows is null) throw new InvalidDataException($"{ResourceName}:{number}: a row before the first [table]");
            row.Clear();
            int value = 0, digits = 0;
            foreach (var b in line)
            {
                if (b == ' ' && digits > 0)
                {
                    row.Add(value);
                    (value, digits) = (0, 0);
                    continue;
                }
                var digit = b is >= (byte)'0' and <= (byte)'9' ? b - '0' : b is >= (byte)'A' and <= (byte)'F' ? b - 'A' + 10 : -1;
                if (digit < 0 || ++digits > 6)
                    throw new InvalidDataException($"{ResourceName}:{number}: '{Encoding.ASCII.GetString(line)}' is not hexadecimal numbers");
                value = value * 16 + digit;
            }
            if (digits == 0) throw new InvalidDataException($"{ResourceName}:{number}: a row ends in a space");
            row.Add(value);
            rows.Add([.. row]);
        }
        return new HuggingFaceUnicodeData(tables);
    }

    /// <summary>The rows of table <paramref name="name"/>, each of <paramref name="minLength"/> to <paramref name="maxLength"/> numbers.</summary>
    private List<int[]> Rows(string name, int minLength, int maxLength)
    {
        if (!tables.TryGetValue(name, out var rows)) throw new InvalidDataException($"{ResourceName} has no table [{name}]");
        foreach (var row in rows)
            if (row.Length < minLength || row.Length > maxLength)
                throw new InvalidDataException($"{ResourceName}: a row of [{name}] has {row.Length} numbers, not {minLength} to {maxLength}");
        return rows;
    }

    /// <summary>The set <paramref name="name"/>: rows of a start and an end, [start, end).</summary>
    public List<int[]> Ranges(string name) => Rows(name, 2, 2);

    /// <summary>The mapping <paramref name="name"/>: rows of a code point, then what it maps to (one number or more).</summary>
    public List<int[]> Mappings(string name) => Rows(name, 2, int.MaxValue);
}
