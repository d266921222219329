using Tta.Config;

namespace Tta.Build;

/// <summary>
/// Every target of ./build.sh, one line each: the one table behind <c>./build.sh --help</c>, the check of
/// <c>--target</c> (an unknown one is an error listing these), and the descriptions of build.cake's tasks.
/// </summary>
public static class KnownTargets
{
    public static readonly IReadOnlyList<KnownTarget> All =
    [
        new("Figures", "Download → Extract → Metrics → Figures for the experiments (the default target)", RunsStages: true),
        new("Download", "stop after Download: the models' checkpoints", RunsStages: true),
        new("Extract", "stop after Extract: the activations", RunsStages: true),
        new("Metrics", "stop after Metrics: similarity maps and the other metrics", RunsStages: true),
        new("Archive", "builds what is stale, then zips each experiment's results into figures/archives/ (--out=DIR to choose)", RunsStages: true),
        new("Verify", "checks an archive: --archive=FILE.zip (checksums, and figures regenerated from its Parquet files)", RunsStages: false),
        new("Clean", "deletes what tta wrote in cache/ and figures/ (only folders tta created); --orphans: only results no experiment describes any more", RunsStages: false),
        new("Test", "builds and runs the whole test suite", RunsStages: false),
        new("Forward", "runs a checkpoint on a case.json: --model=DIR --inputs=case.json --out=FILE.safetensors", RunsStages: false),
        new("Synth", "writes a synthetic checkpoint of a real model's shape: --shape=NAME --out=DIR [--dtype=…] [--layers=N] [--shards=N] [--weights=random|empty]", RunsStages: false),
        new("Bench", "benchmarks printing ratios against same-run baselines: --only=store,load,memory,compute,extract,figures,tokenizers,scaleout,corpus-extract,noop (default all); --falcon-layers=N, --tokens=N, --texts=N,…", RunsStages: false),
    ];

    /// <summary>The target named <paramref name="name"/> (any case), or null.</summary>
    public static KnownTarget? Find(string name) => All.FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.OrdinalIgnoreCase));

    public static string Describe(string name) => Find(name)?.Description ?? throw new ArgumentException($"unknown target '{name}'");

    /// <summary>Null for a known target; else the error, with the closest target and the list.</summary>
    public static string? Problem(string name)
    {
        if (Find(name) is not null) return null;
        var guess = Suggestions.Closest(name, All.Select(t => t.Name));
        return $"unknown target '{name}'{(guess is null ? "" : $" — did you mean {guess}?")}; targets: {string.Join(", ", All.Select(t => t.Name))} (./build.sh --help describes them)";
    }
}

/// <param name="RunsStages">reads the experiments and runs stages (through Figures for Archive).</param>
public sealed record KnownTarget(string Name, string Description, bool RunsStages);
