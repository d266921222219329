using System.Text.Json;
using Tta.Cache;
using Tta.Config;
using Tta.Store;

namespace Tta.Metrics.Cka;

/// <summary>
/// Linear CKA between every layer of model A and every layer of model B over all tokens of the corpus,
/// <c>cka-A-vs-B.parquet</c> (<c>cka-A.parquet</c> for A against itself): the first hidden-state series of each
/// (a T5's encoder, a decoder-only model's stack), its rows paired by <see cref="RowPairing"/> (tokens where both
/// models tokenize every text alike, else words), the products accumulated in float64 while streaming
/// (<see cref="LinearCka"/>). Memory is one text of each model plus the products; where A's layers would pass
/// <see cref="PassBytes"/> the corpus is read once per group of A's layers.
/// </summary>
public sealed class CkaUnit(Workspace ws, Experiment experiment, ModelSpec a, ModelSpec b)
    : StudyUnit(ws, experiment, CkaKind.Key, a.Key == b.Key ? $"{CkaKind.Key}-{a.Key}" : $"{CkaKind.Key}-{a.Key}-vs-{b.Key}")
{
    public const string CodeVersion = "cka-1";
    public const string Format = "cka/1";
    public const string Measure = "linear_cka";
    public const long PassBytes = 1L << 30;

    public ModelSpec A => a;
    public ModelSpec B => b;
    public bool Within => a.Key == b.Key;
    public override IReadOnlyList<ModelSpec> Models => Within ? [a] : [a, b];

    public override UnitDeclaration Declare() => ReadsCorpus(CodeVersion).Param("pairing", RowPairing.Rule);

    public override IReadOnlyList<string> Run(RunContext context) => WriteOutput(async fingerprint =>
    {
        var (corpusA, corpusB) = (Corpus(a), Corpus(b));
        var pairing = Within ? RowPairing.Tokens : await RowPairing.ChooseAsync(corpusA, corpusB, Experiment.Texts);
        var (firstA, firstB) = (await corpusA.ReadAsync(Experiment.Texts[0]), await corpusB.ReadAsync(Experiment.Texts[0]));
        var (seriesA, seriesB) = (firstA.Series[0], firstB.Series[0]);
        var dimsB = seriesB.Blocks.Select(x => x.Dim).ToArray();
        var result = new double[seriesA.Layers.Count, seriesB.Layers.Count];
        long rows = 0;
        var droppedWords = 0;
        foreach (var pass in LinearCka.PlanPasses([.. seriesA.Blocks.Select(x => x.Dim)], dimsB, PassBytes))
        {
            List<int> group = [.. Enumerable.Range(pass.First, pass.Count)];
            LinearCka cka;
            using (context.Torch.Enter()) cka = new LinearCka([.. group.Select(i => seriesA.Blocks[i].Dim)], dimsB);
            (rows, droppedWords) = (0, 0);
            foreach (var text in Experiment.Texts)
            {
                var statesA = await corpusA.ReadAsync(text);
                var statesB = Within ? statesA : await corpusB.ReadAsync(text);
                var paired = pairing.Pair(statesA, statesA.Find(seriesA.Name)!, statesB, statesB.Find(seriesB.Name)!, group);
                droppedWords += paired.Dropped;
                if (paired.Rows == 0) continue;
                using (context.Torch.Enter()) cka.Add(paired.Rows, paired.A, paired.B);
                rows += paired.Rows;
                context.UnitProgress?.StepDone();
            }
            double[,] part;
            using (context.Torch.Enter())
            {
                part = cka.Result();
                cka.Dispose();
            }
            for (var i = 0; i < group.Count; i++)
                for (var j = 0; j < dimsB.Length; j++) result[group[i], j] = part[i, j];
        }

        var meta = Metadata(Format, fingerprint);
        meta[StoreKeys.Layers] = JsonSerializer.Serialize(new Dictionary<string, IReadOnlyList<int>> { ["a"] = seriesA.Layers, ["b"] = seriesB.Layers });
        meta[StoreKeys.DepthLayers] = JsonSerializer.Serialize(new Dictionary<string, int> { ["a"] = DepthLayers(a), ["b"] = DepthLayers(b) });
        meta[StoreKeys.Alignment] = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["pairing"] = pairing.Name,
            ["rule"] = pairing.Description,
            ["rows"] = rows,
            ["dropped_words"] = droppedWords,
            ["series"] = new[] { seriesA.Name, seriesB.Name },
        });
        var values = new float[result.Length];
        for (var i = 0; i < seriesA.Layers.Count; i++)
            for (var j = 0; j < seriesB.Layers.Count; j++) values[i * seriesB.Layers.Count + j] = (float)result[i, j];
        await using var writer = await VectorStoreWriter.CreateAsync(OutputPath, meta, withMeasure: true);
        await writer.WriteAsync(new ActivationPoint(seriesA.Name, seriesA.Stack, -1, null, Measure), values, seriesA.Layers.Count, seriesB.Layers.Count);
        await writer.CommitAsync();
    });
}
