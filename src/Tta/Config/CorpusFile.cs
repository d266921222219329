using System.Text;
using System.Text.Json;
using Parquet;
using Parquet.Schema;

namespace Tta.Config;

/// <summary>
/// Reads the rows of a corpus file (<c>.jsonl</c>, <c>.csv</c>, <c>.tsv</c>, <c>.parquet</c>, <c>.txt</c>), each
/// row's text with where it is. Every row must be a non-empty string; a bad row is a <see cref="ConfigException"/>
/// at the corpus file's <c>line:column</c> (Parquet has no lines: there the "line" is the row number), never
/// skipped. Rows are numbered from 1 in file order, not counting a CSV/TSV header.
/// </summary>
public static class CorpusFile
{
    public static IReadOnlyList<string> Extensions { get; } = [".jsonl", ".csv", ".tsv", ".parquet", ".txt"];

    /// <summary>One data row: its 1-based number, its text and where the text is in the file.</summary>
    public sealed record Row(int Number, string Text, SourceSpan At);

    /// <summary>The key that names a format's text: <c>field</c> (.jsonl), <c>column</c> (.csv, .tsv, .parquet), none (.txt).</summary>
    public static string? SelectorKey(string extension) => extension switch
    {
        ".jsonl" => "field",
        ".csv" or ".tsv" or ".parquet" => "column",
        _ => null,
    };

    /// <summary>
    /// Every row of the file at <paramref name="fullPath"/>, named <paramref name="display"/> in messages;
    /// <paramref name="selector"/> is the field or column that holds the text (null for .txt).
    /// </summary>
    public static IReadOnlyList<Row> Read(string fullPath, string display, string? selector)
    {
        var extension = Path.GetExtension(fullPath).ToLowerInvariant();
        if (extension == ".parquet") return ReadParquet(fullPath, display, selector!);
        string text;
        try
        {
            text = Utf8Text.Read(fullPath);
        }
        catch (InvalidUtf8Exception ex)
        {
            throw new ConfigException(new SourceSpan(display, ex.Line, ex.Column), "the corpus file is not valid UTF-8 — save it with UTF-8 encoding");
        }
        var rows = extension switch
        {
            ".txt" => ReadLines(text, display, (line, _) => (line, 1)),
            ".jsonl" => ReadLines(text, display, (line, at) => JsonField(line, at, selector!)),
            ".csv" => ReadDelimited(text, display, ',', selector!),
            ".tsv" => ReadDelimited(text, display, '\t', selector!),
            _ => throw new ArgumentException($"not a corpus extension: {extension}", nameof(fullPath)),
        };
        if (rows.Count == 0)
            throw new ConfigException(new SourceSpan(display, 1, 1), "the corpus file has no rows — add texts to it, or remove this corpus");
        return rows;
    }

    private static Row Checked(int number, string text, SourceSpan at)
    {
        if (string.IsNullOrWhiteSpace(text))
            throw new ConfigException(at, $"row {number} is an empty text — write a text there or delete the row (rows are never skipped)");
        return new Row(number, text.Replace("\r\n", "\n"), at);
    }

    // ---------------------------------------------------------------- .txt and .jsonl: one row a line

    /// <summary>
    /// One row a line (a final newline ends the last row, it does not start one); <paramref name="text"/> gives a
    /// line's text, or throws at <c>(display, line, column)</c>.
    /// </summary>
    private static List<Row> ReadLines(string content, string display, Func<string, SourceSpan, (string Text, int Column)> text)
    {
        var lines = content.Split('\n');
        var count = lines.Length > 0 && lines[^1].Length == 0 ? lines.Length - 1 : lines.Length;
        var rows = new List<Row>(count);
        for (var i = 0; i < count; i++)
        {
            var at = new SourceSpan(display, i + 1, 1);
            if (string.IsNullOrWhiteSpace(lines[i]))
                throw new ConfigException(at, $"line {i + 1} is empty — write a text there or delete the line (each line is a row; rows are never skipped)");
            var (value, column) = text(lines[i], at);
            rows.Add(Checked(i + 1, value, at with { Column = column }));
        }
        return rows;
    }

    private static (string, int) JsonField(string line, SourceSpan at, string field)
    {
        var bytes = Encoding.UTF8.GetBytes(line);
        int Column(long byteIndex) => Encoding.UTF8.GetCharCount(bytes, 0, (int)Math.Clamp(byteIndex, 0, bytes.Length)) + 1;
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        var present = new List<string>();
        string? value = null;
        var valueColumn = 0;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw new ConfigException(at, "the line is not a JSON object — write each row as one object such as {\"" + field + "\": \"…\"}");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                present.Add(name);
                reader.Read();
                if (name == field)
                {
                    if (valueColumn != 0)
                        throw new ConfigException(at with { Column = Column(reader.TokenStartIndex) }, $"field '{field}' appears twice in the object — keep one");
                    valueColumn = Column(reader.TokenStartIndex);
                    if (reader.TokenType != JsonTokenType.String)
                        throw new ConfigException(at with { Column = valueColumn },
                            $"field '{field}' is {Describe(reader.TokenType)}, not a string — write the text as a JSON string");
                    value = reader.GetString();
                }
                reader.Skip();
            }
            if (reader.Read())
                throw new ConfigException(at with { Column = Column(reader.TokenStartIndex) }, "more than one JSON value on the line — write one object a line");
        }
        catch (JsonException ex)
        {
            throw new ConfigException(at with { Column = Column(ex.BytePositionInLine ?? 0) },
                $"bad JSON: {ex.Message.Split(" LineNumber:")[0].TrimEnd('.')} — write each line as one JSON object");
        }
        if (value is null)
            throw new ConfigException(at, $"no field '{field}' in the object (fields: {(present.Count == 0 ? "none" : string.Join(", ", present))})"
                + $" — fix 'field:'{(Suggestions.Closest(field, present) is { } guess ? $" (did you mean '{guess}'?)" : "")} or add '{field}' to the row");
        return (value, valueColumn);
    }

    private static string Describe(JsonTokenType type) => type switch
    {
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.StartObject => "an object",
        _ => type.ToString(),
    };

    // ---------------------------------------------------------------- .csv and .tsv

    /// <summary>A field and where it starts (its opening quote when quoted).</summary>
    private readonly record struct Field(string Value, int Line, int Column);

    private static List<Row> ReadDelimited(string content, string display, char delimiter, string column)
    {
        using var records = DelimitedRecords(content, display, delimiter).GetEnumerator();
        if (!records.MoveNext())
            throw new ConfigException(new SourceSpan(display, 1, 1), "the corpus file is empty — its first line is the header naming the columns");
        var header = records.Current;
        var names = header.Select(h => h.Value).ToList();
        var index = names.IndexOf(column);
        if (index < 0)
            throw new ConfigException(new SourceSpan(display, 1, 1), $"no column '{column}' in the header (columns: {string.Join(", ", names)})"
                + $" — fix 'column:'{(Suggestions.Closest(column, names) is { } guess ? $" (did you mean '{guess}'?)" : "")}");
        if (names.LastIndexOf(column) != index)
            throw new ConfigException(new SourceSpan(display, header[index].Line, header[names.LastIndexOf(column)].Column),
                $"the header names column '{column}' twice — rename one of them");
        var rows = new List<Row>();
        while (records.MoveNext())
        {
            var record = records.Current;
            var number = rows.Count + 1;
            if (record.Count != header.Count)
                throw new ConfigException(new SourceSpan(display, record[0].Line, 1),
                    $"row {number} has {record.Count} field{(record.Count == 1 ? "" : "s")}, the header {header.Count} — "
                    + (delimiter == ',' ? "quote fields that hold commas, quotes or line breaks (\"a, b\", \"say \"\"hi\"\"\")" : "a field may not hold a tab unless quoted"));
            var field = record[index];
            rows.Add(Checked(number, field.Value, new SourceSpan(display, field.Line, field.Column)));
        }
        return rows;
    }

    /// <summary>
    /// RFC 4180 records: fields split by <paramref name="delimiter"/>, records by line breaks; a field that starts with
    /// <c>"</c> is quoted, may hold delimiters and line breaks, and writes a quote as <c>""</c>. A final line break
    /// ends the last record.
    /// </summary>
    private static IEnumerable<List<Field>> DelimitedRecords(string text, string display, char delimiter)
    {
        int i = 0, line = 1, column = 1;
        var value = new StringBuilder();
        void Advance()
        {
            if (text[i] == '\n') { line++; column = 1; }
            else column++;
            i++;
        }
        SourceSpan Here() => new(display, line, column);
        while (i < text.Length)
        {
            var record = new List<Field>();
            while (true)
            {
                var (startLine, startColumn) = (line, column);
                value.Clear();
                if (i < text.Length && text[i] == '"')
                {
                    Advance();
                    while (true)
                    {
                        if (i >= text.Length)
                            throw new ConfigException(new SourceSpan(display, startLine, startColumn),
                                "a quoted field is never closed — end it with '\"' (write a quote inside it as \"\")");
                        if (text[i] == '"')
                        {
                            if (i + 1 < text.Length && text[i + 1] == '"') { value.Append('"'); Advance(); Advance(); continue; }
                            Advance();
                            break;
                        }
                        value.Append(text[i]);
                        Advance();
                    }
                    if (i < text.Length && text[i] != delimiter && text[i] != '\n')
                        throw new ConfigException(Here(), "text after a closing quote — quote the whole field, and write a quote inside it as \"\"");
                }
                else
                {
                    while (i < text.Length && text[i] != delimiter && text[i] != '\n')
                    {
                        // A TSV field may hold quotes as they are; a CSV one only when quoted.
                        if (text[i] == '"' && delimiter == ',')
                            throw new ConfigException(Here(), "a '\"' inside an unquoted field — quote the field (\"…\") and write the quote as \"\"");
                        value.Append(text[i]);
                        Advance();
                    }
                }
                record.Add(new Field(value.ToString(), startLine, startColumn));
                if (i < text.Length && text[i] == delimiter) { Advance(); continue; }
                if (i < text.Length) Advance(); // the line break that ends the record
                break;
            }
            yield return record;
        }
    }

    // ---------------------------------------------------------------- .parquet

    private static List<Row> ReadParquet(string fullPath, string display, string column) =>
        Task.Run(() => ReadParquetAsync(fullPath, display, column)).GetAwaiter().GetResult();

    private static async Task<List<Row>> ReadParquetAsync(string fullPath, string display, string column)
    {
        var start = new SourceSpan(display, 1, 1);
        await using var stream = File.OpenRead(fullPath);
        ParquetReader reader;
        try
        {
            reader = await ParquetReader.CreateAsync(stream);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or NotSupportedException or ArgumentException)
        {
            throw new ConfigException(start, $"not a readable Parquet file ({ex.Message}) — write it with a Parquet library, or use .jsonl, .csv, .tsv or .txt");
        }
        await using (reader)
        {
            var fields = reader.Schema.Fields;
            var found = fields.FirstOrDefault(f => f.Name == column);
            var names = fields.Select(f => f.Name).ToList();
            if (found is null)
                throw new ConfigException(start, $"no column '{column}' in the Parquet file (columns: {string.Join(", ", names)})"
                    + $" — fix 'column:'{(Suggestions.Closest(column, names) is { } guess ? $" (did you mean '{guess}'?)" : "")}");
            // Parquet.Net types a UTF-8 column as string or, in its span API, ReadOnlyMemory<char>.
            if (found is not DataField { IsArray: false } data || (data.ClrType != typeof(string) && data.ClrType != typeof(ReadOnlyMemory<char>)))
                throw new ConfigException(start, $"column '{column}' is not a string column ({(found is DataField d ? d.ClrType.Name + (d.IsArray ? "[]" : "") : found.SchemaType.ToString())})"
                    + " — name a column of strings (UTF8/BYTE_ARRAY)");
            var rows = new List<Row>();
            for (var g = 0; g < reader.RowGroupCount; g++)
            {
                using var group = reader.OpenRowGroupReader(g);
                var values = new string?[checked((int)group.RowCount)];
                await group.ReadAsync(data, values.AsMemory());
                foreach (var v in values)
                {
                    var number = rows.Count + 1;
                    var at = new SourceSpan(display, number, 1);
                    if (v is null)
                        throw new ConfigException(at, $"row {number} of column '{column}' is null — write a text there or delete the row (rows are never skipped)");
                    rows.Add(Checked(number, v, at));
                }
            }
            return rows;
        }
    }
}
