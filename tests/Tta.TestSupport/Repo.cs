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

    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "tta-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static string FindRoot()
    {
        for (var dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
            if (File.Exists(Path.Combine(dir, "build.sh")) && Directory.Exists(Path.Combine(dir, "src")))
                return dir;
        throw new InvalidOperationException("cannot find the repository root above " + AppContext.BaseDirectory);
    }
}
