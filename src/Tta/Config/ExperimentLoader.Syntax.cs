using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Tta.Config;

public static partial class ExperimentLoader
{
    // YAML syntax errors, tabs in indentation and duplicate keys, found before the representation model is built.
    private sealed partial class Reader
    {
        private ConfigException SyntaxError(YamlException ex, string text)
        {
            var inner = ex.Message;
            var prefix = YamlMarkPrefixRx().Match(inner);
            if (prefix.Success)
                inner = inner[prefix.Length..];
            inner = inner.Trim().TrimEnd('.');
            if (inner.StartsWith("Duplicate key", StringComparison.Ordinal))
                return new ConfigException(At(ex.Start), "duplicate key in a mapping — keep only one of them");
            // Scanner errors mark the token being scanned (for a tab used as indentation, often the start of the
            // enclosing mapping); a stray tab is shown where the tab is.
            var at = inner.Contains("tab", StringComparison.OrdinalIgnoreCase) && TabPosition(text, ex.Start) is { } tab ? tab : At(ex.Start);
            return new ConfigException(at,
                $"YAML syntax error: {inner} — check indentation (spaces, not tabs), quoting and the ':' after each key");
        }

        /// <summary>
        /// The first tab in the indentation of a line at or after <paramref name="from"/> (else the first tab after it,
        /// else anywhere in the file).
        /// </summary>
        private SourceSpan? TabPosition(string text, Mark from)
        {
            var lines = text.Split('\n');
            var start = (int)Math.Max(0, from.Line - 1);
            for (var pass = 0; pass < 3; pass++)
                for (var i = pass == 2 ? 0 : start; i < lines.Length; i++)
                {
                    var line = lines[i];
                    var indent = line.Length - line.TrimStart(' ', '\t').Length;
                    var col = pass == 0 ? line.IndexOf('\t', 0, indent) : line.IndexOf('\t');
                    if (col >= 0) return new SourceSpan(FileName, i + 1, col + 1);
                }
            return null;
        }

        /// <summary>
        /// Walks the parser events once to report syntax errors and duplicate mapping keys (with the first one's
        /// position) before the representation model is built.
        /// </summary>
        private void CheckSyntaxAndDuplicateKeys(string text)
        {
            var stack = new Stack<Frame>();
            var parser = new Parser(new StringReader(text));
            var last = new SourceSpan(FileName, 1, 1);
            try
            {
                while (parser.MoveNext())
                {
                    if (parser.Current is { } current)
                        last = At(current.Start);
                    switch (parser.Current)
                    {
                        case MappingStart ms:
                            stack.Push(new Frame(true, ms.Style == MappingStyle.Flow ? At(ms.Start) : null));
                            break;
                        case SequenceStart ss:
                            stack.Push(new Frame(false, ss.Style == SequenceStyle.Flow ? At(ss.Start) : null));
                            break;
                        case MappingEnd or SequenceEnd:
                            stack.Pop();
                            NodeDone(stack);
                            break;
                        case Scalar s:
                            if (stack.TryPeek(out var top) && top.IsMapping && top.ExpectKey)
                            {
                                // Every duplicate is reported (the file cannot be read further with one).
                                if (top.Keys.TryGetValue(s.Value, out var first))
                                    Report(new ConfigException(At(s.Start),
                                        $"duplicate key '{s.Value}' (first at {first.Line}:{first.Column}) — keep only one '{s.Value}:' in this mapping"));
                                else
                                    top.Keys[s.Value] = At(s.Start);
                            }
                            NodeDone(stack);
                            break;
                        case AnchorAlias:
                            NodeDone(stack);
                            break;
                    }
                }
            }
            catch (YamlException ex)
            {
                throw SyntaxError(ex, text);
            }
            catch (InvalidOperationException)
            {
                // YamlDotNet fails this way at the end of input inside an unclosed flow collection.
                var open = stack.FirstOrDefault(f => f.FlowStart is not null)?.FlowStart;
                throw new ConfigException(open ?? last,
                    "YAML syntax error: the file ends inside an unclosed '[' or '{' — close it with ']' or '}'");
            }
            ThrowProblems();
        }

        private static void NodeDone(Stack<Frame> stack)
        {
            if (stack.TryPeek(out var top) && top.IsMapping)
                top.ExpectKey = !top.ExpectKey;
        }

        private sealed class Frame(bool isMapping, SourceSpan? flowStart)
        {
            public SourceSpan? FlowStart { get; } = flowStart;
            public bool IsMapping { get; } = isMapping;
            public bool ExpectKey { get; set; } = true;
            public Dictionary<string, SourceSpan> Keys { get; } = new(StringComparer.Ordinal);
        }
    }
}
