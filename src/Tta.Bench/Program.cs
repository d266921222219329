using System.Globalization;
using Tta.Bench;
using Tta.Config;

// tta-bench: the benchmarks and synthetic checkpoints, kept out of tta-cli; build/build.cake's Bench and Synth targets
// call it. Exit codes: 0 ok, 2 bad input (an unknown verb or option), 1 any other failure.
var exitCode = TtaBench.Run(args, Console.Out, Console.Error);
Tta.Core.ProcessMemory.ReportPeak(); // the bare-forward child's peak, for the CliProcess that started it
return QuickExit.After(exitCode);

namespace Tta.Bench
{
    /// <summary>tta-bench's verbs, callable in-process (tests use it with their own writers).</summary>
    public static class TtaBench
    {
        public const int BadInput = 2;

        /// <summary>Each verb's options (all take a value); every verb also takes --root.</summary>
        private static readonly Dictionary<string, string[]> VerbOptions = new()
        {
            ["bench"] = ["only", "tokens", "falcon-layers", "repeats", "work", "jobs", "store-sizes", "load-bytes", "load-layers", "figure-sizes", "study-sizes", "child", "model", "text", "dtype", "texts", "batch"],
            ["synth"] = ["shape", "out", "dtype", "layers", "shards", "weights"],
        };

        public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
        {
            var options = BenchOptions.Parse(args);
            if (options.Verb is "help" or "-h" || options.Given.Any(g => g.Name == "help"))
            {
                stdout.Write(UsageText);
                return 0;
            }
            if (!VerbOptions.TryGetValue(options.Verb, out var known))
            {
                var guess = Suggestions.Closest(options.Verb, VerbOptions.Keys);
                stderr.WriteLine(options.Verb.Length == 0 ? "error: a verb is required"
                    : $"error: unknown verb '{options.Verb}'{(guess is null ? "" : $" — did you mean '{guess}'?")}");
                stderr.Write(UsageText);
                return BadInput;
            }
            if (options.Problem([.. known, "root"]) is { } problem)
            {
                stderr.WriteLine($"error: {problem}");
                return BadInput;
            }
            try
            {
                return options.Verb == "bench" ? Bench(options, stdout) : Synth(options, stdout);
            }
            catch (Exception e) when (Environment.GetEnvironmentVariable("TTA_DEBUG") != "1")
            {
                stderr.WriteLine($"error: {e.Message}");
                return 1;
            }
        }

        private const string UsageText = """
            usage: tta-bench <verb> [options]
              bench  [--only=store,load,memory,compute,extract,figures,tokenizers,scaleout,corpus-extract,noop,study] [--tokens=N] [--falcon-layers=N]
                     [--repeats=N] [--work=DIR] [--jobs=N] [--store-sizes=P,T,D] [--load-bytes=N] [--load-layers=N] [--figure-sizes=N,T,PX] [--texts=N,…]
                     [--study-sizes=N,…] [--batch=N]
                     benchmarks printing ratios against baselines measured in the same run
              synth  --shape=NAME --out=DIR [--dtype=float32|bfloat16|float16] [--layers=N] [--shards=N] [--weights=random|empty]
                     write a synthetic checkpoint of a real model's shape (t5-base, flan-t5-base, flan-t5-xl, falcon-7b,
                     llama-2-7b, tinyllama-1.1b) and print its memory estimate
              help   this text
            every verb takes --root=DIR (default: the current folder)

            """;

        /// <summary>
        /// Benchmarks that print ratios against baselines measured in the same run (never timed tests):
        /// store (Parquet write/read, similarity maps), load (checkpoint peak RSS / file size), memory (peak RSS of
        /// Extract at 512 tokens vs weights, estimate beside it; --falcon-layers=N, 32 = full Falcon-7b), compute
        /// (bfloat16 Falcon-7b shape computed in float32 vs in bfloat16, same --tokens and --falcon-layers), extract
        /// (Extract stage vs load + bare forward), figures (vs matplotlib), tokenizers (vs Hugging Face), scaleout
        /// (busy cores and wall time of a corpus study of --texts sentences and a T5-base pair at --jobs=1 and N), corpus-extract (MiniLM over --texts sentences, --batch texts per forward pass, vs ONNX Runtime), noop
        /// (full run and no-op at --texts=50,500,2000 vs Snakemake), study (peak RSS of the
        /// statistics and CKA units at --study-sizes texts). --only=… picks some.
        /// </summary>
        private static int Bench(BenchOptions o, TextWriter log)
        {
            if (o.Get("child") == "forward")
                return ModelBenchmark.BareForward(o.Required("model"), o.Required("text"), o.Get("dtype") ?? "float32", log);
            string[] benchmarks = ["store", "load", "memory", "compute", "extract", "figures", "tokenizers", "scaleout", "corpus-extract", "noop", "study"];
            var only = o.All("only");
            if (only.FirstOrDefault(name => !benchmarks.Contains(name)) is { } unknown)
                throw new ArgumentException($"--only={unknown}: no such benchmark; write one or more of {string.Join(",", benchmarks)}");
            bool Wanted(string name) => only.Count == 0 || only.Contains(name);
            var work = o.Get("work") ?? Path.GetTempPath();
            var root = o.Get("root") ?? Directory.GetCurrentDirectory();
            int[]? Sizes(string key) => o.Get(key)?.Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray();
            if (Wanted("store"))
            {
                var s = Sizes("store-sizes") ?? [33, 512, 4544];
                StoreBenchmark.Run(log, work, s[0], s[1], s[2]);
            }
            if (Wanted("load"))
                LoadBenchmark.Run(log, work, long.Parse(o.Get("load-bytes") ?? (1L << 30).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture),
                    Sizes("load-layers")?[0]);
            if (Wanted("memory"))
                ModelBenchmark.RunMemory(log, work, Sizes("tokens")?[0] ?? 512, Sizes("falcon-layers")?[0] ?? 4);
            if (Wanted("compute"))
                ComputeBenchmark.Run(log, work, Sizes("tokens")?[0] ?? 512, Sizes("falcon-layers")?[0] ?? 4);
            if (Wanted("extract"))
                ModelBenchmark.RunExtract(log, work, Sizes("tokens")?[0] ?? 512, Sizes("repeats")?[0] ?? 3);
            if (Wanted("figures"))
            {
                var s = Sizes("figure-sizes") ?? [100, 512, 12]; // count, tokens, cell pixels
                FigureBenchmark.Run(log, work, s[0], s[1], s.Length > 2 ? s[2] : 12,
                    int.TryParse(o.Get("jobs"), out var jobs) ? jobs : Environment.ProcessorCount);
            }
            if (Wanted("tokenizers"))
                TokenizerBenchmark.Run(log, work, root);
            if (Wanted("scaleout"))
                ScaleOutBenchmark.Run(log, work, root, Sizes("texts")?[0] ?? 500, Sizes("tokens")?[0] ?? 480,
                    int.TryParse(o.Get("jobs"), out var scaleJobs) ? scaleJobs : null, Sizes("repeats")?[0] ?? 1);
            if (Wanted("corpus-extract"))
                CorpusBenchmark.RunExtract(log, work, root, Sizes("texts")?[0] ?? 500, Sizes("repeats")?[0] ?? 3, Sizes("batch")?[0] ?? 16);
            if (Wanted("noop"))
                NoOpBenchmark.Run(log, work, root, Sizes("texts") ?? [50, 500, 2000]);
            if (Wanted("study"))
                StudyBenchmark.Run(log, work, root, Sizes("study-sizes") ?? [50, 2000]);
            return 0;
        }

        /// <summary>
        /// Writes a synthetic checkpoint (<see cref="SyntheticCheckpoint"/>) and prints what running it would need at
        /// 512 tokens, so memory can be planned before downloading the real one.
        /// </summary>
        private static int Synth(BenchOptions o, TextWriter log)
        {
            var root = o.Get("root") ?? Directory.GetCurrentDirectory();
            var outDir = Path.GetFullPath(o.Required("out"), root);
            int? Int(string key) => o.Get(key) is { } v
                ? int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
                    ? n : throw new ArgumentException($"--{key}={v}: write a positive whole number")
                : null;
            var weights = o.Get("weights") ?? "random";
            if (weights is not ("random" or "empty")) throw new ArgumentException($"--weights={weights}: use random or empty (sparse files of zeros)");
            var dtype = o.Get("dtype") is { } d ? Tta.Models.DTypes.Parse(d) : (TorchSharp.torch.ScalarType?)null;
            var result = SyntheticCheckpoint.Write(outDir, o.Required("shape"), dtype, Int("layers"), Int("shards"), weights == "random");
            log.WriteLine($"synth: {result}");
            var estimate = Tta.Models.MemoryEstimate.For(outDir, result.DType, 512);
            log.WriteLine($"synth: running it on 512 tokens needs {estimate}{(estimate.Fits ? "" : " — does not fit here")}");
            return 0;
        }
    }

    /// <summary>A verb and its --key=value options; repeated keys accumulate.</summary>
    internal sealed class BenchOptions
    {
        private readonly List<(string Name, string? Value)> given = [];
        public string Verb { get; private set; } = "";
        public IReadOnlyList<(string Name, string? Value)> Given => given;

        public static BenchOptions Parse(string[] args)
        {
            var o = new BenchOptions();
            foreach (var a in args)
            {
                if (!a.StartsWith("--", StringComparison.Ordinal)) { if (o.Verb == "") o.Verb = a; continue; }
                var eq = a.IndexOf('=');
                o.given.Add(eq < 0 ? (a[2..], null) : (a[2..eq], a[(eq + 1)..]));
            }
            return o;
        }

        /// <summary>The first option that is not one of <paramref name="known"/> or has no value, as an error; or null.</summary>
        public string? Problem(IReadOnlyList<string> known)
        {
            foreach (var (name, value) in given)
            {
                if (!known.Contains(name))
                {
                    var guess = Suggestions.Closest(name, known);
                    return $"unknown option --{name} — {(guess is null ? $"known options: {string.Join(", ", known.Select(k => "--" + k))}" : $"did you mean --{guess}?")}";
                }
                if (string.IsNullOrEmpty(value)) return $"option --{name} needs a value: --{name}=…";
            }
            return null;
        }

        public string? Get(string key) => given.LastOrDefault(g => g.Name == key).Value;

        public List<string> All(string key) => given.Where(g => g.Name == key && g.Value is not null)
            .SelectMany(g => g.Value!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();

        public string Required(string key) => Get(key) ?? throw new ArgumentException($"--{key}=… is required");
    }
}
