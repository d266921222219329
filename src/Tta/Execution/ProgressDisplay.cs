using Tta.Core;

namespace Tta.Execution;

/// <summary>
/// Shows what the running units are doing. On a terminal: a live block under the log, one line per running unit,
/// redrawn every second, with log lines written above it. Elsewhere (logs, CI): a plain <c>progress:</c> line per
/// unit that has run longer than the interval, every interval (30 s by default, <c>TTA_PROGRESS_SECONDS</c>), so a
/// long Extract is never silent. Written here rather than with Spectre.Console's live display, which must own the
/// console and cannot have parallel units' log lines written around it.
/// </summary>
public sealed class ProgressDisplay : IProgressDisplay
{
    private readonly object gate = new();
    private readonly List<IUnitProgress> running = [];
    private readonly TextWriter output;
    private readonly bool live;
    private readonly TimeSpan interval;
    private readonly Timer timer;
    private int shownLines;

    public ProgressDisplay(TextWriter output, bool live, TimeSpan? interval = null)
    {
        this.output = output;
        this.live = live;
        this.interval = interval ?? (double.TryParse(Environment.GetEnvironmentVariable("TTA_PROGRESS_SECONDS"),
            System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var s) && s > 0
            ? TimeSpan.FromSeconds(s) : TimeSpan.FromSeconds(30));
        var period = live ? TimeSpan.FromSeconds(1) : this.interval;
        timer = new Timer(_ => Tick(), null, period, period);
        Log = live ? new AboveWriter(this) : output;
    }

    /// <summary>Live on an interactive terminal (<see cref="LiveConsole.ConsoleIsLive"/>).</summary>
    public static bool ConsoleIsLive => LiveConsole.ConsoleIsLive;

    /// <summary>Where the run's log lines go: above the live block on a terminal, else straight to the output.</summary>
    public TextWriter Log { get; }

    public void Started(IUnitProgress unit)
    {
        lock (gate) running.Add(unit);
    }

    public void Finished(IUnitProgress unit)
    {
        lock (gate)
        {
            running.Remove(unit);
            if (live) Redraw();
        }
    }

    private void Tick()
    {
        lock (gate)
        {
            if (live)
            {
                Redraw();
                return;
            }
            foreach (var unit in running)
                output.WriteLine("progress: " + unit.Describe());
            output.Flush();
        }
    }

    /// <summary>Clears the live block (the cursor ends where it began).</summary>
    private void Clear()
    {
        for (var i = 0; i < shownLines; i++) output.Write("\u001b[1A\u001b[2K");
        shownLines = 0;
    }

    private void Redraw()
    {
        Clear();
        foreach (var unit in running)
            output.WriteLine("  " + unit.Describe());
        shownLines = running.Count;
        output.Flush();
    }

    public void Dispose()
    {
        timer.Dispose();
        lock (gate)
        {
            if (live) Clear();
            running.Clear();
            output.Flush();
        }
    }

    /// <summary>Writes whole lines above the live block.</summary>
    private sealed class AboveWriter(ProgressDisplay display) : TextWriter
    {
        private readonly System.Text.StringBuilder pending = new();

        public override System.Text.Encoding Encoding => display.output.Encoding;

        public override void Write(char value)
        {
            lock (display.gate)
            {
                if (value != '\n')
                {
                    pending.Append(value);
                    return;
                }
                display.Clear();
                display.output.WriteLine(pending.ToString());
                pending.Clear();
                display.Redraw();
            }
        }

        public override void Write(string? value)
        {
            if (value is null) return;
            // One lock for the whole string, so lines that units write at the same time never mix.
            lock (display.gate)
                foreach (var c in value) Write(c);
        }

        public override void WriteLine(string? value) => Write((value ?? "") + "\n");
    }
}
