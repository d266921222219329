using ScottPlot;

namespace Tta.Figures;

/// <summary>How <see cref="LineFigure"/> draws many series.</summary>
public enum LineMode
{
    /// <summary>One line per series (e.g. per token), coloured along the colormap in series order.</summary>
    PerSeries,

    /// <summary>The mean over series at each x, with a band of ± one (population) standard deviation.</summary>
    MeanBand,
}
