namespace Tta.Build;

/// <summary>Help text made from the tables (<see cref="KnownTargets"/>, <see cref="KnownOptions"/>), so it never drifts from what is checked.</summary>
public static class BuildHelp
{
    /// <summary>What <c>./build.sh --help</c> prints: the targets, then the options.</summary>
    public static string Text()
    {
        var width = KnownTargets.All.Max(t => t.Name.Length) + 2;
        var text = new System.Text.StringBuilder("usage: ./build.sh [--target=TARGET] [--option=VALUE …]\n\ntargets:\n");
        foreach (var t in KnownTargets.All) text.Append("  ").Append(t.Name.PadRight(width)).Append(t.Description).Append('\n');
        text.Append("\noptions:\n").Append(Options());
        return text.ToString();
    }

    /// <summary>One line per option: <c>--name=…</c> or <c>--name</c>, and what it does.</summary>
    private static string Options()
    {
        var options = KnownOptions.All.Select(o => (Usage: o.TakesValue ? $"--{o.Name}=…" : $"--{o.Name}", Description: o.Help)).ToList();
        var width = options.Max(o => o.Usage.Length) + 2;
        return string.Concat(options.Select(o => $"  {o.Usage.PadRight(width)}{o.Description}\n"));
    }
}
