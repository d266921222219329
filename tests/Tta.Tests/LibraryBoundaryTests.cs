using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Tta.Bench;

namespace Tta.Tests;

/// <summary>
/// The library (src/Tta, Tta.dll) is the pipeline only: benchmarks, the tokenizer oracle and the tta-cli process harness
/// live in src/Tta.Bench, so no type of the library is a benchmark or an oracle, and no string in its sources reads
/// the repository's tests/ folder, runs apt-get or starts tta-cli.dll. Text that only tells a person what to install
/// ("… (apt-get install fonts-noto-cjk) …") and comments are allowed.
/// </summary>
public partial class LibraryBoundaryTests
{
    /// <summary>The types of <paramref name="assembly"/> whose names say they are benchmarks or oracles.</summary>
    private static List<string> BenchLikeTypes(Assembly assembly) =>
        [.. assembly.GetTypes().Where(t => !t.IsDefined(typeof(System.Runtime.CompilerServices.CompilerGeneratedAttribute)))
            .Where(t => t.Name.EndsWith("Benchmark", StringComparison.Ordinal) || t.Name.EndsWith("Oracle", StringComparison.Ordinal))
            .Select(t => t.FullName!).Order(StringComparer.Ordinal)];

    /// <summary>
    /// Each string literal (and each literal part of an interpolated string) in <paramref name="code"/> that names a
    /// path under tests/, is the command apt-get, or names tta-cli.dll: "path:line: the string".
    /// </summary>
    public static List<string> Problems(string path, string code) =>
        [.. CSharpSyntaxTree.ParseText(code, path: path).GetRoot().DescendantTokens()
            .Where(t => t.IsKind(SyntaxKind.StringLiteralToken) || t.IsKind(SyntaxKind.InterpolatedStringTextToken)
                        || t.IsKind(SyntaxKind.SingleLineRawStringLiteralToken) || t.IsKind(SyntaxKind.MultiLineRawStringLiteralToken))
            .Where(t => Forbidden(t.ValueText))
            .Select(t => $"{path}:{t.GetLocation().GetLineSpan().StartLinePosition.Line + 1}: {t.Text}")];

    private static bool Forbidden(string text) =>
        text == "tests" || TestsPath().IsMatch(text) || AptGetCommand().IsMatch(text) || text.Contains("tta-cli.dll", StringComparison.Ordinal);

    /// <summary>tests/… at the start of a string or after a separator: a path into the repository's tests folder.</summary>
    [GeneratedRegex(@"(^|[/\\""'\s])tests[/\\]")]
    private static partial Regex TestsPath();

    /// <summary>apt-get as the program run: the whole string, or the start of a command line.</summary>
    [GeneratedRegex(@"^\s*(/usr/bin/)?apt-get(\s|$)")]
    private static partial Regex AptGetCommand();

    [Fact]
    public void NoTypeOfTheLibraryIsABenchmarkOrAnOracle() => Assert.Empty(BenchLikeTypes(typeof(Tta.Models.ModelFactory).Assembly));

    [Fact]
    public void TheBenchmarksAndTheOracleAreInTtaBench()
    {
        // What the check above looks for is really found where it lives now, so it would find it in the library too.
        var found = BenchLikeTypes(typeof(FigureBenchmark).Assembly);
        Assert.Equal("tta-bench", typeof(FigureBenchmark).Assembly.GetName().Name);
        foreach (var name in new[] { "FigureBenchmark", "LoadBenchmark", "ModelBenchmark", "ScaleOutBenchmark", "StoreBenchmark", "TokenizerBenchmark", "TokenizerOracle" })
            Assert.Contains($"Tta.Bench.{name}", found);
        Assert.Equal("tta-bench", typeof(CliProcess).Assembly.GetName().Name);
        Assert.Equal("tta-bench", typeof(SyntheticCheckpoint).Assembly.GetName().Name);
    }

    [Fact]
    public void NoLibrarySourceReadsTestsRunsAptGetOrStartsTtaCli()
    {
        var library = Path.Combine(Repo.Root, "src", "Tta");
        var files = Directory.EnumerateFiles(library, "*.cs", SearchOption.AllDirectories)
            .Where(f => !Path.GetRelativePath(library, f).Split(Path.DirectorySeparatorChar).Intersect(["bin", "obj"]).Any()).ToList();
        Assert.True(files.Count > 100, $"only {files.Count} sources found under {library}");
        Assert.Empty(files.SelectMany(f => Problems(Path.GetRelativePath(Repo.Root, f), File.ReadAllText(f))));
    }

    [Fact]
    public void TheSourceCheckFindsEachWayBackAndAllowsAdvice()
    {
        // The moved code's own lines: each one put back into the library is found.
        string[] injected =
        [
            """var dir = Path.Combine(root, "tests", "tokenizer-oracle");""",
            """var fixture = File.ReadAllText($"{root}/tests/fixtures/bert-tiny/case.json");""",
            """var (rc, _, err) = Exec("apt-get", ["install", "-y", "python3-matplotlib"], TimeSpan.FromMinutes(15));""",
            """Process.Start("bash", ["-c", "apt-get install -y snakemake"]);""",
            """public static string CliPath => Path.Combine(AppContext.BaseDirectory, "tta-cli.dll");""",
        ];
        foreach (var line in injected)
            Assert.Single(Problems("Injected.cs", $"class C {{ void M() {{ {line} }} }}"));
        // Advice to a person, comments and names that merely contain the words are not.
        string[] allowed =
        [
            """Console.Error.WriteLine($"Install {package} (apt-get install {package}) for such labels.");""",
            """// Generated by tests/tokenizer-oracle/generate-tables.js""",
            """var latest = "contests/2024"; var self = "tta-cli";""",
        ];
        foreach (var line in allowed)
            Assert.Empty(Problems("Allowed.cs", $"class C {{ void M() {{ {line} }} }}"));
    }
}
