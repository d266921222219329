using System.Globalization;
using System.Text.Json;
using Parquet;
using Parquet.Schema;
using Tta.Config;
using Tta.Extract;

namespace Tta.Metrics.Nearest;

/// <summary>One row of nearest.parquet (layout <see cref="Metrics.NearestStore"/>).</summary>
public sealed record NearestRow(string Point, string Stack, int Layer, string Measure, int Position, int Rank, long TokenId,
    string? Token, double Score);
