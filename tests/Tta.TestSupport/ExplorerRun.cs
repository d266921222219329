using Tta.Store;

namespace Tta.Tests;

/// <summary>
/// flan-t5-tiny (T5 Unigram tokenizer.json fixture) through every stage with attention, nearest tokens and the
/// trajectory projection, two texts, PNG + PDF + SVG: the explorer page built from real Parquet files, shared by the
/// browser tests.
/// </summary>
public sealed class ExplorerRun
{
    public const string Yaml = """
        name: tiny
        models:
          - id: flan-t5-tiny
            source: local
            path: t5
            name: t5
        texts:
          - name: one
            text: "The quick brown fox jumps over the lazy dog."
          - name: two
            text: "A second, shorter text."
        metrics:
          attention: { layers: [0] }
          nearest: { k: 3 }
          projection: true
        figures:
          formats: [png, pdf, svg]
          cell_pixels: 8
        """;

    public TinyWorkspace Workspace { get; } = new();

    public string Page => Path.Combine(Workspace.FiguresDir, "tiny", "index.html");

    public ExplorerRun()
    {
        Workspace.AddFlanT5Tiny();
        Workspace.WriteExperiment(Yaml);
        Workspace.RunAll();
    }

    public string Metrics(string text, string kind) => Path.Combine(Workspace.CacheDir, "metrics", "tiny", "t5", text, kind + ".parquet");

    public (IReadOnlyDictionary<string, string> Metadata, IReadOnlyList<VectorBlock> Blocks) Read(string text, string kind) =>
        Task.Run(() => VectorStoreReader.ReadAsync(Metrics(text, kind))).GetAwaiter().GetResult();
}
