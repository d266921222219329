namespace Tta.Config;

/// <summary>
/// One input text; inline, read from a file relative to the experiment file, or one row of a corpus. For a corpus
/// row, <see cref="Corpus"/> is the corpus entry's name, <see cref="Key"/> is <c>&lt;name&gt;-&lt;row&gt;</c> and
/// <see cref="At"/> is where the row is in the corpus file (so a text over max_tokens is reported there).
/// </summary>
public sealed record TextSpec(string Key, string Text, string? File, SourceSpan At, string? Corpus = null);
