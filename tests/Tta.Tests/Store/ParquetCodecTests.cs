using System.Text.Json.Nodes;
using Parquet;
using Xunit.Abstractions;

namespace Tta.Tests.Store;

/// <summary>
/// Every kind of Parquet file tta writes uses one codec, Snappy (as src/Tta/Store/README.md says), so a reader without the optional
/// codecs opens them all: hyparquet's core (no hyparquet-compressors) reads each file in full, and every column chunk's
/// codec is checked here through Parquet.Net's metadata as well.
/// </summary>
[Trait("Lane", "Full")]
public class ParquetCodecTests(ITestOutputHelper log)
{
    private const string Yaml = """
        name: tiny
        models:
          - { id: bert-tiny, source: local, path: model, name: tiny }
        texts:
          - { name: one, text: "the cat sat on the mat." }
        metrics:
          similarity: [cosine]
          attention: { layers: [0], heads: [0] }
          nearest: { k: 2 }
          trajectory: true
          projection: true
          norm: true
        figures:
          formats: [png]
          cell_pixels: 8
        """;

    /// <summary>The kinds of Parquet file the pipeline writes (Extract and each metric).</summary>
    private static readonly string[] Kinds =
        ["activations", "attention-inputs", "similarity", "attention", "nearest", "trajectory", "projection", "norm"];

    [Fact]
    public async Task EveryParquetFileIsSnappyAndHyparquetCoreReadsIt()
    {
        var ws = new TinyWorkspace(Yaml);
        foreach (var stage in new[] { "Download", "Extract", "Metrics" })
        {
            var (code, output) = ws.Cli("run", $"--stage={stage}");
            Assert.True(code == 0, $"{stage} failed: {output}");
        }
        var files = Directory.GetFiles(ws.CacheDir, "*.parquet", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(Kinds.Order(StringComparer.Ordinal), files.Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal));

        foreach (var file in files)
        {
            await using var stream = File.OpenRead(file);
            await using var reader = await ParquetReader.CreateAsync(stream);
            var codecs = reader.Metadata!.RowGroups.SelectMany(g => g.Columns).Select(c => c.MetaData!.Codec).Distinct().ToList();
            Assert.True(codecs is [Parquet.Meta.CompressionCodec.SNAPPY], $"{Path.GetFileName(file)}: codecs {string.Join(", ", codecs)}");
        }

        var node = NodeTools.Require("hyparquet@1.33.0", log);
        if (node is null) return;
        var script = Path.Combine(Repo.TempDir(), "read.mjs");
        File.WriteAllText(script, """
            import { pathToFileURL } from 'node:url';
            import { readFileSync } from 'node:fs';
            import path from 'node:path';
            const [pkg, ...files] = process.argv.slice(2);
            const { parquetMetadataAsync, parquetReadObjects } = await import(pathToFileURL(path.join(pkg, 'src', 'index.js')).href);
            for (const f of files) {
              const bytes = readFileSync(f);
              const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
              const meta = await parquetMetadataAsync(file);
              const codecs = [...new Set(meta.row_groups.flatMap((g) => g.columns.map((c) => c.meta_data.codec)))];
              const rows = await parquetReadObjects({ file }); // core only: no compressors passed
              console.log(JSON.stringify({ file: f, rows: rows.length, declared: Number(meta.num_rows), codecs }));
            }
            """);
        var (exit, text) = TtaProcess.Run(TtaProcess.Command(node.Value.Node, [script, node.Value.Package, .. files]), TimeSpan.FromMinutes(2));
        Assert.True(exit == 0, text);
        var results = text.Split('\n').Where(l => l.StartsWith('{')).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(files.Count, results.Count);
        foreach (var r in results)
        {
            var name = Path.GetFileName(r["file"]!.GetValue<string>());
            Assert.True(r["rows"]!.GetValue<int>() > 0, $"{name}: no rows");
            Assert.Equal(r["declared"]!.GetValue<int>(), r["rows"]!.GetValue<int>());
            Assert.Equal(["SNAPPY"], r["codecs"]!.AsArray().Select(c => c!.GetValue<string>()));
        }
    }
}
