namespace Tta.Config;

/// <summary>One input text; inline or read from a file relative to the experiment file.</summary>
public sealed record TextSpec(string Key, string Text, string? File, SourceSpan At);
