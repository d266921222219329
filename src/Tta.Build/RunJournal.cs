using System.Text.Json;
using System.Text.Json.Serialization;
using Tta.Core;

namespace Tta.Build;

/// <summary>
/// What one ./build.sh run knows about its stages, kept in a file that the Cake process and its tta-cli children
/// share: per stage, whether it had stale units when the run was planned, and, once the one <c>tta-cli run</c> that
/// builds every stale stage through the target gets there, whether the stage finished (how many units ran) or failed.
/// The Cake stage tasks read it: their criteria from the plan (no process per stage), and each waits for its own
/// stage (<see cref="WaitFor"/>), so Cake's summary books each stage its own time and a failure to its stage.
/// </summary>
public sealed class RunJournal
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, Converters = { new JsonStringEnumConverter() } };
    private static readonly object WriteGate = new();

    public Dictionary<string, StageEntry> Stages { get; init; } = new(StringComparer.Ordinal);

    public enum StageState { Waiting, Finished, Failed }

    public sealed class StageEntry
    {
        /// <summary>Had stale units when the run was planned.</summary>
        public bool Stale { get; set; }
        public int Units { get; set; }
        public int StaleUnits { get; set; }
        public StageState State { get; set; }
        /// <summary>Units of the stage that ran (the rest were up to date when reached).</summary>
        public int UnitsRun { get; set; }
    }

    public bool IsStale(string stage) => Stages.TryGetValue(stage, out var s) && s.Stale;

    public StageEntry this[string stage] => Stages.TryGetValue(stage, out var s) ? s : Stages[stage] = new StageEntry();

    public static RunJournal Read(string path) =>
        File.Exists(path) ? JsonSerializer.Deserialize<RunJournal>(File.ReadAllText(path), Json) ?? new RunJournal() : new RunJournal();

    public void Write(string path) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, Json) + "\n");

    /// <summary>Records a stage's end in the journal at <paramref name="path"/> (a stage already recorded keeps its state).</summary>
    public static void Record(string path, string stage, StageState state, int unitsRun = 0)
    {
        lock (WriteGate)
        {
            var journal = Read(path);
            if (journal[stage].State != StageState.Waiting) return;
            journal[stage].State = state;
            journal[stage].UnitsRun = unitsRun;
            journal.Write(path);
        }
    }

    /// <summary>How a stage ended, as its Cake task reports it.</summary>
    /// <param name="Ok">finished; else failed or interrupted (<paramref name="ExitCode"/> is then the run's).</param>
    public sealed record StageOutcome(bool Ok, int ExitCode, string Message);

    /// <summary>
    /// Waits until the journal at <paramref name="path"/> records <paramref name="stage"/> finished or failed, or the
    /// run process ends without saying. <paramref name="waitForExit"/> waits up to the given time for the run
    /// process and returns its exit code once it has ended (null while it runs). After a failure it waits for the
    /// process to end, so its error is printed before Cake's summary.
    /// </summary>
    public static StageOutcome WaitFor(string path, string stage, Func<TimeSpan, int?> waitForExit)
    {
        while (true)
        {
            var exit = waitForExit(TimeSpan.FromMilliseconds(100));
            var entry = Read(path)[stage];
            if (entry.State == StageState.Finished)
                return new StageOutcome(true, 0, entry.UnitsRun == 0 ? $"{stage}: every unit was up to date when reached" : $"{stage}: {entry.UnitsRun} unit(s) built");
            if (entry.State == StageState.Failed || exit is not null)
            {
                var code = exit ?? waitForExit(Timeout.InfiniteTimeSpan) ?? 1;
                if (entry.State == StageState.Waiting && code == 0) return new StageOutcome(true, 0, $"{stage}: done");
                return code is 130 or 143
                    ? new StageOutcome(false, code, $"{stage} was interrupted (see what the run said above)")
                    : new StageOutcome(false, code == 0 ? 1 : code, $"{stage} failed (exit {code}; the error is above)");
            }
        }
    }
}
