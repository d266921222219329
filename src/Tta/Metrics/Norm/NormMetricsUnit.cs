using System.Text.Json;
using Tta.Cache;
using Tta.Config;
using Tta.Extract;
using Tta.Store;

namespace Tta.Metrics.Norm;

/// <summary>
/// <c>metrics.norm</c>: the L2 norm ‖h‖ of every token's hidden state at every stored layer, into norm.parquet
/// (store layout with a measure column): per hidden-state series (point = <c>hidden_states</c>,
/// <c>encoder_hidden_states</c>, …; layer = −1; measure <c>l2</c>) one row per token, whose values run along the
/// layers listed in metadata <c>tta.layers</c> (JSON object series → layer numbers). Norms are summed in float64.
/// </summary>
public sealed class NormMetricsUnit(Workspace ws, Experiment experiment, ModelSpec model, TextSpec text)
    : MetricsUnitBase(ws, experiment, model, text, NormKind.Key)
{
    public const string CodeVersion = "norm-1";
    public const string Format = "norm/1";
    public const string Measure = "l2";

    public override UnitDeclaration Declare() => SwitchOnActivations(CodeVersion);

    /// <summary>Plain float64 sums, no libtorch: it may run beside a libtorch unit (see <see cref="UnitResources.Torch"/>).</summary>
    public override UnitResources Resources(RunContext context) => UnitResources.Small;

    public override IReadOnlyList<string> Run(RunContext context)
    {
        return WriteOutput(async fingerprint =>
        {
            await using var store = await VectorStoreReader.OpenAsync(Upstream.OutputPath);
            var (metadata, points) = (store.Metadata, store.Points);
            // One block in memory at a time: each hidden state leaves only its tokens' norms.
            var series = new SortedDictionary<string, (string Stack, int Positions, List<(int Layer, double[] Norms)> Layers)>(StringComparer.Ordinal);
            await store.ForEachBlockAsync(block =>
            {
                if (points.HiddenStateSeries(block.Key) is not { } path) return Task.CompletedTask;
                if (!series.TryGetValue(path, out var s)) series[path] = s = (block.Key.Stack, block.Positions, []);
                var norms = new double[block.Positions];
                for (var p = 0; p < block.Positions; p++)
                {
                    var sum = 0.0;
                    foreach (var v in block.Row(p)) sum += (double)v * v;
                    norms[p] = Math.Sqrt(sum);
                }
                s.Layers.Add((block.Key.Layer, norms));
                return Task.CompletedTask;
            });
            var meta = MetricsStage.Metadata(metadata, Format, fingerprint);
            meta[StoreKeys.Layers] = JsonSerializer.Serialize(series.ToDictionary(s => s.Key, s => s.Value.Layers.OrderBy(l => l.Layer).Select(l => l.Layer).ToArray()));
            await using var writer = await VectorStoreWriter.CreateAsync(OutputPath, meta, withMeasure: true);
            foreach (var (path, (stack, positions, unordered)) in series)
            {
                var layers = unordered.OrderBy(l => l.Layer).ToList();
                var values = new float[positions * layers.Count]; // row = token, values along the layers
                for (var p = 0; p < positions; p++)
                    for (var l = 0; l < layers.Count; l++)
                        values[p * layers.Count + l] = (float)layers[l].Norms[p];
                await writer.WriteAsync(new ActivationPoint(path, stack, -1, null, Measure), values, positions, layers.Count);
            }
            await writer.CommitAsync();
        });
    }
}
