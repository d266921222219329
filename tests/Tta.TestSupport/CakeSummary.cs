using System.Globalization;
using System.Text.RegularExpressions;

namespace Tta.Tests;

/// <summary>
/// The task table Cake prints at the end of a run (Task, Duration, Status, Skip Reason), read by its columns: Cake
/// wraps cells to the console width (80 when output is redirected), so <c>Extract-Activations</c> may arrive as
/// <c>Extract-Activatio</c> and, on the next line, <c>ns</c>. Durations read as Cake prints them (hh:mm:ss.fffffff).
/// </summary>
public static partial class CakeSummary
{
    /// <summary>Task name → status (Succeeded, Skipped, Failed…) of the last summary table in <paramref name="output"/>.</summary>
    public static IReadOnlyDictionary<string, string> Statuses(string output) =>
        Rows(output).ToDictionary(r => r.Key, r => r.Value.Status);

    /// <summary>Task name → duration of the last summary table (tasks that ran; a skipped task shows "-").</summary>
    public static IReadOnlyDictionary<string, TimeSpan> Durations(string output) =>
        Rows(output).Where(r => TimeSpan.TryParse(r.Value.Duration, CultureInfo.InvariantCulture, out _))
            .ToDictionary(r => r.Key, r => TimeSpan.Parse(r.Value.Duration, CultureInfo.InvariantCulture));

    private static Dictionary<string, (string Duration, string Status)> Rows(string output)
    {
        var lines = Ansi().Replace(output, "").Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        var header = lines.FindLastIndex(l => Header().IsMatch(l));
        if (header < 0) return [];
        var (task, duration, status) = (lines[header].IndexOf("Task", StringComparison.Ordinal),
            lines[header].IndexOf("Duration", StringComparison.Ordinal), lines[header].IndexOf("Status", StringComparison.Ordinal));
        var reason = lines[header].IndexOf("Skip Reason", StringComparison.Ordinal);
        string Cell(string line, int from, int to) =>
            from >= line.Length ? "" : line[from..Math.Min(to < 0 ? line.Length : to, line.Length)].Trim();
        var rows = new List<(string Task, string Duration, string Status)>();
        foreach (var line in lines.Skip(header + 1))
        {
            if (line.TrimStart().StartsWith("Total:", StringComparison.Ordinal)) break;
            if (line.Trim().Length == 0 || line.Trim().All(c => c == '━' || c == '─')) continue;
            var (name, time, state) = (Cell(line, task, duration), Cell(line, duration, status), Cell(line, status, reason));
            if (time.Length > 0 || state.Length > 0) rows.Add((name, time, state));
            else if (rows.Count > 0) rows[^1] = (rows[^1].Task + name, rows[^1].Duration, rows[^1].Status); // a wrapped name goes on
        }
        return rows.GroupBy(r => r.Task).ToDictionary(g => g.Key, g => (g.Last().Duration, g.Last().Status));
    }

    [GeneratedRegex(@"\x1b\[[0-9;]*m")]
    private static partial Regex Ansi();

    [GeneratedRegex(@"^\s+Task\s+Duration\s+Status")]
    private static partial Regex Header();
}
