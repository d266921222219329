using ScottPlot;

namespace Tta.Figures;

/// <summary>
/// A labelled grid such as nearest tokens across layers: <paramref name="Rows"/> layers (row 0 = layer
/// <paramref name="FirstRow"/>, drawn at the top) by <paramref name="Cols"/> positions. <paramref name="Labels"/> and
/// <paramref name="Scores"/> are row-major (<c>[r * Cols + c]</c>): the cell shows the label as text on the colormap
/// colour of its score (NaN: the masked colour, see <see cref="ColorScale"/>). <paramref name="ColumnTokens"/> names the input token of each
/// position on the x axis. Every cell is <paramref name="CellWidth"/> x <paramref name="CellHeight"/> pixels; labels that
/// do not fit are cut with '…'.
/// </summary>
public sealed record TokenGridSpec(
    string[] Labels,
    float[] Scores,
    int Rows,
    int Cols,
    string Title,
    IReadOnlyList<string>? ColumnTokens = null,
    string XLabel = "Token Position",
    string YLabel = "Layer",
    string ColorbarLabel = "score",
    string Colormap = Colormaps.Default,
    int FirstRow = 0,
    int CellWidth = 64,
    int CellHeight = 20);
