using System.Text.RegularExpressions;
using Markdig;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;

namespace Tta.Tests;

/// <summary>
/// The <c>./build.sh …</c> commands a Markdown document shows: lines of its code blocks (fenced or indented) and its
/// inline code spans, in tables and prose alike, parsed by Markdig (CommonMark with pipe tables); and the repository's
/// documents that show them.
/// </summary>
public static partial class ReadmeCommands
{
    public const string Prefix = "./build.sh";

    /// <summary>The folders whose Markdown documents are read, besides the top README.md.</summary>
    private static readonly string[] DocumentFolders = ["experiments", "src", "tests"];

    /// <summary>Folders of build outputs and installed packages, whose Markdown is not the repository's.</summary>
    private static readonly HashSet<string> SkippedFolders = new(["bin", "obj", "node_modules", "TestResults"], StringComparer.Ordinal);

    /// <summary>
    /// The repository's Markdown documents, relative to <paramref name="root"/> with <c>/</c> separators, in ordinal
    /// order (README.md first): README.md and every <c>*.md</c> under experiments/, src/ and tests/, outside build
    /// outputs, installed packages and hidden folders.
    /// </summary>
    public static IReadOnlyList<string> Documents(string root)
    {
        var documents = new List<string>();
        if (File.Exists(Path.Combine(root, "README.md"))) documents.Add("README.md");
        foreach (var folder in DocumentFolders.Select(f => Path.Combine(root, f)).Where(Directory.Exists))
            documents.AddRange(Directory.EnumerateFiles(folder, "*.md", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(root, f).Replace(Path.DirectorySeparatorChar, '/'))
                .Where(f => !f.Split('/').SkipLast(1).Any(d => d.StartsWith('.') || SkippedFolders.Contains(d))));
        return documents.Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Where each command and snippet is shown: its text (a normalized command, or a snippet as <see cref="Snippets"/>
    /// gives it) → the paths of the documents that show it, in the order of <paramref name="documents"/>.
    /// </summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> WhereShown(IEnumerable<(string Path, string Markdown)> documents)
    {
        var shown = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (path, markdown) in documents)
            foreach (var text in Commands(markdown).Concat(Snippets(markdown)).Distinct(StringComparer.Ordinal))
            {
                if (!shown.TryGetValue(text, out var paths)) shown[text] = paths = [];
                paths.Add(path);
            }
        return shown.ToDictionary(p => p.Key, p => (IReadOnlyList<string>)p.Value, StringComparer.Ordinal);
    }

    /// <summary>Every distinct command, normalized (<see cref="Normalize"/>), in the order the document shows them.</summary>
    public static IReadOnlyList<string> Commands(string markdown) =>
        Snippets(markdown).Where(IsCommand).Select(Normalize).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>Every code span and code-block line of the document, trimmed (the texts a lane entry may name).</summary>
    public static IReadOnlyList<string> Snippets(string markdown)
    {
        var document = Markdown.Parse(markdown, new MarkdownPipelineBuilder().UsePipeTables().Build());
        var snippets = new List<string>();
        foreach (var node in document.Descendants())
        {
            if (node is CodeBlock block)
                snippets.AddRange(block.Lines.ToString().Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0));
            else if (node is LeafBlock { Inline: { } inline })
                snippets.AddRange(inline.Descendants<CodeInline>().Select(c => c.Content.Trim()));
        }
        return snippets;
    }

    private static bool IsCommand(string snippet) =>
        snippet == Prefix || snippet.StartsWith(Prefix + " ", StringComparison.Ordinal);

    /// <summary>A shell comment (<c># …</c> after a space) removed and runs of white space made one space.</summary>
    public static string Normalize(string command)
    {
        var comment = Comment().Match(command);
        if (comment.Success) command = command[..comment.Index];
        return Spaces().Replace(command.Trim(), " ");
    }

    [GeneratedRegex(@"\s+#(\s|$)")]
    private static partial Regex Comment();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();
}
