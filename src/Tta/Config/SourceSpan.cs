namespace Tta.Config;

/// <summary>Where in an experiment file a value came from, for error messages (<c>file:line:column</c>).</summary>
public sealed record SourceSpan(string File, int Line, int Column)
{
    public override string ToString() => $"{File}:{Line}:{Column}";
}
