using Microsoft.Extensions.FileSystemGlobbing;
using Microsoft.Extensions.FileSystemGlobbing.Abstractions;

namespace Tta.Config;

/// <summary>
/// Expands <c>--experiment</c> values: plain paths, or globs with <c>*</c> (within a folder name) and <c>**</c> (any
/// number of folders), matched by Microsoft.Extensions.FileSystemGlobbing. Files and folders whose name starts with
/// '.' are left out unless the pattern names them so.
/// </summary>
public static class ExperimentPaths
{
    /// <summary>
    /// Relative patterns are taken from <paramref name="baseDir"/> and returned joined to it as given (so <c>"."</c>
    /// or <c>""</c> gives relative paths). Matches of one glob are sorted; duplicates across patterns are dropped. A
    /// pattern that matches no file is a <see cref="ConfigException"/>.
    /// </summary>
    public static IReadOnlyList<string> Resolve(IEnumerable<string> patterns, string baseDir)
    {
        ArgumentNullException.ThrowIfNull(patterns);
        baseDir ??= "";
        var baseFull = Path.GetFullPath(baseDir.Length == 0 ? "." : baseDir);
        var prefix = baseDir is "" or "." or "./" ? "" : baseDir;
        var result = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var any = false;
        foreach (var pattern in patterns)
        {
            any = true;
            if (string.IsNullOrWhiteSpace(pattern))
                throw new ConfigException("--experiment: empty value — give a path or a glob such as experiments/*.yaml");
            if (pattern.IndexOfAny(['?', '[']) >= 0)
                throw new ConfigException(
                    $"--experiment {pattern}: '?' and '[…]' are not glob characters here — use * (within a name) and ** (any folders)");
            var rooted = Path.IsPathRooted(pattern);
            var root = rooted ? Path.GetPathRoot(pattern)! : baseFull;
            var rest = rooted ? pattern[root.Length..] : pattern;
            var display = rooted ? root : prefix;

            List<string> matches;
            if (!rest.Contains('*'))
            {
                var full = Path.GetFullPath(Path.Combine(root, rest));
                if (Directory.Exists(full))
                    throw new ConfigException(
                        $"--experiment {pattern}: '{full}' is a directory — use a glob such as {pattern.TrimEnd('/')}/*.yaml");
                if (!File.Exists(full))
                    throw new ConfigException(
                        $"--experiment {pattern}: file not found: {full} — check the path (relative to {baseFull})");
                matches = [rest];
            }
            else
            {
                matches = Glob(root, rest);
                if (matches.Count == 0)
                    throw new ConfigException(
                        $"--experiment {pattern}: no file matches — check the pattern (relative to {baseFull}); quote it so the shell does not expand it");
            }

            foreach (var rel in matches)
            {
                var key = Path.GetFullPath(Path.Combine(root, rel));
                if (seen.Add(key))
                    result.Add(display.Length == 0 ? rel : Path.Join(display, rel));
            }
        }
        if (!any)
            throw new ConfigException("--experiment: no value given — give a path or a glob such as experiments/*.yaml");
        return result;
    }

    /// <summary>The files under <paramref name="root"/> that <paramref name="pattern"/> matches, relative, '/'-separated, sorted.</summary>
    private static List<string> Glob(string root, string pattern)
    {
        // The folders before the first glob segment are where the search starts (not the whole tree below root).
        var segments = pattern.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var literal = segments.TakeWhile(s => !s.Contains('*')).ToArray();
        var start = Path.Combine([root, .. literal]);
        if (!Directory.Exists(start)) return [];
        var matcher = new Matcher(StringComparison.Ordinal);
        matcher.AddInclude(string.Join('/', segments[literal.Length..]));
        var hiddenAsked = segments.Any(s => s.StartsWith('.'));
        return [.. matcher.Execute(new DirectoryInfoWrapper(new DirectoryInfo(start))).Files
            .Select(f => f.Path)
            .Where(p => hiddenAsked || !p.Split('/').Any(s => s.StartsWith('.')))
            .Select(p => string.Join('/', [.. literal, p]))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)];
    }
}
