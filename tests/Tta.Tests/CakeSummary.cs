using System.Text.RegularExpressions;

namespace Tta.Tests;

/// <summary>
/// The task table Cake prints at the end of a run (Task, Duration, Status, Skip Reason), read by its columns: Cake
/// wraps cells to the console width (80 when output is redirected), so <c>Extract-Activations</c> may arrive as
/// <c>Extract-Activatio</c> and, on the next line, <c>ns</c>.
/// </summary>
public static partial class CakeSummary
{
    /// <summary>Task name → status (Succeeded, Skipped, Failed…) of the last summary table in <paramref name="output"/>.</summary>
    public static IReadOnlyDictionary<string, string> Statuses(string output)
    {
        var lines = Ansi().Replace(output, "").Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        var header = lines.FindLastIndex(l => Header().IsMatch(l));
        if (header < 0) return new Dictionary<string, string>();
        var (task, duration, status) = (lines[header].IndexOf("Task", StringComparison.Ordinal),
            lines[header].IndexOf("Duration", StringComparison.Ordinal), lines[header].IndexOf("Status", StringComparison.Ordinal));
        var reason = lines[header].IndexOf("Skip Reason", StringComparison.Ordinal);
        string Cell(string line, int from, int to) =>
            from >= line.Length ? "" : line[from..Math.Min(to < 0 ? line.Length : to, line.Length)].Trim();
        var rows = new List<(string Task, string Status)>();
        foreach (var line in lines.Skip(header + 1))
        {
            if (line.TrimStart().StartsWith("Total:", StringComparison.Ordinal)) break;
            if (line.Trim().Length == 0 || line.Trim().All(c => c == '━' || c == '─')) continue;
            var (name, state) = (Cell(line, task, duration), Cell(line, status, reason));
            if (Cell(line, duration, status).Length > 0 || state.Length > 0) rows.Add((name, state));
            else if (rows.Count > 0) rows[^1] = (rows[^1].Task + name, rows[^1].Status); // a wrapped name goes on
        }
        return rows.GroupBy(r => r.Task).ToDictionary(g => g.Key, g => g.Last().Status);
    }

    [GeneratedRegex(@"\x1b\[[0-9;]*m")]
    private static partial Regex Ansi();

    [GeneratedRegex(@"^\s+Task\s+Duration\s+Status")]
    private static partial Regex Header();
}
