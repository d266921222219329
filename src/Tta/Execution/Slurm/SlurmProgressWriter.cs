namespace Tta.Execution.Slurm;

/// <summary>
/// Shows a run's <see cref="SlurmSummary"/>: on a terminal one live line rewritten in place; in logs and CI plain
/// lines, written when the counts change but at most once per interval (a new failure is written at once).
/// </summary>
public sealed class SlurmProgressWriter(TextWriter writer, bool live, TimeSpan? plainInterval = null,
    TimeProvider? clock = null)
{
    private readonly TimeSpan _interval = plainInterval ?? TimeSpan.FromSeconds(30);
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private string? _shown;
    private string? _written;
    private int _failed;
    private DateTimeOffset _writtenAt;

    /// <summary>Live on an interactive terminal, plain lines elsewhere: the rule of <see cref="ProgressDisplay.ConsoleIsLive"/>.</summary>
    public static SlurmProgressWriter ForConsole() => new(Console.Out, live: ProgressDisplay.ConsoleIsLive);

    public void Report(SlurmSummary summary)
    {
        var text = summary.ToString();
        if (live)
        {
            if (text != _shown)
                writer.Write("\r\u001b[2K" + text);
            _shown = text;
        }
        else if (text != _written && (_written is null || summary.Failed > _failed || _clock.GetUtcNow() - _writtenAt >= _interval))
        {
            WriteLine(text, summary.Failed);
        }
        writer.Flush();
    }

    /// <summary>The final counts, always shown, ending the live line.</summary>
    public void Finish(SlurmSummary summary)
    {
        var text = summary.ToString();
        if (live)
        {
            writer.WriteLine("\r\u001b[2K" + text);
            _shown = null;
        }
        else if (text != _written)
        {
            WriteLine(text, summary.Failed);
        }
        writer.Flush();
    }

    private void WriteLine(string text, int failed)
    {
        writer.WriteLine(text);
        _written = text;
        _failed = failed;
        _writtenAt = _clock.GetUtcNow();
    }
}
