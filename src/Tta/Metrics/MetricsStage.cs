using System.Globalization;
using System.Text.Json;
using Parquet;
using Tta.Cache;
using Tta.Config;
using Tta.Download;
using Tta.Models;
using Tta.Store;
using Tta.Tokenizers;

namespace Tta.Metrics;

/// <summary>
/// The Metrics stage's name, folders and file conventions. Per experiment × model × text, one unit per configured metric
/// kind (<see cref="MetricKinds"/>; the stage list in Pipeline makes them), each with its own fingerprint and output
/// file <c>KIND.parquet</c> in <c>cache/metrics/EXPERIMENT/MODEL/TEXT/</c>. Similarity maps are always computed.
/// </summary>
public static class MetricsStage
{
    public const string Name = "Metrics";
    public const string CodeVersion = "metrics-2";

    public static string Dir(Workspace ws, Experiment e, ModelSpec m, TextSpec t) =>
        Path.Combine(ws.CacheDir, "metrics", e.Name, m.Key, t.Key);

    /// <summary>
    /// The activation store's metadata (tokens, model, …) without its format, fingerprint and point descriptions (a
    /// metrics file describes its own points), for a metrics file.
    /// </summary>
    internal static Dictionary<string, string> Metadata(IReadOnlyDictionary<string, string> activations, string format, string fingerprint)
    {
        var meta = activations.Where(kv => kv.Key is not (StoreKeys.Format or StoreKeys.Fingerprint or StoreKeys.Points)).ToDictionary(kv => kv.Key, kv => kv.Value);
        meta[StoreKeys.Format] = format;
        meta[StoreKeys.Fingerprint] = fingerprint;
        return meta;
    }

    internal static T Sync<T>(Func<Task<T>> run) => Task.Run(run).GetAwaiter().GetResult();

    internal static void Sync(Func<Task> run) => Task.Run(run).GetAwaiter().GetResult();
}
