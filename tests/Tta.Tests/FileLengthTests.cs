namespace Tta.Tests;

/// <summary>
/// No source file of the library is over <see cref="MaxLines"/> lines, so each can be read in one sitting. The named
/// exceptions are architecture files of src/Tta/Models: each is one whole model written out as its reference
/// implementation is, read top to bottom like nanoGPT's model.py.
/// </summary>
public class FileLengthTests
{
    public const int MaxLines = 400;

    /// <summary>The architecture files allowed past the limit, relative to src/Tta.</summary>
    public static readonly IReadOnlyList<string> ArchitectureFiles = ["Models/T5.cs"];

    /// <summary>Every .cs file under <paramref name="root"/> (but bin and obj) over the limit and not an architecture file.</summary>
    public static IReadOnlyList<string> TooLong(string root) =>
    [
        .. Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(f => f.Split('/')[0] is not ("bin" or "obj") && !ArchitectureFiles.Contains(f))
            .Select(f => (File: f, Lines: File.ReadLines(Path.Combine(root, f)).Count()))
            .Where(f => f.Lines > MaxLines)
            .OrderBy(f => f.File, StringComparer.Ordinal)
            .Select(f => $"src/Tta/{f.File}: {f.Lines} lines (at most {MaxLines}; split it by job)"),
    ];

    private static string Library => Path.Combine(Repo.Root, "src", "Tta");

    [Fact]
    public void NoLibraryFileIsOverTheLimit() => Assert.Empty(TooLong(Library));

    [Fact]
    public void EveryExceptionIsAnArchitectureFileOverTheLimit()
    {
        foreach (var file in ArchitectureFiles)
        {
            Assert.StartsWith("Models/", file, StringComparison.Ordinal);
            Assert.True(File.ReadLines(Path.Combine(Library, file)).Count() > MaxLines, $"{file} is within the limit now: drop it from the exceptions");
        }
    }

    [Fact]
    public void AnInjectedLongFileIsFound()
    {
        var root = Repo.TempDir();
        void Write(string file, int lines)
        {
            var path = Path.Combine(root, file);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllLines(path, Enumerable.Repeat("// line", lines));
        }
        Write("Figures/AtTheLimit.cs", MaxLines);
        Write("Models/T5.cs", MaxLines + 300);
        Write("obj/Generated.cs", MaxLines + 1);
        Assert.Empty(TooLong(root));

        Write("Figures/Long.cs", MaxLines + 1);
        Write("Figures/T5.cs", MaxLines + 1); // an architecture's name is no exception outside Models
        Assert.Equal(["src/Tta/Figures/Long.cs: 401 lines (at most 400; split it by job)", "src/Tta/Figures/T5.cs: 401 lines (at most 400; split it by job)"],
            TooLong(root));
    }
}
