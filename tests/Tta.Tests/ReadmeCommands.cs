using System.Text.RegularExpressions;
using Markdig;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;

namespace Tta.Tests;

/// <summary>
/// The <c>./build.sh …</c> commands a Markdown document shows: lines of its code blocks (fenced or indented) and its
/// inline code spans, in tables and prose alike, parsed by Markdig (CommonMark with pipe tables).
/// </summary>
public static partial class ReadmeCommands
{
    public const string Prefix = "./build.sh";

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
