using Tta.Core;

namespace Tta.Cache;

/// <summary>
/// Folders tta created (cache/, figures/ or what --cache and --figures name) carry a marker file, written when tta
/// creates the folder. Clean deletes only marked folders, so a folder that existed before (the checkout with
/// <c>--figures=.</c>, a folder holding a thesis) is never removed.
/// </summary>
public static class OwnedFolder
{
    public const string MarkerName = ".tta-folder";

    private const string MarkerText =
        "This folder was created by tta (cache or figures). `./build.sh --target=Clean` may delete what tta wrote in it.\n";

    /// <summary>Creates <paramref name="dir"/> (and missing parents) if needed; marks it when this call created it.</summary>
    public static void Ensure(string dir)
    {
        dir = Path.GetFullPath(dir);
        if (Directory.Exists(dir)) return;
        Directory.CreateDirectory(dir);
        AtomicFile.WriteAllText(Path.Combine(dir, MarkerName), MarkerText);
    }

    public static bool IsMarked(string dir) => File.Exists(Path.Combine(dir, MarkerName));
}
