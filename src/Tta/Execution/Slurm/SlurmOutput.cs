using System.Globalization;
using System.Text.RegularExpressions;

namespace Tta.Execution.Slurm;

/// <summary>Reads what sbatch, squeue and scontrol print.</summary>
public static partial class SlurmOutput
{
    /// <summary>The squeue --Format fields <see cref="ParseQueue"/> reads, '|'-separated.</summary>
    public const string QueueFormat = "ArrayJobID:|,ArrayTaskID:|,State:|,Reason:|,NodeList:|";

    /// <summary>sbatch --parsable prints "JOBID" or "JOBID;CLUSTER".</summary>
    public static string ParseJobId(string sbatchStdout)
    {
        var id = sbatchStdout.Trim().Split(';', 2)[0].Trim();
        if (id.Length == 0 || !id.All(char.IsAsciiDigit))
            throw new SlurmException($"sbatch --parsable printed '{sbatchStdout.Trim()}', not a job id");
        return id;
    }

    /// <summary>squeue --noheader --array --Format=<see cref="QueueFormat"/>: one line per task.</summary>
    public static IReadOnlyList<SlurmQueueEntry> ParseQueue(string squeueStdout)
    {
        var entries = new List<SlurmQueueEntry>();
        foreach (var line in squeueStdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var fields = line.Split('|');
            if (fields.Length < 4)
                throw new SlurmException($"squeue printed '{line}', not ARRAYJOBID|TASKID|STATE|REASON");
            // Tasks not yet split off a pending array can still show as a range ("0-2", "4,6-9%2").
            var node = fields.Length > 4 ? NodeName(fields[4]) : "";
            foreach (var index in ExpandIndices(fields[1]))
                entries.Add(new SlurmQueueEntry(fields[0].Trim(), index, fields[2].Trim(), fields[3].Trim(), node));
        }
        return entries;
    }

    /// <summary>"3", "0-2", "1,4-6" or "0-99%4" (a concurrency limit) as the indices they name.</summary>
    public static IEnumerable<int> ExpandIndices(string text)
    {
        var spec = text.Trim().Split('%', 2)[0];
        foreach (var part in spec.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var range = part.Split(':', 2)[0].Split('-', 2); // "0-10:2" steps are not used by tta; the range still bounds it
            if (!int.TryParse(range[0], NumberStyles.None, CultureInfo.InvariantCulture, out var first))
                throw new SlurmException($"unexpected array task id '{text}'");
            var last = first;
            if (range.Length == 2 && !int.TryParse(range[1], NumberStyles.None, CultureInfo.InvariantCulture, out last))
                throw new SlurmException($"unexpected array task id '{text}'");
            for (var i = first; i <= last; i++)
                yield return i;
        }
    }

    /// <summary>scontrol --oneliner show job: one record per line, KEY=VALUE fields separated by spaces.</summary>
    public static IReadOnlyList<IReadOnlyDictionary<string, string>> ParseRecords(string scontrolStdout)
    {
        var records = new List<IReadOnlyDictionary<string, string>>();
        foreach (var line in scontrolStdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var record = new Dictionary<string, string>(StringComparer.Ordinal);
            // A field starts where a space is followed by KEY=, so values with spaces (paths) stay whole.
            foreach (var field in FieldStart().Split(line))
            {
                var eq = field.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0)
                    record.TryAdd(field[..eq], field[(eq + 1)..].TrimEnd());
            }
            records.Add(record);
        }
        return records;
    }

    /// <summary>
    /// The node a finished task ran on, from its scontrol record: BatchHost (where the batch script ran), else
    /// NodeList; "" when it never had one.
    /// </summary>
    public static string NodeOf(IReadOnlyDictionary<string, string>? record) =>
        NodeName(record?.GetValueOrDefault("BatchHost")) is { Length: > 0 } host ? host : NodeName(record?.GetValueOrDefault("NodeList"));

    /// <summary>A node list field as printed, or "" for none ("(null)", "None assigned", empty).</summary>
    private static string NodeName(string? text) =>
        text?.Trim() is { Length: > 0 } name && name != "(null)" && !name.StartsWith("None", StringComparison.Ordinal) ? name : "";

    /// <summary>scontrol's ExitCode=CODE:SIGNAL.</summary>
    public static (int Code, int Signal)? ParseExitCode(string? text)
    {
        var parts = text?.Split(':');
        if (parts is not { Length: 2 }
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var code)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var signal))
            return null;
        return (code, signal);
    }

    /// <summary>`scontrol show config` prints "Name = value" lines.</summary>
    public static string? ConfigValue(string scontrolShowConfig, string name)
    {
        foreach (var line in scontrolShowConfig.Split('\n'))
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && line[..eq].Trim() == name)
                return line[(eq + 1)..].Trim();
        }
        return null;
    }

    [GeneratedRegex(@" +(?=[A-Za-z][A-Za-z0-9_/:]*=)")]
    private static partial Regex FieldStart();
}
