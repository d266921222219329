using System.Collections.Concurrent;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Xunit.Abstractions;

namespace Tta.Tests;

/// <summary>
/// The library's folders are layers (src/README.md draws them): a file may use types of its own folder and of the
/// folders below it, never of a folder above. The sources are bound with Roslyn, so every type a file names, calls,
/// constructs or inherits counts, also through <c>var</c>, extension methods and attributes.
/// </summary>
[Trait("Lane", "Full")]
public class LayeringTests(ITestOutputHelper output)
{
    /// <summary>The folders of src/Tta, bottom to top (sub-folders belong to their top folder's layer).</summary>
    public static readonly IReadOnlyList<string> Layers =
    [
        "Core", "Tokenizers", "Models", "Store", "Config", "Cache", "Download", "Extract", "Figures", "Explorer", "Metrics",
        "Pipeline", "Execution", "Archive",
    ];

    public sealed record Violation(string File, int Line, string FromLayer, string ToLayer, string Type)
    {
        public override string ToString() => $"{File}:{Line}: {FromLayer} uses {Type} of {ToLayer}, a layer above it";
    }

    /// <summary>The layer of a path under src/Tta (its first folder), or null for a file at the top of src/Tta.</summary>
    public static string? LayerOf(string path)
    {
        var parts = Path.GetRelativePath(Path.Combine(Repo.Root, "src", "Tta"), Path.GetFullPath(path, Repo.Root))
            .Split(Path.DirectorySeparatorChar);
        return parts.Length > 1 ? parts[0] : null;
    }

    /// <summary>Every reference from a file of one layer to a type declared in a layer above it.</summary>
    public static IReadOnlyList<Violation> Scan(Compilation compilation)
    {
        var rank = Layers.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i);
        var found = new ConcurrentBag<Violation>();
        Parallel.ForEach(compilation.SyntaxTrees, tree =>
        {
            if (LayerOf(tree.FilePath) is not { } from || !rank.TryGetValue(from, out var fromRank)) return;
            var model = compilation.GetSemanticModel(tree);
            foreach (var name in tree.GetRoot().DescendantNodes().OfType<SimpleNameSyntax>())
            {
                foreach (var type in TypesOf(model.GetSymbolInfo(name)))
                {
                    var declared = type.OriginalDefinition.Locations.FirstOrDefault(l => l.IsInSource)?.SourceTree?.FilePath;
                    if (declared is null || LayerOf(declared) is not { } to || !rank.TryGetValue(to, out var toRank) || toRank <= fromRank) continue;
                    found.Add(new Violation(tree.FilePath, name.GetLocation().GetLineSpan().StartLinePosition.Line + 1, from, to, type.ToDisplayString()));
                }
            }
        });
        return [.. found.Distinct().OrderBy(v => v.File, StringComparer.Ordinal).ThenBy(v => v.Line)];
    }

    /// <summary>The source types a bound name stands for: the type itself, or the type that declares the member.</summary>
    private static IEnumerable<INamedTypeSymbol> TypesOf(SymbolInfo info)
    {
        foreach (var symbol in info.Symbol is { } s ? [s] : info.CandidateSymbols)
        {
            switch (symbol)
            {
                case INamedTypeSymbol type: yield return type; break;
                case IMethodSymbol { ReducedFrom: { } extension }: yield return extension.ContainingType; break;
                case { ContainingType: { } owner }: yield return owner; break;
            }
        }
    }

    private static IEnumerable<(string Path, string Text)> LibrarySources() =>
        Directory.EnumerateFiles(Path.Combine(Repo.Root, "src", "Tta"), "*.cs", SearchOption.AllDirectories)
            .Where(f => LayerOf(f) is not ("bin" or "obj"))
            .Order(StringComparer.Ordinal)
            .Select(f => (f, File.ReadAllText(f)));

    private static CSharpCompilation Library(params (string Path, string Text)[] extra) =>
        ScalarUseFinder.Compile("Tta", LibrarySources().Concat(extra));

    [Fact]
    public void EveryFileOfTheLibraryLivesInALayerFolder()
    {
        var outside = LibrarySources().Select(s => Path.GetRelativePath(Repo.Root, s.Path))
            .Where(p => LayerOf(p) is not { } layer || !Layers.Contains(layer)).ToList();
        Assert.True(outside.Count == 0,
            "files outside the layer folders (add the folder to LayeringTests.Layers and src/README.md, or move the file):\n" + string.Join("\n", outside));
    }

    [Fact]
    public void NoReferenceRunsUpALayer()
    {
        var compilation = Library();
        // Every name must bind; CS0165 (unassigned local) comes from out parameters of partial methods whose bodies a
        // source generator writes (LibraryImport), which this compilation does not run.
        var errors = ScalarUseFinder.Errors(compilation).Where(e => !e.Contains("CS0165", StringComparison.Ordinal)).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        var violations = Scan(compilation);
        foreach (var group in violations.GroupBy(v => (v.FromLayer, v.ToLayer)))
            output.WriteLine($"{group.Key.FromLayer} → {group.Key.ToLayer}: {group.Count()}");
        Assert.True(violations.Count == 0, $"{violations.Count} references run up a layer:\n" + string.Join("\n", violations.Select(v => v with { File = Path.GetRelativePath(Repo.Root, v.File) })));
    }

    [Fact]
    public void AnInjectedBackwardReferenceIsFound()
    {
        // A Core file that names the top layer's archive type, and a Models file that calls up through a method only.
        var core = Path.Combine(Repo.Root, "src", "Tta", "Core", "Injected.cs");
        var models = Path.Combine(Repo.Root, "src", "Tta", "Models", "InjectedToo.cs");
        var top = Library().GetSymbolsWithName(_ => true, SymbolFilter.Type).OfType<INamedTypeSymbol>()
            .First(t => t.Locations.Any(l => l.IsInSource && LayerOf(l.SourceTree!.FilePath) == Layers[^1]) && t.DeclaredAccessibility != Accessibility.Private);
        var violations = Scan(Library(
            (core, $"namespace Tta.Core; static class Injected {{ static string Name => nameof({top.ToDisplayString()}); }}"),
            (models, $"namespace Tta.Models; static class InjectedToo {{ static object Make() => typeof({top.ToDisplayString()}); }}")));
        Assert.Contains(violations, v => v.File == core && v.ToLayer == Layers[^1]);
        Assert.Contains(violations, v => v.File == models && v.ToLayer == Layers[^1]);
    }

    [Fact]
    public void SrcReadmeDrawsEveryLayer()
    {
        var readme = File.ReadAllText(Path.Combine(Repo.Root, "src", "README.md"));
        var missing = Layers.Where(l => !readme.Contains(l, StringComparison.Ordinal)).ToList();
        Assert.True(missing.Count == 0, "src/README.md does not name: " + string.Join(", ", missing));
        var folders = Directory.GetDirectories(Path.Combine(Repo.Root, "src", "Tta")).Select(Path.GetFileName)
            .Where(f => f is not ("bin" or "obj")).ToList();
        Assert.Empty(folders.Except(Layers));
    }
}
