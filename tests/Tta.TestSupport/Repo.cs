namespace Tta.Tests;

/// <summary>Paths the tests use: the repository root, the reference fixtures in tests/fixtures, and per-test scratch folders.</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    /// <summary>A reference fixture, <paramref name="relative"/> to <c>tests/fixtures/</c> (see its README).</summary>
    public static string Fixture(string relative)
    {
        var path = Path.GetFullPath(Path.Combine(Root, "tests", "fixtures", relative));
        if (!File.Exists(path) && !Directory.Exists(path))
            throw new FileNotFoundException($"reference fixture missing: {path} (tests/fixtures is part of the repository)");
        return path;
    }

    /// <summary>
    /// A new empty folder under this test process's own scratch folder (<c>tta-tests/run-PID</c>), which is removed
    /// when the process exits; folders left by test processes that died are removed when the next one starts.
    /// </summary>
    public static string TempDir()
    {
        var dir = Path.Combine(ScratchRoot.Value, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static readonly Lazy<string> ScratchRoot = new(() =>
    {
        var parent = Path.Combine(Path.GetTempPath(), "tta-tests");
        Directory.CreateDirectory(parent);
        foreach (var old in Directory.EnumerateDirectories(parent))
            if (IsLeftOver(old)) TryDelete(old);
        var root = Path.Combine(parent, $"run-{Environment.ProcessId}");
        Directory.CreateDirectory(root);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(root);
        return root;
    });

    /// <summary>
    /// Whether a scratch folder was left behind: that of a test process that no longer runs, or one of another shape
    /// (made by an older checkout's tests, which may still run) untouched for an hour.
    /// </summary>
    private static bool IsLeftOver(string dir)
    {
        var name = Path.GetFileName(dir);
        if (name.StartsWith("run-", StringComparison.Ordinal) && int.TryParse(name.AsSpan(4), out var pid))
            return !Directory.Exists($"/proc/{pid}");
        return Directory.GetLastWriteTimeUtc(dir) < DateTime.UtcNow.AddHours(-1);
    }

    private static void TryDelete(string dir)
    {
        try { Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static string FindRoot()
    {
        for (var dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
            if (File.Exists(Path.Combine(dir, "build.sh")) && Directory.Exists(Path.Combine(dir, "src")))
                return dir;
        throw new InvalidOperationException("cannot find the repository root above " + AppContext.BaseDirectory);
    }
}
