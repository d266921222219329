namespace Tta.Figures;

/// <summary>
/// The cells of a <see cref="TokenGridSpec"/> from a list of (layer, position, label, score): rows run from the first
/// to the last layer given (a layer with no cell is a grey row: empty labels, NaN scores), columns over the positions.
/// </summary>
public sealed record TokenGridCells(string[] Labels, float[] Scores, int Rows, int Cols, int FirstRow)
{
    public static TokenGridCells Of(IReadOnlyCollection<(int Layer, int Position, string Label, float Score)> cells)
    {
        var (low, high) = (cells.Min(c => c.Layer), cells.Max(c => c.Layer));
        var cols = cells.Max(c => c.Position) + 1;
        var rows = high - low + 1;
        var labels = new string[rows * cols];
        Array.Fill(labels, "");
        var scores = new float[rows * cols];
        Array.Fill(scores, float.NaN);
        foreach (var (layer, position, label, score) in cells)
        {
            var i = (layer - low) * cols + position;
            labels[i] = label;
            scores[i] = score;
        }
        return new TokenGridCells(labels, scores, rows, cols, low);
    }
}
