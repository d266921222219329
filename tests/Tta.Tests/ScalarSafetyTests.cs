using Microsoft.CodeAnalysis;
using Xunit.Abstractions;

namespace Tta.Tests;

/// <summary>
/// No code in src/ hands libtorch a temporary Scalar (a number met by a tensor: <c>0.5 * t</c>, <c>t.pow(3.0)</c>,
/// <c>arange(n)</c>, …), which a garbage collection can free while libtorch still reads it. The one place allowed to
/// make Scalars is Models/ScalarOps.cs, whose methods own theirs for the whole call. See <see cref="ScalarUseFinder"/>.
/// </summary>
[Trait("Lane", "Full")]
public class ScalarSafetyTests(ITestOutputHelper output)
{
    private static readonly ScalarUseFinder Finder = new();

    private static IEnumerable<(string Path, string Text)> Sources(string project) =>
        Directory.EnumerateFiles(Path.Combine(Repo.Root, "src", project), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                        && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(f => (Path.GetRelativePath(Repo.Root, f), File.ReadAllText(f)));

    [Fact]
    public void TheFinderFlagsEveryWayToMakeATemporaryScalarAndNotTheSafeForms()
    {
        const string code = """
            using TorchSharp;
            using Tta.Models;
            using static TorchSharp.torch;
            static class C
            {
                static void M(Tensor t, Tensor mask, double eps)
                {
                    var a = t * 0.5;                          // operator with a number
                    var b = t.pow(3.0);                       // implicit number -> Scalar
                    var c = arange(5, ScalarType.Int64);      // implicit, in a factory
                    var d = t.clamp_min(1e-12);
                    var e = 0.5.ToScalar();                   // explicit
                    var f = 1.0 - t;
                    t += 1;                                   // compound assignment
                    var g = full(1, 2.0, ScalarType.Float32);
                    var h = t + t;                            // TorchSharp adds with a temporary alpha of 1
                    // safe: owned scalars, tensor-tensor ops, plain doubles TorchSharp passes by value
                    var ok1 = t.Mul(0.5).Pow(3.0).ClampMin(1e-12).MaskedFill(mask, 0.0).Add(t).Squared();
                    var ok2 = t - t * mask / t;
                    var ok3 = nn.functional.layer_norm(t, [4], null, null, eps);
                    var ok4 = ScalarOps.Arange(5, ScalarType.Int64);
                    var ok5 = t.softmax(-1).sum(1).item<float>();
                }
            }
            """;
        var tta = MetadataReference.CreateFromFile(typeof(Tta.Models.ScalarOps).Assembly.Location);
        var compilation = ScalarUseFinder.Compile("Snippet", [("Snippet.cs", code)], [tta]);
        Assert.Empty(ScalarUseFinder.Errors(compilation));
        var findings = Finder.Findings(compilation);
        foreach (var f in findings) output.WriteLine(f.ToString());
        Assert.Equal([8, 9, 10, 11, 12, 13, 14, 15, 16], findings.Select(f => f.Line).Distinct());
        Assert.True(Finder.CreatorCount > 100, $"only {Finder.CreatorCount} TorchSharp methods found to create scalars");
    }

    [Fact]
    public void NoSourceFileMakesATemporaryScalar()
    {
        // Tta.csproj lets tta-bench see the library's internals; the compilation here is told so too.
        var library = ScalarUseFinder.Compile("Tta", Sources("Tta").Append(("InternalsVisibleTo.g.cs",
            """[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("tta-bench")]""")));
        var build = ScalarUseFinder.Compile("Tta.Build", Sources("Tta.Build"), [library.ToMetadataReference()]);
        var cli = ScalarUseFinder.Compile("tta-cli", Sources("Tta.Cli"), [library.ToMetadataReference(), build.ToMetadataReference()], OutputKind.ConsoleApplication);
        // tta-bench compiles tta-cli's QuickExit.cs in as well (Tta.Bench.csproj links it).
        var bench = ScalarUseFinder.Compile("tta-bench", Sources("Tta.Bench").Concat(Sources("Tta.Cli").Where(s => s.Path.EndsWith("QuickExit.cs", StringComparison.Ordinal))),
            [library.ToMetadataReference()], OutputKind.ConsoleApplication);
        var (libraryFindings, libraryUnbound) = Finder.Scan(library);
        var (buildFindings, buildUnbound) = Finder.Scan(build);
        var (cliFindings, cliUnbound) = Finder.Scan(cli);
        var (benchFindings, benchUnbound) = Finder.Scan(bench);
        var unbound = libraryUnbound.Concat(buildUnbound).Concat(cliUnbound).Concat(benchUnbound).ToList();
        Assert.True(unbound.Count == 0, "the sources must bind to be checked:\n" + string.Join("\n", unbound.Take(20)));
        // ScalarOps.cs makes the scalars it owns (ToScalar, disposed after the call or kept for the process); anything
        // else there is checked too.
        var findings = libraryFindings.Concat(buildFindings).Concat(cliFindings).Concat(benchFindings)
            .Where(f => !(Path.GetFileName(f.File) == "ScalarOps.cs" && f.Code.Contains(".ToScalar()", StringComparison.Ordinal))).ToList();
        Assert.True(findings.Count == 0,
            $"{findings.Count} temporary Scalar(s) handed to libtorch; use the owned forms in Models/ScalarOps.cs (t.Mul(0.5), t.Add(u), t.Squared(), t.ClampMin(…), ScalarOps.Arange(…), …):\n"
            + string.Join("\n", findings));
        // the scan saw the code it guards
        Assert.Contains(library.SyntaxTrees, t => t.FilePath.EndsWith("T5.cs", StringComparison.Ordinal));
        Assert.Contains(libraryFindings, f => Path.GetFileName(f.File) == "ScalarOps.cs");
        Assert.Contains(bench.SyntaxTrees, t => t.FilePath.EndsWith("StoreBenchmark.cs", StringComparison.Ordinal));
    }
}
