namespace Tta.Cache;

/// <summary>Where a run reads and writes: the project root, its cache/ and figures/ folders.</summary>
public sealed record Workspace(string Root, string CacheDir, string FiguresDir)
{
    /// <summary>The workspace of <paramref name="root"/>; relative cache and figures folders are taken from the root.</summary>
    public static Workspace At(string root, string? cacheDir = null, string? figuresDir = null)
    {
        root = Path.GetFullPath(root);
        return new Workspace(root, Path.GetFullPath(cacheDir ?? "cache", root), Path.GetFullPath(figuresDir ?? "figures", root));
    }

    /// <summary>Paths recorded in manifests are relative to the root, so a cache can move with its project.</summary>
    public string Relative(string path) => Path.GetRelativePath(Root, path).Replace('\\', '/');

    public string Absolute(string relative) => Path.GetFullPath(Path.Combine(Root, relative));

    /// <summary>Creates the cache and figures folders, each marked as tta's when this call created it.</summary>
    public void EnsureFolders()
    {
        OwnedFolder.Ensure(CacheDir);
        OwnedFolder.Ensure(FiguresDir);
    }

    /// <summary>Whether <paramref name="path"/> is <paramref name="dir"/> or lies below it.</summary>
    public static bool IsUnder(string path, string dir)
    {
        var rel = Path.GetRelativePath(Path.GetFullPath(dir), Path.GetFullPath(path));
        return rel == "." || (rel != ".." && !rel.StartsWith(".." + Path.DirectorySeparatorChar, StringComparison.Ordinal) && !Path.IsPathRooted(rel));
    }
}
