using Tta.Config;

namespace Tta.Execution.Slurm;

/// <summary>
/// Site settings for every job of a run, filled by the caller from CLI options or an experiment's executor: block.
/// Null leaves the cluster's default.
/// </summary>
/// <param name="Partition">--partition</param>
/// <param name="Account">--account</param>
/// <param name="TimeLimit">--time, per task (<see cref="SlurmTimeLimit.Parse"/> reads Slurm's formats)</param>
public sealed record SlurmOptions(string? Partition = null, string? Account = null, TimeSpan? TimeLimit = null);
