using System.Text.Json;
using Tta.Cache;

namespace Tta.Execution;

/// <summary>
/// What one ./build.sh run knows about its stages, kept in a file that the Cake process and its tta-cli children
/// share: per stage, whether it had stale units when the run was planned and whether units of it ran since. The
/// Cake stage tasks read it for their criteria (no process per stage), and the one <c>tta-cli run</c> that builds
/// every stale stage through the target records which stages it ran, so the summary shows them as executed.
/// </summary>
public sealed class RunJournal
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public Dictionary<string, StageEntry> Stages { get; init; } = new(StringComparer.Ordinal);

    public sealed class StageEntry
    {
        public bool Stale { get; set; }
        public bool Ran { get; set; }
        public int Units { get; set; }
        public int StaleUnits { get; set; }
    }

    public bool IsStale(string stage) => Stages.TryGetValue(stage, out var s) && s.Stale;

    public bool Ran(string stage) => Stages.TryGetValue(stage, out var s) && s.Ran;

    public StageEntry this[string stage] => Stages.TryGetValue(stage, out var s) ? s : Stages[stage] = new StageEntry();

    public static RunJournal Read(string path) =>
        File.Exists(path) ? JsonSerializer.Deserialize<RunJournal>(File.ReadAllText(path), Json) ?? new RunJournal() : new RunJournal();

    public void Write(string path) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, Json) + "\n");
}
