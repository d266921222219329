using System.Text;
using Tta.Core;

namespace Tta.Execution.Slurm;

/// <summary>
/// The files a job array runs: one bash script per task (its units' command line, runnable by hand to rerun them;
/// its header names each unit) and one array script that picks the task script by SLURM_ARRAY_TASK_ID. Every value is single-quoted, so
/// nothing in a key, path or argument is expanded by the shell.
/// </summary>
internal static class SlurmScripts
{
    public static string TaskScriptPath(string directory, int taskNumber) =>
        Path.Combine(directory, $"task-{taskNumber}.sh");

    public static void WriteTask(string path, SlurmTask task, string workingDirectory)
    {
        var text = new StringBuilder()
            .Append("#!/bin/bash\n")
            .Append(string.Concat(task.Units.Select(u => $"# tta unit: {OneLine(u)}\n")))
            .Append("cd ").Append(Quote(workingDirectory)).Append(" || exit 1\n")
            .Append("exec ").Append(string.Join(' ', task.Command.Select(Quote))).Append('\n');
        AtomicFile.WriteAllText(path, text.ToString());
    }

    /// <summary>The batch script of one array: task i runs task-(i + offset).sh beside it.</summary>
    public static void WriteArray(string path, string directory, string stage, int offset)
    {
        var text = new StringBuilder()
            .Append("#!/bin/bash\n")
            .Append("# tta stage ").Append(OneLine(stage)).Append(": array task i runs task-(i + ").Append(offset)
            .Append(").sh\n")
            .Append("exec /bin/bash ").Append(Quote(directory)).Append("/task-$((SLURM_ARRAY_TASK_ID + ").Append(offset)
            .Append(")).sh\n");
        AtomicFile.WriteAllText(path, text.ToString());
    }

    /// <summary>POSIX shell quoting: plain words stay as they are, anything else goes in single quotes.</summary>
    public static string Quote(string value)
    {
        if (value.Length > 0 && value.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,@%+".Contains(c)))
            return value;
        return "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
