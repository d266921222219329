namespace Tta.Figures;

/// <summary>
/// Labels of one heatmap axis: positions in cells from the axis start (cell centres), the label of each, their font
/// size in pixels, the step between labelled cells, whether they are tokens (drawn vertically on the x axis), the tick
/// mark's length and the gap between tick and label.
/// </summary>
internal sealed record HeatmapAxisTicks(double[] Positions, string[] Labels, float FontSize, int Step, bool Tokens,
    float TickLength, float Gap);
