namespace Tta.Config;

/// <summary>Which figures to render and how.</summary>
public sealed record FiguresSpec(
    IReadOnlyList<string> Kinds,        // similarity, attention, trajectory, nearest (default: similarity + configured metrics)
    IReadOnlyList<string> Formats,      // png | pdf | svg
    string Colormap,                    // cividis_r (default) | cividis | viridis | gray
    bool TokenLabels,                   // default true
    int CellPixels,                     // default 12
    int Dpi);                           // default 150 (PNG only)
