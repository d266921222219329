namespace Tta.Config;

/// <summary>
/// Where an experiment's units run (<c>executor:</c> in the experiment file; <c>--executor</c>, <c>--partition</c>,
/// <c>--account</c>, <c>--time</c> and <c>--group-size</c> on the command line win): <c>local</c> (this machine, the
/// default) or <c>slurm</c> (job arrays on a Slurm cluster, with the site's partition, account and time limit per task,
/// and at most <see cref="GroupSize"/> units per task).
/// </summary>
public sealed record ExecutorSpec(string Kind, string? Partition, string? Account, string? Time, SourceSpan? At, int? GroupSize = null)
{
    public static readonly ExecutorSpec Local = new("local", null, null, null, null);
}
