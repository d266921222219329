namespace Tta.Config;

/// <summary>
/// Bad input in an experiment file: the message starts with <c>file:line:column:</c> and says how to fix it. When a
/// file has several problems, <see cref="Problems"/> holds each (ordered by position) and the message has one line
/// per problem, so one run reports them all.
/// </summary>
public sealed class ConfigException : Exception
{
    public ConfigException(string message) : base(message) => parts = [this];

    public ConfigException(SourceSpan at, string message) : base($"{at}: {message}")
    {
        At = at;
        parts = [this];
    }

    private readonly IReadOnlyList<ConfigException> parts; // each a single problem

    /// <summary>Every problem of <paramref name="problems"/> (each one's own problems), ordered by file position.</summary>
    public ConfigException(IEnumerable<ConfigException> problems) : this(Flatten(problems)) { }

    private ConfigException(ConfigException[] flat) : base(string.Join("\n", flat.Select(p => p.Message)))
    {
        At = flat.Length > 0 ? flat[0].At : null;
        parts = flat;
    }

    /// <summary>
    /// A problem that follows from one reported already (a required key missing because it was misspelled): reading
    /// stops there, but it is not reported twice.
    /// </summary>
    internal bool FollowOn { get; init; }

    /// <summary>Where the (first) problem is, when it is in a file.</summary>
    public SourceSpan? At { get; }

    /// <summary>Each problem's message, <c>file:line:column: what is wrong — how to fix it</c>.</summary>
    public IReadOnlyList<string> Problems => [.. parts.Select(p => p.Message)];

    private static ConfigException[] Flatten(IEnumerable<ConfigException> problems) =>
    [
        .. problems.SelectMany(p => p.parts)
            .DistinctBy(p => p.Message)
            .Select((p, i) => (p, i))
            .OrderBy(x => x.p.At?.File ?? "", StringComparer.Ordinal).ThenBy(x => x.p.At?.Line ?? int.MaxValue)
            .ThenBy(x => x.p.At?.Column ?? int.MaxValue).ThenBy(x => x.i)
            .Select(x => x.p),
    ];
}
