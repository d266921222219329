using Parquet;
using Parquet.Schema;
using Tta.Cache;
using Tta.Extract;
using Tta.Models;
using static TorchSharp.torch;

namespace Tta.Metrics.Nearest;

/// <summary>Top-k vocabulary entries of one set of vectors: [rows, k] ids and scores, best first.</summary>
public sealed record NearestResult(int Rows, int K, long[] Ids, double[] Scores);
