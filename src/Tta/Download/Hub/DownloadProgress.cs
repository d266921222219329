using System.Diagnostics;
using System.Globalization;

namespace Tta.Download.Hub;

/// <summary>
/// Progress of one snapshot download: bytes, rate and ETA over all files. On a terminal one line is redrawn
/// (<c>\r</c>) a few times a second; otherwise a plain line is written every <c>interval</c>. Nothing is written
/// when nothing is downloaded. Thread-safe: file downloads report concurrently.
/// </summary>
internal sealed class DownloadProgress : IDisposable
{
    private readonly TextWriter? _writer;
    private readonly bool _live;
    private readonly string _label;
    private readonly TimeSpan _interval;
    private readonly Lock _lock = new();
    private readonly Stopwatch _clock = new();
    private Timer? _timer;
    private long _total;       // bytes of all files being downloaded (resumed parts included)
    private long _done;        // bytes of those files now on disk
    private long _fetched;     // bytes received in this session (for the rate)
    private int _files;
    private int _filesDone;
    private int _lastWidth;
    private bool _disposed;

    public DownloadProgress(TextWriter? writer, bool live, string label, TimeSpan interval)
    {
        _writer = writer;
        _live = live;
        _label = label;
        _interval = interval <= TimeSpan.Zero ? TimeSpan.FromSeconds(10) : interval;
    }

    /// <summary>A file download starts: <paramref name="size"/> bytes in all (if known), <paramref name="present"/> already on disk.</summary>
    public void FileStarted(long? size, long present)
    {
        lock (_lock)
        {
            _files++;
            _total += size ?? 0;
            Interlocked.Add(ref _done, present);
            if (_timer is null && _writer is not null && !_disposed)
            {
                _clock.Start();
                var period = _live ? TimeSpan.FromMilliseconds(250) : _interval;
                _timer = new Timer(_ => Print(final: false), null, period, period);
            }
        }
    }

    public void Received(long bytes)
    {
        Interlocked.Add(ref _done, bytes);
        Interlocked.Add(ref _fetched, bytes);
    }

    /// <summary>A fetch restarts from zero (server ignored the range, or a checksum mismatch): its bytes are gone.</summary>
    public void Discarded(long bytes) => Interlocked.Add(ref _done, -bytes);

    /// <summary>The size becomes known only from the GET response.</summary>
    public void SizeLearned(long bytes) { lock (_lock) _total += bytes; }

    public void FileFinished() => Interlocked.Increment(ref _filesDone);

    /// <summary>A one-off message (retries, checksum mismatches) on its own line.</summary>
    public void Note(string message)
    {
        if (_writer is null) return;
        lock (_lock)
        {
            if (_disposed) return;
            ClearLiveLine();
            _writer.WriteLine($"{_label}: {message}");
            _writer.Flush();
        }
    }

    public void Dispose()
    {
        Timer? timer;
        lock (_lock)
        {
            if (_disposed) return;
            timer = _timer;
            _timer = null;
        }
        timer?.Dispose();
        Print(final: true);
        lock (_lock) _disposed = true;
    }

    private void Print(bool final)
    {
        if (_writer is null) return;
        lock (_lock)
        {
            if (_disposed || _files == 0) return;
            if (!final && _timer is null) return;
            var elapsed = Math.Max(_clock.Elapsed.TotalSeconds, 1e-3);
            var fetched = Interlocked.Read(ref _fetched);
            var done = Interlocked.Read(ref _done);
            var rate = fetched / elapsed;
            string line;
            if (final)
            {
                line = $"{_label}: downloaded {_filesDone}/{_files} files, {Bytes(fetched)} in {Duration(elapsed)} ({Bytes(rate)}/s)";
            }
            else
            {
                var total = Math.Max(_total, done);
                var pct = total > 0 ? 100.0 * done / total : 0;
                var eta = rate > 0 ? Duration((total - done) / rate) : "?";
                line = string.Create(CultureInfo.InvariantCulture,
                    $"{_label}: {Bytes(done)} / {Bytes(total)} ({pct:0}%), {Bytes(rate)}/s, ETA {eta}, {_filesDone}/{_files} files");
            }
            if (_live && !final)
            {
                var pad = Math.Max(0, _lastWidth - line.Length);
                _writer.Write("\r" + line + new string(' ', pad));
                _lastWidth = line.Length;
            }
            else
            {
                ClearLiveLine();
                _writer.WriteLine(line);
            }
            _writer.Flush();
        }
    }

    private void ClearLiveLine()
    {
        if (!_live || _lastWidth == 0) return;
        _writer!.Write("\r" + new string(' ', _lastWidth) + "\r");
        _lastWidth = 0;
    }

    internal static string Bytes(double bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        var unit = 0;
        while (Math.Abs(bytes) >= 1024 && unit < units.Length - 1) { bytes /= 1024; unit++; }
        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes:0} B")
            : string.Create(CultureInfo.InvariantCulture, $"{bytes:0.0} {units[unit]}");
    }

    internal static string Duration(double seconds)
    {
        if (double.IsNaN(seconds) || double.IsInfinity(seconds) || seconds > 99 * 3600) return "?";
        var t = TimeSpan.FromSeconds(Math.Round(seconds, seconds < 10 ? 1 : 0));
        if (t.TotalHours >= 1) return $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}";
        if (seconds < 10) return string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:0.0}s");
        return $"{t.Minutes}:{t.Seconds:00}";
    }
}
