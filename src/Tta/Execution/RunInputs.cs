using Tta.Cache;
using Tta.Config;
using Tta.Metrics;
using Tta.Pipeline;

namespace Tta.Execution;

/// <summary>
/// What a run reads before it touches anything: its workspace, its experiments (loaded and cross-checked, see
/// <see cref="Stages.Validate"/>) and its option values. tta-cli checks them before each verb that reads
/// experiments, and Cake's Setup checks them in-process before it takes the run lock, so a rejected run creates
/// nothing (no cache/, no lock file).
/// </summary>
public sealed record RunInputs(Workspace Workspace, IReadOnlyList<Experiment> Experiments, RunSettings Settings, MetricKinds Kinds)
{
    /// <param name="root">the project root.</param>
    /// <param name="option">an option's last value by name (null when not given).</param>
    /// <param name="experimentPatterns">--experiment values (files or globs); none means experiments/default.yaml.</param>
    /// <param name="forcedStages">--force-stage values (each must name a stage).</param>
    /// <param name="kinds">the metric kinds the experiments may configure (tta's own when null); the run's contexts carry them.</param>
    /// <exception cref="ConfigException">a bad experiment file.</exception>
    /// <exception cref="ArgumentException">a bad option value.</exception>
    public static RunInputs Check(string root, Func<string, string?> option, IReadOnlyList<string> experimentPatterns, IReadOnlyList<string> forcedStages,
        MetricKinds? kinds = null)
    {
        kinds ??= MetricKinds.Default;
        foreach (var stage in forcedStages) Stages.Canonical(stage, "force-stage");
        var ws = Workspace.At(root, option("cache"), option("figures"));
        var patterns = experimentPatterns.Count == 0 ? ["experiments/default.yaml"] : experimentPatterns;
        // Every file is read before any error is raised, so one run reports the problems of all of them.
        var experiments = new List<Experiment>();
        var problems = new List<ConfigException>();
        foreach (var path in ExperimentPaths.Resolve(patterns, ws.Root))
        {
            try { experiments.Add(ExperimentLoader.Load(path, kinds.Settings)); }
            catch (ConfigException e) { problems.Add(e); }
        }
        if (problems.Count > 0) throw problems.Count == 1 ? problems[0] : new ConfigException(problems);
        var names = experiments.GroupBy(e => e.Name).FirstOrDefault(g => g.Count() > 1);
        if (names is not null)
            throw new ConfigException($"{names.Last().SourcePath}:1:1: experiment name '{names.Key}' is also used by {names.First().SourcePath} — give each experiment its own name");
        var settings = RunSettings.Check(option, experiments);
        using (var context = kinds.AttachTo(new RunContext(ws, experiments, TextWriter.Null))) Stages.Validate(context);
        return new RunInputs(ws, experiments, settings, kinds);
    }
}
