using System.Text.Json;
using Tta.Cache;
using Tta.Config;
using Tta.Download;
using Tta.Models;
using Tta.Tokenizers;
using static TorchSharp.torch;

namespace Tta.Extract;

/// <summary>Extract stage: runs each model on each text and stores the selected activations as Parquet.</summary>
public static class ExtractStage
{
    public const string Name = "Extract";
    // extract-4: stores describe their points (tta.points).
    public const string CodeVersion = "extract-4";

    public static IEnumerable<StageUnit> Units(RunContext context) =>
        from e in context.Experiments from m in e.Models from t in e.Texts select (StageUnit)For(context.Workspace, e, m, t);

    public static ExtractUnit For(Workspace ws, Experiment e, ModelSpec m, TextSpec t) => new(ws, e, m, t);

    public static string OutputPath(Workspace ws, Experiment e, ModelSpec m, TextSpec t) =>
        Path.Combine(ws.CacheDir, "extract", e.Name, m.Key, t.Key, ActivationsFile);

    public const string ActivationsFile = "activations.parquet";

    /// <summary>
    /// The attention captures the attention metric decomposes (<see cref="AttentionCaptures.Filter"/>),
    /// written by the same forward pass when <c>metrics.attention</c> is configured, so that metric needs no model.
    /// </summary>
    public static string AttentionInputsPath(Workspace ws, Experiment e, ModelSpec m, TextSpec t) =>
        Path.Combine(ws.CacheDir, "extract", e.Name, m.Key, t.Key, AttentionInputsFile);

    public const string AttentionInputsFile = "attention-inputs.parquet";

    /// <summary>tta.format of the attention captures stored for the decomposition (attention-inputs.parquet).</summary>
    public const string AttentionInputsFormat = "attention-inputs/1";

    /// <summary>
    /// The dtype a model computes in on this machine: its <c>compute_dtype</c> resolved (<see cref="ComputeDTypes.Resolve"/>;
    /// <c>auto</c> is float32 on a CPU without half-precision arithmetic for the model's dtype).
    /// </summary>
    public static ScalarType ComputeDType(ModelSpec model) =>
        ComputeDTypes.Resolve(model.ComputeDType, DTypes.Parse(model.DType), model.Device == "cuda");

    /// <summary>The resolved compute dtype's name when it differs from the model's dtype, else null (nothing to record).</summary>
    public static string? ComputeDTypeIfDifferent(ModelSpec model) =>
        DTypes.Name(ComputeDType(model)) is var compute && compute != model.DType ? compute : null;

    /// <summary>
    /// The model of a spec, loaded once per process on its device, in its dtype and computing in its compute dtype —
    /// after printing a memory estimate, and refusing (with the estimate) a model that cannot fit.
    /// </summary>
    public static ITransformerModel LoadModel(RunContext context, ModelSpec model, string checkpoint, int tokens) =>
        context.Keep(ModelKey(model, checkpoint), () =>
        {
            var estimate = Estimate(context, model, checkpoint, tokens);
            var dtypes = ComputeDTypeIfDifferent(model) is { } compute ? $"{model.DType} weights, {compute} compute" : model.DType;
            context.Log.WriteLine($"model '{model.Key}' ({dtypes}, {model.Device}): needs {estimate}");
            if (!estimate.Fits)
                throw new InsufficientMemoryException(
                    $"{model.At}: model '{model.Key}' needs {estimate}; not loading it. " +
                    (context.MemoryLimitBytes is not null ? "The budget is --memory-limit's: raise it (or leave it out to use the memory available), or use " : "Use ") +
                    "a smaller dtype (bfloat16), a lower extract.max_tokens, or a machine with more memory");
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var loaded = ModelFactory.Load(checkpoint, DTypes.Parse(model.DType), ComputeDType(model), model.Device == "cuda" ? CUDA : CPU,
                context.UnitProgress);
            // One line per load, so a run's loads can be counted (a Slurm run counts them in its tasks' logs).
            context.Log.WriteLine(FormattableString.Invariant($"{LoadLinePrefix}{model.Key} ({MemoryEstimate.Gib(estimate.WeightBytes)}) in {watch.Elapsed.TotalSeconds:0.00} s"));
            return loaded;
        });

    /// <summary>How the line that reports a model load starts: "load: MODEL (SIZE) in SECONDS s".</summary>
    public const string LoadLinePrefix = "load: ";

    /// <summary>What a loaded model is kept under in <see cref="RunContext"/>: one per checkpoint, dtype, compute dtype and device.</summary>
    public static string ModelKey(ModelSpec model, string checkpoint) =>
        $"model:{checkpoint}:{model.DType}:{DTypes.Name(ComputeDType(model))}:{model.Device}";

    /// <summary>
    /// The memory estimate of running the model: it serves every text of the run, so it plans for the longest
    /// allowed one (the experiments' largest extract.max_tokens, or <paramref name="tokens"/> if longer).
    /// </summary>
    public static MemoryEstimate Estimate(RunContext context, ModelSpec model, string checkpoint, int tokens) =>
        MemoryEstimate.For(checkpoint, DTypes.Parse(model.DType), Math.Max(tokens, context.Experiments.Max(e => e.Extract.MaxTokens)),
            context.MemoryLimitBytes, ComputeDType(model));
}
