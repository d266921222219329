using System.Text;
using Parquet;
using Parquet.Schema;
using Tta.Config;
using Tta.Core;
using Tta.Metrics;

namespace Tta.Tests.Config;

/// <summary>Corpus entries of <c>texts:</c>: each format, keys, limit and sample, and every error at the corpus file's line:column.</summary>
public class CorpusTests
{
    private readonly string dir = Repo.TempDir();

    private string Corpus(string name, string content)
    {
        var path = Path.Combine(dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    /// <summary>An experiment whose texts are <paramref name="entries"/> (YAML list items, two-space indented).</summary>
    private Experiment Load(string entries, string extra = "") =>
        ExperimentLoader.Load(WriteExperiment(entries, extra), MetricKinds.Default.Settings);

    private string WriteExperiment(string entries, string extra = "")
    {
        var path = Path.Combine(dir, "exp.yaml");
        File.WriteAllText(path, $"name: study\nmodels:\n  - id: org/model\n    source: hub\ntexts:\n{entries}\n{extra}");
        return path;
    }

    /// <summary>The load's error: it starts with <paramref name="file"/>:line:column and names each of <paramref name="words"/>.</summary>
    private ConfigException Error(string entries, string file, int line, int column, params string[] words)
    {
        var ex = Assert.Throws<ConfigException>(() => Load(entries));
        Assert.True(ex.Message.StartsWith($"{file}:{line}:{column}: ", StringComparison.Ordinal), $"expected {file}:{line}:{column} in: {ex.Message}");
        Assert.Contains(" — ", ex.Message); // what is wrong — how to fix it
        foreach (var w in words) Assert.True(ex.Message.Contains(w, StringComparison.Ordinal), $"expected '{w}' in: {ex.Message}");
        return ex;
    }

    [Fact]
    public void JsonlRowsAreTextsKeyedByRowWithTheirPositions()
    {
        var file = Corpus("data/s.jsonl", "{\"id\": 1, \"text\": \"Hello there.\"}\n{\"text\":\"Second \\\"one\\\".\", \"x\": [1, {\"text\": 2}]}\n");
        var e = Load("  - name: s\n    corpus: data/s.jsonl\n    field: text");
        Assert.Equal(["s-1", "s-2"], e.Texts.Select(t => t.Key));
        Assert.Equal(["Hello there.", "Second \"one\"."], e.Texts.Select(t => t.Text));
        Assert.All(e.Texts, t => Assert.Equal("s", t.Corpus));
        Assert.All(e.Texts, t => Assert.Null(t.File));
        Assert.Equal(new SourceSpan(file, 1, 19), e.Texts[0].At); // the value's opening quote
        Assert.Equal(new SourceSpan(file, 2, 9), e.Texts[1].At);
        var corpus = Assert.Single(e.Corpora);
        Assert.Equal(new CorpusSpec("s", file, Hashing.Sha256File(file), 2, 2, new SourceSpan(Path.Combine(dir, "exp.yaml"), 6, 5)), corpus);
    }

    [Fact]
    public void TxtIsOneTextALineAndAFinalNewlineIsNoRow()
    {
        Corpus("s.txt", "First line.\nSecond line.\n");
        var e = Load("  - name: one\n    text: A single text.\n  - name: lines\n    corpus: s.txt");
        Assert.Equal(["one", "lines-1", "lines-2"], e.Texts.Select(t => t.Key));
        Assert.Equal("Second line.", e.Texts[2].Text);
        Assert.Null(e.Texts[0].Corpus);
        Assert.Equal(2, e.Corpora[0].Rows);
    }

    [Fact]
    public void CsvFollowsRfc4180Quoting()
    {
        var file = Corpus("s.csv", "id,text\n1,\"a, b\"\n2,\"line one\nline two\"\n3,\"say \"\"hi\"\"\"\n4,plain\n");
        var e = Load("  - name: s\n    corpus: s.csv\n    column: text");
        Assert.Equal(["s-1", "s-2", "s-3", "s-4"], e.Texts.Select(t => t.Key));
        Assert.Equal(["a, b", "line one\nline two", "say \"hi\"", "plain"], e.Texts.Select(t => t.Text));
        // Row 3 starts on line 5: row 2's quoted field holds a line break.
        Assert.Equal([2, 3, 5, 6], e.Texts.Select(t => t.At.Line));
        Assert.All(e.Texts, t => Assert.Equal(3, t.At.Column));
        Assert.Equal(file, e.Texts[0].At.File);
    }

    [Fact]
    public void TsvSplitsOnTabsAndKeepsQuotesInsideFields()
    {
        Corpus("s.tsv", "text\tlabel\nHe said \"no\".\tneg\n\"a\tb\"\tpos\n");
        var e = Load("  - name: s\n    corpus: s.tsv\n    column: text");
        Assert.Equal(["He said \"no\".", "a\tb"], e.Texts.Select(t => t.Text));
    }

    private async Task WriteParquet(string name, ParquetSchema schema, Func<ParquetRowGroupWriter, Task> write)
    {
        await using var stream = File.Create(Path.Combine(dir, name));
        await using var writer = await ParquetWriter.CreateAsync(schema, stream);
        using var group = writer.CreateRowGroup();
        await write(group);
    }

    [Fact]
    public async Task ParquetReadsAStringColumn()
    {
        var id = new DataField<int>("id");
        var sentence = new DataField<string>("sentence");
        await WriteParquet("s.parquet", new ParquetSchema(id, sentence), async g =>
        {
            await g.WriteAsync<int>(id, new[] { 1, 2, 3 });
            await g.WriteAsync(sentence, new[] { "One.", "Two.", "Three." });
        });
        var e = Load("  - name: p\n    corpus: s.parquet\n    column: sentence");
        Assert.Equal(["p-1", "p-2", "p-3"], e.Texts.Select(t => t.Key));
        Assert.Equal(["One.", "Two.", "Three."], e.Texts.Select(t => t.Text));
        Assert.Equal(3, e.Texts[2].At.Line); // Parquet has no lines: the row number

        var file = Path.Combine(dir, "s.parquet");
        Error("  - name: p\n    corpus: s.parquet\n    column: id", file, 1, 1, "column 'id' is not a string column");
        Error("  - name: p\n    corpus: s.parquet\n    column: sentense", file, 1, 1, "no column 'sentense'", "columns: id, sentence", "did you mean 'sentence'?");
    }

    [Fact]
    public async Task ParquetNullsAreErrorsAtTheirRow()
    {
        var text = new DataField<string>("text", nullable: true);
        await WriteParquet("n.parquet", new ParquetSchema(text), g => g.WriteAsync(text, new[] { "One.", null, "Three." }));
        Error("  - name: p\n    corpus: n.parquet\n    column: text", Path.Combine(dir, "n.parquet"), 2, 1, "row 2", "null");
    }

    [Fact]
    public void LimitTakesTheFirstRows()
    {
        Corpus("s.txt", string.Concat(Enumerable.Range(1, 10).Select(i => $"Sentence {i}.\n")));
        var e = Load("  - name: s\n    corpus: s.txt\n    limit: 3");
        Assert.Equal(["s-1", "s-2", "s-3"], e.Texts.Select(t => t.Key));
        Assert.Equal((10, 3), (e.Corpora[0].Rows, e.Corpora[0].Texts));
        Assert.Equal(10, Load("  - name: s\n    corpus: s.txt\n    limit: 50").Texts.Count); // a limit beyond the file takes every row
    }

    [Fact]
    public void SampleIsTheDocumentedSeededChoiceInRowOrder()
    {
        // The ranks computed independently (Python's hashlib: SHA-256 of "<seed>:<row>", first 8 bytes big-endian).
        Assert.Equal([3, 4, 7, 12, 20], ExperimentLoader.SampleRows(20, 5, 7));
        Assert.Equal([2, 5, 11, 16, 17], ExperimentLoader.SampleRows(20, 5, 8));
        // Ten more rows: the earlier rows keep their ranks, so only a lower-ranked new row changes the sample.
        Assert.Equal([3, 4, 7, 12, 26], ExperimentLoader.SampleRows(30, 5, 7));

        Corpus("s.txt", string.Concat(Enumerable.Range(1, 20).Select(i => $"Sentence {i}.\n")));
        var entry = "  - name: s\n    corpus: s.txt\n    sample: { n: 5, seed: 7 }";
        var e = Load(entry);
        Assert.Equal(["s-3", "s-4", "s-7", "s-12", "s-20"], e.Texts.Select(t => t.Key));
        Assert.Equal("Sentence 12.", e.Texts[3].Text);
        Assert.Equal(e.Texts, Load(entry).Texts);
        Assert.NotEqual(e.Texts.Select(t => t.Key), Load(entry.Replace("seed: 7", "seed: 8")).Texts.Select(t => t.Key));
    }

    [Fact]
    public void AppendingRowsKeepsEarlierTextsAndChangesTheCorpusHash()
    {
        var file = Corpus("s.jsonl", "{\"t\": \"one\"}\n{\"t\": \"two\"}\n");
        var entry = "  - name: s\n    corpus: s.jsonl\n    field: t";
        var before = Load(entry);
        File.AppendAllText(file, "{\"t\": \"three\"}\n");
        var after = Load(entry);
        Assert.Equal(before.Texts, after.Texts.Take(2)); // keys, texts and positions
        Assert.Equal("s-3", after.Texts[2].Key);
        Assert.NotEqual(before.Corpora[0].Sha256, after.Corpora[0].Sha256);
        Assert.Equal(3, after.Corpora[0].Rows);
    }

    [Fact]
    public void JsonlErrorsNameTheLineAndColumn()
    {
        var file = Corpus("s.jsonl", "{\"text\": \"ok\"}\n{\"body\": \"x\", \"id\": 2}\n");
        Error("  - name: s\n    corpus: s.jsonl\n    field: text", file, 2, 1, "no field 'text'", "fields: body, id", "field:");

        Corpus("s.jsonl", "{\"text\": \"ok\"}\n{\"text\": 42}\n");
        Error("  - name: s\n    corpus: s.jsonl\n    field: text", file, 2, 10, "field 'text' is a number, not a string");

        Corpus("s.jsonl", "{\"text\": \"ok\"}\n{\"text\": \"  \"}\n");
        Error("  - name: s\n    corpus: s.jsonl\n    field: text", file, 2, 10, "row 2 is an empty text", "never skipped");

        Corpus("s.jsonl", "{\"text\": \"ok\"}\n\n{\"text\": \"ok\"}\n");
        Error("  - name: s\n    corpus: s.jsonl\n    field: text", file, 2, 1, "line 2 is empty");

        Corpus("s.jsonl", "{\"text\": \"ok\"}\n{\"text\": \"é\" oops}\n");
        Error("  - name: s\n    corpus: s.jsonl\n    field: text", file, 2, 14, "bad JSON");

        Corpus("s.jsonl", "[\"text\"]\n");
        Error("  - name: s\n    corpus: s.jsonl\n    field: text", file, 1, 1, "not a JSON object");
    }

    [Fact]
    public void InvalidUtf8IsAnErrorWhereTheByteIs()
    {
        var file = Path.Combine(dir, "s.txt");
        File.WriteAllBytes(file, [.. Encoding.UTF8.GetBytes("fine\nab"), 0xFF, (byte)'\n']);
        Error("  - name: s\n    corpus: s.txt", file, 2, 3, "not valid UTF-8");
    }

    [Fact]
    public void CsvErrorsNameTheRowsLine()
    {
        var file = Corpus("s.csv", "id,text\n1,\"two\nlines\"\n2,a,b\n");
        Error("  - name: s\n    corpus: s.csv\n    column: text", file, 4, 1, "row 2 has 3 fields, the header 2", "quote fields");

        Corpus("s.csv", "id,text\n1,\"never closed\n2,x\n");
        Error("  - name: s\n    corpus: s.csv\n    column: text", file, 2, 3, "never closed");

        Corpus("s.csv", "id,text\n1,say \"hi\"\n");
        Error("  - name: s\n    corpus: s.csv\n    column: text", file, 2, 7, "inside an unquoted field");

        Corpus("s.csv", "id,text\n1,ok\n2,\n");
        Error("  - name: s\n    corpus: s.csv\n    column: text", file, 3, 3, "row 2 is an empty text");

        Corpus("s.csv", "id,body\n1,ok\n");
        Error("  - name: s\n    corpus: s.csv\n    column: text", file, 1, 1, "no column 'text'", "columns: id, body");

        Corpus("s.csv", "id,text\n");
        Error("  - name: s\n    corpus: s.csv\n    column: text", file, 1, 1, "no rows");
    }

    [Fact]
    public void EntryErrorsAreAtTheExperimentFile()
    {
        var yaml = Path.Combine(dir, "exp.yaml");
        Corpus("s.jsonl", "{\"text\": \"ok\"}\n");
        Corpus("s.txt", "ok\n");
        Error("  - name: s\n    corpus: missing.jsonl\n    field: text", yaml, 7, 13, "corpus file not found");
        Error("  - name: s\n    corpus: s.xlsx", yaml, 7, 13, "unknown corpus format '.xlsx'", ".jsonl, .csv, .tsv, .parquet, .txt");
        Error("  - name: s\n    corpus: s.jsonl", yaml, 6, 5, "has no 'field'");
        Error("  - name: s\n    corpus: s.txt\n    column: text", yaml, 8, 5, "'column' is not for .txt corpora");
        Error("  - name: s\n    corpus: s.txt\n    limit: 1\n    sample: { n: 1 }", yaml, 9, 5, "both 'limit' and 'sample'");
        Error("  - name: s\n    corpus: s.txt\n    sample: { n: 2 }", yaml, 8, 18, "sample.n 2 is more than the corpus's 1 rows");
        Error("  - name: s\n    corpus: s.txt\n    limit: 0", yaml, 8, 12, "limit must be positive");
        Error("  - name: s-1\n    text: taken\n  - name: s\n    corpus: s.txt", yaml, 8, 11, "makes text key 's-1', which is taken");
        Error("  - name: s\n    corpus: s.txt\n  - name: S-1\n    text: taken", yaml, 8, 11, "duplicate text name 'S-1'");
        Error("  - name: s\n    corpus: s.txt\n  - name: S\n    corpus: s.txt", yaml, 8, 11, "duplicate corpus name 'S'");
    }

    [Fact]
    public void PerTextFiguresAreOnForSingleTextsAndOffForCorpusTextsUnlessSet()
    {
        Corpus("s.txt", "a\nb\n");
        const string entries = "  - name: one\n    text: A text.\n  - name: s\n    corpus: s.txt";
        Assert.Equal(["one"], Load(entries).PerTextFigureTexts().Select(t => t.Key));
        Assert.Equal(["one", "s-1", "s-2"], Load(entries, "figures:\n  per_text: true\n").PerTextFigureTexts().Select(t => t.Key));
        Assert.Empty(Load(entries, "figures:\n  per_text: false\n").PerTextFigureTexts());
        Assert.Null(Load(entries).Figures.PerText);
    }

    [Fact]
    public void ExplorerTextsAreTheFirstNOrTheListedKeys()
    {
        Corpus("s.txt", string.Concat(Enumerable.Range(1, 8).Select(i => $"Sentence {i}.\n")));
        const string entries = "  - name: one\n    text: A text.\n  - name: s\n    corpus: s.txt";
        var absent = Load(entries);
        Assert.False(absent.Explorer.Given);
        Assert.Equal(["one", "s-1", "s-2", "s-3", "s-4"], absent.ExplorerTexts().Select(t => t.Key));
        var first = Load(entries, "explorer:\n  texts: 2\n");
        Assert.Equal((2, true), (first.Explorer.First, first.Explorer.Given));
        Assert.Equal(["one", "s-1"], first.ExplorerTexts().Select(t => t.Key));
        var listed = Load(entries, "explorer:\n  texts: [s-7, one]\n");
        Assert.Equal(["s-7", "one"], listed.Explorer.Keys);
        Assert.Equal(["one", "s-7"], listed.ExplorerTexts().Select(t => t.Key)); // in the experiment's order

        var yaml = WriteExperiment(entries, "explorer:\n  texts: [one, s-9, s-77]\n");
        var ex = Assert.Throws<ConfigException>(() => ExperimentLoader.Load(yaml, MetricKinds.Default.Settings));
        Assert.Equal(2, ex.Problems.Count);
        Assert.StartsWith($"{yaml}:11:16: explorer.texts names 's-9', which is no text of the experiment — did you mean 's-1'?", ex.Problems[0], StringComparison.Ordinal);
        Assert.StartsWith($"{yaml}:11:21: explorer.texts names 's-77'", ex.Problems[1], StringComparison.Ordinal);
        yaml = WriteExperiment(entries, "explorer:\n  texts: 0\n");
        Assert.StartsWith($"{yaml}:11:10: explorer.texts must be positive", Assert.Throws<ConfigException>(() => ExperimentLoader.Load(yaml, MetricKinds.Default.Settings)).Message, StringComparison.Ordinal);
    }
}
