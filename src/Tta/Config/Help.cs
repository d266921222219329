namespace Tta.Config;

/// <summary>Help text made from the tables (<see cref="KnownTargets"/>, <see cref="KnownOptions"/>), so it never drifts from what is checked.</summary>
public static class Help
{
    /// <summary>What <c>./build.sh --help</c> prints: the targets, then the options.</summary>
    public static string ForBuild()
    {
        var width = KnownTargets.All.Max(t => t.Name.Length) + 2;
        var text = new System.Text.StringBuilder("usage: ./build.sh [--target=TARGET] [--option=VALUE …]\n\ntargets:\n");
        foreach (var t in KnownTargets.All) text.Append("  ").Append(t.Name.PadRight(width)).Append(t.Description).Append('\n');
        text.Append("\noptions:\n").Append(Options(OptionScope.Build));
        return text.ToString();
    }

    /// <summary>One line per option of <paramref name="scope"/>: <c>--name=…</c> or <c>--name</c>, and what it does.</summary>
    public static string Options(OptionScope scope)
    {
        var options = KnownOptions.All.Where(o => (o.Scope & scope) != 0).Select(o => (Usage: o.TakesValue ? $"--{o.Name}=…" : $"--{o.Name}", Description: o.Help)).ToList();
        var width = options.Max(o => o.Usage.Length) + 2;
        return string.Concat(options.Select(o => $"  {o.Usage.PadRight(width)}{o.Description}\n"));
    }
}
