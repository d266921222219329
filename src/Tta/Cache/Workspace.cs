namespace Tta.Cache;

/// <summary>Where a run reads and writes: the project root, its cache/ and figures/ folders.</summary>
public sealed record Workspace(string Root, string CacheDir, string FiguresDir)
{
    public static Workspace At(string root, string? cacheDir = null, string? figuresDir = null)
    {
        root = Path.GetFullPath(root);
        return new Workspace(root, Path.GetFullPath(cacheDir ?? Path.Combine(root, "cache")),
            Path.GetFullPath(figuresDir ?? Path.Combine(root, "figures")));
    }

    /// <summary>Paths recorded in manifests are relative to the root, so a cache can move with its project.</summary>
    public string Relative(string path) => Path.GetRelativePath(Root, path).Replace('\\', '/');

    public string Absolute(string relative) => Path.GetFullPath(Path.Combine(Root, relative));
}
