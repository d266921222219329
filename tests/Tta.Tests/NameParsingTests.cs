using System.Text.RegularExpressions;
using Tta.Metrics.Trajectory;

namespace Tta.Tests;

/// <summary>
/// Only the models know what a capture point is and which architecture does what: code outside
/// <c>src/Tta/Models/</c> reads <see cref="Tta.Models.CapturePoint"/> fields (or a store's <c>tta.points</c>) and asks the
/// architecture (<see cref="Tta.Models.IArchitecture"/>), so these patterns must not come back there.
/// </summary>
public partial class NameParsingTests
{
    private const string CaptureTokens = @"hidden_states|attentions|scores|probs|position_bias|rotary_emb|EncDecAttention|SelfAttention|cross_|decoder_|encoder_|lm_head";

    /// <summary>Each rule: what it forbids, and the pattern (over code with comments removed).</summary>
    public static readonly IReadOnlyList<(string Rule, Regex Pattern)> Rules =
    [
        ("a regular expression over capture names",
            new Regex($@"(GeneratedRegex|new\s+Regex|Regex\.(IsMatch|Match|Matches|Replace))\s*\([^;]*({CaptureTokens}|\\\.\(\?:layer|block)")),
        ("a suffix, prefix or substring test of a capture name",
            new Regex($@"\.(EndsWith|StartsWith|Contains|IndexOf|LastIndexOf)\(\s*""[^""]*({CaptureTokens}|decoder|\.(q|k|v|query|key|value|c_attn|q_proj|k_proj|v_proj|query_key_value)"")")),
        ("a list of capture-name suffixes",
            new Regex($@"""\.({CaptureTokens}|q|k|v|query|key|c_attn|q_proj|k_proj)""")),
        ("a switch or table over architecture names",
            new Regex(@"(case\s+|\bis\s+)""(t5|bert|gpt2|llama|falcon)""|\[\s*""(t5|bert|gpt2|llama|falcon)""\s*\]|""(t5|bert|gpt2|llama|falcon)""\s*=>")),
        ("name parsers that records replace", new Regex(@"\b(LayerOf|StackOf|IsHiddenState|SeriesOf|HiddenStateIndex)\s*\(")),
        ("splitting a point name at its last dot", new Regex(@"(?i)point\w*\s*\.\s*LastIndexOf\(\s*'\.'")),
    ];

    [GeneratedRegex(@"//.*?$|/\*.*?\*/", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex Comments();

    private static IEnumerable<(string File, int Line, string Rule, string Text)> Findings(string root, Func<string, bool> include)
    {
        foreach (var file in Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories).Where(include).Order(StringComparer.Ordinal))
        {
            var lines = Comments().Replace(File.ReadAllText(file), m => new string('\n', m.Value.Count(c => c == '\n'))).Split('\n');
            for (var i = 0; i < lines.Length; i++)
                foreach (var (rule, pattern) in Rules)
                    if (pattern.IsMatch(lines[i]))
                        yield return (Path.GetRelativePath(Repo.Root, file), i + 1, rule, lines[i].Trim());
        }
    }

    private static bool OutsideModels(string file)
    {
        var relative = Path.GetRelativePath(Path.Combine(Repo.Root, "src"), file).Replace('\\', '/');
        return !relative.StartsWith("Tta/Models/", StringComparison.Ordinal) && !relative.Contains("/obj/", StringComparison.Ordinal)
               && !relative.Contains("/bin/", StringComparison.Ordinal);
    }

    [Fact]
    public void NoCodeOutsideModelsParsesCaptureNamesOrSwitchesOverArchitectures()
    {
        var found = Findings(Path.Combine(Repo.Root, "src"), OutsideModels).ToList();
        Assert.True(found.Count == 0, string.Join("\n", found.Select(f => $"{f.File}:{f.Line}: {f.Rule}: {f.Text}")));
    }

    /// <summary>The rules catch what the code before records did (so the check above can fail).</summary>
    [Theory]
    [InlineData("    [GeneratedRegex(@\"(?:^|_)hidden_states\\.(\\d+)$|\\.(?:layer|block|h|layers)\\.(\\d+)(?:\\.|#|$)\")]")]
    [InlineData("    [GeneratedRegex(@\"^(.*hidden_states)\\.(\\d+)$\")]")]
    [InlineData("            if (!name.EndsWith(\".scores\", StringComparison.Ordinal)) continue;")]
    [InlineData("        return point.StartsWith(\"decoder\", StringComparison.Ordinal) || point.StartsWith(\"cross_\", StringComparison.Ordinal)")]
    [InlineData("            var cross = key.Point.Contains(\"EncDecAttention\", StringComparison.Ordinal);")]
    [InlineData("        [\".scores\", \".probs\", \".position_bias\", \".q\", \".k\", \".query\", \".key\", \".c_attn\", \".q_proj\", \".k_proj\"];")]
    [InlineData("            case \"t5\":")]
    [InlineData("        [\"bert\"] = [\"embeddings.word_embeddings.weight\", \"bert.embeddings.word_embeddings.weight\"],")]
    [InlineData("            var layer = ExtractStage.LayerOf(path);")]
    [InlineData("        var dot = point.LastIndexOf('.');")]
    [InlineData("        key.Head is null && TrajectoryMetrics.IsHiddenStateBlock(key.Point) ? key.Point[..key.Point.LastIndexOf('.')] : null;")]
    public void TheRulesCatchTheOldParsers(string line) =>
        Assert.Contains(Rules, r => r.Pattern.IsMatch(line));

    /// <summary>… and let through what is not name parsing: stack names, config keys, weight names, glob defaults.</summary>
    [Theory]
    [InlineData("        \"encoder\" => EncoderHeads ?? Heads,")]
    [InlineData("    public static IReadOnlyList<string> DefaultPoints { get; } = [\"*hidden_states.*\"];")]
    [InlineData("            (n.StartsWith(\"embeddings.\", StringComparison.Ordinal) || n.StartsWith(\"encoder.layer.\", StringComparison.Ordinal)")]
    [InlineData("            [\"model_type\"] = \"bert\",")]
    [InlineData("    [GeneratedRegex(@\"(^|_)(size|dim|layers?|heads?|positions?|embeddings|buckets|experts|kv|ff|model|inner|ctx|embd|head|channels)$|^(num|n|d)_\")]")]
    [InlineData("        var causal = stack is \"decoder\" or \"decoder-only\";")]
    [InlineData("        var text = Node([\"gpt2\", path], TimeSpan.FromMinutes(2));")]
    public void TheRulesLeaveOtherCodeAlone(string line) =>
        Assert.DoesNotContain(Rules, r => r.Pattern.IsMatch(line));
}
