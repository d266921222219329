using System.Globalization;
using System.Text.Json;
using Parquet;
using Tta.Cache;
using Tta.Config;
using Tta.Download;
using Tta.Extract;
using Tta.Models;
using Tta.Tokenizers;

namespace Tta.Metrics;

/// <summary>
/// Metrics stage. Per experiment × model × text, one unit per metric kind, each with its own fingerprint and output
/// file in <c>cache/metrics/EXPERIMENT/MODEL/TEXT/</c>, so changing one kind's settings reruns only that kind:
/// <list type="bullet">
/// <item><c>similarity.parquet</c> (always): token×token similarity maps of every per-token vector set.</item>
/// <item><c>attention.parquet</c> (<c>metrics.attention</c>): <see cref="AttentionDecomposition"/>.</item>
/// <item><c>nearest.parquet</c> (<c>metrics.nearest</c>): <see cref="NearestTokens"/>, layout <see cref="NearestStore"/>.</item>
/// <item><c>trajectory.parquet</c> (<c>metrics.trajectory</c>): <see cref="TrajectoryMetrics"/>.</item>
/// <item><c>projection.parquet</c> (<c>metrics.projection</c>): <see cref="TrajectoryProjectionUnit"/>.</item>
/// </list>
/// </summary>
public static class MetricsStage
{
    public const string Name = "Metrics";
    public const string CodeVersion = "metrics-2";

    public static IEnumerable<StageUnit> Units(RunContext context)
    {
        var ws = context.Workspace;
        foreach (var e in context.Experiments)
            foreach (var m in e.Models)
                foreach (var t in e.Texts)
                {
                    yield return For(ws, e, m, t);
                    if (e.Metrics.Attention is not null) yield return new AttentionMetricsUnit(ws, e, m, t);
                    if (e.Metrics.Nearest is not null) yield return new NearestMetricsUnit(ws, e, m, t);
                    if (e.Metrics.Trajectory) yield return new TrajectoryMetricsUnit(ws, e, m, t);
                    if (e.Metrics.Projection) yield return new TrajectoryProjectionUnit(ws, e, m, t);
                }
    }

    /// <summary>The similarity unit (the one the Figures stage reads).</summary>
    public static MetricsUnit For(Workspace ws, Experiment e, ModelSpec m, TextSpec t) => new(ws, e, m, t);

    public static string Dir(Workspace ws, Experiment e, ModelSpec m, TextSpec t) =>
        Path.Combine(ws.CacheDir, "metrics", e.Name, m.Key, t.Key);

    public static string OutputPath(Workspace ws, Experiment e, ModelSpec m, TextSpec t) =>
        Path.Combine(Dir(ws, e, m, t), "similarity.parquet");

    /// <summary>
    /// The activation store's metadata (tokens, model, …) without its format, fingerprint and point descriptions (a
    /// metrics file describes its own points), for a metrics file.
    /// </summary>
    internal static Dictionary<string, string> Metadata(IReadOnlyDictionary<string, string> activations, string format, string fingerprint)
    {
        var meta = activations.Where(kv => kv.Key is not ("tta.format" or "tta.fingerprint" or StoredPoints.MetadataKey)).ToDictionary(kv => kv.Key, kv => kv.Value);
        meta["tta.format"] = format;
        meta["tta.fingerprint"] = fingerprint;
        return meta;
    }

    internal static T Sync<T>(Func<Task<T>> run) => Task.Run(run).GetAwaiter().GetResult();
}

/// <summary>Common shape of the metric units: one output file and its manifest beside it, reading the Extract store.</summary>
public abstract class MetricsUnitBase(Workspace ws, Experiment experiment, ModelSpec model, TextSpec text, string kind) : StageUnit
{
    protected Workspace Ws => ws;
    protected Experiment Experiment => experiment;
    protected ModelSpec Model => model;
    protected TextSpec Text => text;
    public override string Stage => MetricsStage.Name;
    public string OutputPath => Path.Combine(MetricsStage.Dir(ws, experiment, model, text), kind + ".parquet");
    protected ExtractUnit Upstream => ExtractStage.For(ws, experiment, model, text);
    protected string UnitName => $"{experiment.Name}/{model.Key}/{text.Key}";

    /// <summary>Metrics compute with libtorch (see <see cref="UnitResources.Torch"/>).</summary>
    public override UnitResources Resources(RunContext context) => UnitResources.SmallTorch;

    /// <summary>Optional metrics are units <c>exp/model/text/kind</c> with <c>kind.manifest.json</c> beside the output.</summary>
    public override string Key => $"{UnitName}/{kind}";
    public override string ManifestPath => Path.Combine(Path.GetDirectoryName(OutputPath)!, kind + ".manifest.json");
}

/// <summary>Similarity maps of every stored per-token vector set, per measure, into similarity.parquet.</summary>
public sealed class MetricsUnit(Workspace ws, Experiment experiment, ModelSpec model, TextSpec text)
    : MetricsUnitBase(ws, experiment, model, text, "similarity")
{
    // The similarity unit came first: its key and manifest name have no kind suffix.
    public override string Key => UnitName;
    public override string ManifestPath => Path.Combine(Path.GetDirectoryName(OutputPath)!, "manifest.json");

    public override UnitDeclaration Declare() =>
        new UnitDeclaration(MetricsStage.CodeVersion)
            .Reads(Upstream, ExtractStage.ActivationsFile)
            .Param("metrics.similarity", Experiment.Metrics.Similarity)
            .Writes(OutputPath);

    public override IReadOnlyList<string> Run(RunContext context)
    {
        var fingerprint = Fingerprint().Value;
        return MetricsStage.Sync<IReadOnlyList<string>>(async () =>
        {
            var metadata = await VectorStoreReader.ReadMetadataAsync(Upstream.OutputPath);
            await using var writer = await VectorStoreWriter.CreateAsync(OutputPath, MetricsStage.Metadata(metadata, "similarity/1", fingerprint), withMeasure: true);
            // One block in memory at a time. Similarity maps are defined for per-token vector sets; per-head attention
            // blocks are already maps.
            var measures = Experiment.Metrics.Similarity;
            var points = StoredPoints.Read(metadata, Upstream.OutputPath);
            var written = new List<CapturePoint>();
            await VectorStoreReader.ForEachBlockAsync(Upstream.OutputPath, async block =>
            {
                if (block.Key.Head is not null) return;
                var maps = SimilarityMap.ComputeAll(block.Values, block.Positions, block.Dim, measures);
                for (var i = 0; i < measures.Count; i++)
                    await writer.WriteAsync(block.Key with { Measure = measures[i] }, maps[i], block.Positions, block.Positions);
                written.Add(points[block.Key]);
            });
            writer.SetMetadata(StoredPoints.MetadataKey, StoredPoints.Serialize(written));
            await writer.CommitAsync();
            return [OutputPath];
        });
    }
}

/// <summary>Nearest-vocabulary decoding of every hidden state into nearest.parquet (layout: <see cref="NearestStore"/>).</summary>
public sealed class NearestMetricsUnit(Workspace ws, Experiment experiment, ModelSpec model, TextSpec text)
    : MetricsUnitBase(ws, experiment, model, text, "nearest")
{
    public const string CodeVersion = "nearest-1";

    /// <summary>Reads the hidden states, and the checkpoint's input embeddings and vocabulary.</summary>
    public override UnitDeclaration Declare() =>
        new UnitDeclaration(CodeVersion)
            .Reads(Upstream, ExtractStage.ActivationsFile)
            .Reads(DownloadStage.For(Ws, Experiment, Model))
            .Param("metrics.nearest", Experiment.Metrics.Nearest)
            .Writes(OutputPath);

    public override IReadOnlyList<string> Run(RunContext context)
    {
        var k = Experiment.Metrics.Nearest!.K;
        var fingerprint = Fingerprint().Value;
        var (checkpointDir, _) = DownloadStage.Result(Ws, Experiment, Model);
        IReadOnlyList<string>? vocabulary = null;
        try
        {
            if (TokenizerLoader.Load(checkpointDir) is BertWordPieceTokenizer wp) vocabulary = wp.Vocabulary;
        }
        catch (NotSupportedException) { /* no id → string map: ids only */ }

        MetricsStage.Sync(async () =>
        {
            var (metadata, blocks) = await VectorStoreReader.ReadAsync(Upstream.OutputPath);
            using var checkpoint = new Checkpoint(checkpointDir);
            using var embeddings = NearestTokens.LoadEmbeddings(checkpoint);
            var groups = new List<NearestStore.Group>();
            var points = StoredPoints.Read(metadata, Upstream.OutputPath);
            var searched = blocks.Where(b => points.IsHiddenStateBlock(b.Key) && b.Dim == embeddings.shape[1]).ToList(); // in embedding space
            foreach (var block in searched)
                foreach (var measure in NearestTokens.Measures)
                    groups.Add(new(block.Key with { Measure = measure },
                        NearestTokens.Search(block.Values, block.Positions, block.Dim, embeddings, k, measure)));
            var meta = MetricsStage.Metadata(metadata, "nearest/1", fingerprint);
            meta[StoredPoints.MetadataKey] = StoredPoints.Serialize(searched.Select(b => points[b.Key]));
            meta["tta.k"] = k.ToString(CultureInfo.InvariantCulture);
            await NearestStore.WriteAsync(OutputPath, meta, groups, vocabulary);
            return 0;
        });
        return [OutputPath];
    }
}

/// <summary>
/// Per-token trajectory metrics into trajectory.parquet (store layout with a measure column): per hidden-state
/// series (point = <c>hidden_states</c>, <c>encoder_hidden_states</c>, …; layer = −1) and measure, one row per token
/// whose values run along the layers listed in metadata <c>tta.layers</c> (JSON object point → layer numbers); see
/// <see cref="TrajectoryMetrics"/> for each measure's length.
/// </summary>
public sealed class TrajectoryMetricsUnit(Workspace ws, Experiment experiment, ModelSpec model, TextSpec text)
    : MetricsUnitBase(ws, experiment, model, text, "trajectory")
{
    public const string CodeVersion = "trajectory-1";

    public override UnitDeclaration Declare() =>
        new UnitDeclaration(CodeVersion)
            .Reads(Upstream, ExtractStage.ActivationsFile)
            .Param("metrics.trajectory", Experiment.Metrics.Trajectory)
            .Writes(OutputPath);

    public override IReadOnlyList<string> Run(RunContext context)
    {
        var fingerprint = Fingerprint().Value;
        MetricsStage.Sync(async () =>
        {
            var (metadata, blocks) = await VectorStoreReader.ReadAsync(Upstream.OutputPath);
            var trajectories = TrajectoryMetrics.Trajectories(blocks, StoredPoints.Read(metadata, Upstream.OutputPath));
            var meta = MetricsStage.Metadata(metadata, "trajectory/1", fingerprint);
            meta["tta.layers"] = JsonSerializer.Serialize(trajectories.ToDictionary(t => t.Point, t => t.Layers.Select(b => b.Key.Layer).ToArray()));
            await using var writer = await VectorStoreWriter.CreateAsync(OutputPath, meta, withMeasure: true);
            foreach (var (point, stack, layers) in trajectories)
            {
                var values = TrajectoryMetrics.Compute(layers);
                foreach (var measure in TrajectoryMetrics.Measures)
                {
                    var (v, length) = values[measure];
                    if (length == 0) continue;
                    await writer.WriteAsync(new ActivationPoint(point, stack, -1, null, measure), v, layers[0].Positions, length);
                }
            }
            await writer.CommitAsync();
            return 0;
        });
        return [OutputPath];
    }
}
