namespace Tta.Cache;

/// <summary>The cache and figures folders a unit was built for, relative to the project root as in its manifest.</summary>
public sealed record ManifestFolders(string Cache, string Figures)
{
    /// <summary>What manifests written before folders were recorded were built for: the default folders.</summary>
    public static ManifestFolders Default { get; } = new("cache", "figures");

    public static ManifestFolders Of(Workspace ws) => new(ws.Relative(ws.CacheDir), ws.Relative(ws.FiguresDir));
}
