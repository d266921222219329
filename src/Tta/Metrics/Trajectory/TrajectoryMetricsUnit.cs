using System.Globalization;
using System.Text.Json;
using Parquet;
using Tta.Cache;
using Tta.Config;
using Tta.Download;
using Tta.Extract;
using Tta.Models;
using Tta.Store;
using Tta.Tokenizers;

namespace Tta.Metrics.Trajectory;

/// <summary>
/// Per-token trajectory metrics into trajectory.parquet (store layout with a measure column): per hidden-state
/// series (point = <c>hidden_states</c>, <c>encoder_hidden_states</c>, …; layer = −1) and measure, one row per token
/// whose values run along the layers listed in metadata <c>tta.layers</c> (JSON object point → layer numbers); see
/// <see cref="TrajectoryMetrics"/> for each measure's length.
/// </summary>
public sealed class TrajectoryMetricsUnit(Workspace ws, Experiment experiment, ModelSpec model, TextSpec text)
    : MetricsUnitBase(ws, experiment, model, text, TrajectoryKind.Key)
{
    public const string CodeVersion = "trajectory-1";

    public override UnitDeclaration Declare() => SwitchOnActivations(CodeVersion);

    public override IReadOnlyList<string> Run(RunContext context)
    {
        return WriteOutput(async fingerprint =>
        {
            var (metadata, blocks) = await VectorStoreReader.ReadAsync(Upstream.OutputPath);
            var trajectories = TrajectoryMetrics.Trajectories(blocks, StoredPoints.Read(metadata, Upstream.OutputPath));
            var meta = MetricsStage.Metadata(metadata, "trajectory/1", fingerprint);
            meta[StoreKeys.Layers] = JsonSerializer.Serialize(trajectories.ToDictionary(t => t.Point, t => t.Layers.Select(b => b.Key.Layer).ToArray()));
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
        });
    }
}
