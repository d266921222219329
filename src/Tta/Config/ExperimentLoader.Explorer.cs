using YamlDotNet.RepresentationModel;

namespace Tta.Config;

public static partial class ExperimentLoader
{
    private static readonly string[] ExplorerKeys = ["texts"];

    // The explorer: section.
    private sealed partial class Reader
    {
        private ExplorerSpec ReadExplorer(YamlEntry? section, IReadOnlyList<TextSpec> texts)
        {
            if (section is null || IsNull(section.Value)) return ExplorerSpec.Default;
            var f = Fields(section.Value, "'explorer'", ExplorerKeys, "write 'explorer:' with 'texts: 5' or 'texts: [key, …]'");
            if (!f.TryGetValue("texts", out var entry) || IsNull(entry.Value)) return ExplorerSpec.Default;
            var node = entry.Value;
            var at = At(section.Value);
            if (node is YamlScalarNode)
            {
                var first = Int(node, "explorer.texts");
                if (first <= 0)
                    throw Error(node, $"explorer.texts must be positive, got {first}",
                        $"give how many texts the page shows (the first N; default {ExplorerSpec.DefaultFirst}) or a list of text keys");
                return new ExplorerSpec(first, null, at);
            }
            var keys = StringList(node, "texts", null, "a number (the first N texts) or a list of text keys, e.g. [prose, sents-3]");
            // Unknown keys are reported when the texts were read (else their own problems are reported instead).
            if (texts.Count > 0)
            {
                var known = texts.Select(t => t.Key).ToList();
                foreach (var (key, item) in keys.Zip(((YamlSequenceNode)node).Children))
                    if (!known.Contains(key, StringComparer.Ordinal))
                    {
                        var guess = Suggestions.Closest(key, known);
                        Report(Error(item, $"explorer.texts names '{key}', which is no text of the experiment",
                            guess is null ? "use the key of a text (a text's name, or <corpus name>-<row> for a corpus row)" : $"did you mean '{guess}'?"));
                    }
            }
            return new ExplorerSpec(null, keys, at);
        }
    }
}
