namespace Tta.Config;

/// <summary>
/// A corpus named by a <c>texts:</c> entry (<c>corpus: path</c>): an input of its own, whose content hash
/// (<see cref="Sha256"/> of the file's bytes) study-level units declare. Its texts are the experiment's
/// <see cref="TextSpec"/>s whose <see cref="TextSpec.Corpus"/> is <see cref="Name"/>.
/// </summary>
/// <param name="Name">the entry's <c>name:</c>, the prefix of its texts' keys (<c>&lt;name&gt;-&lt;row&gt;</c>)</param>
/// <param name="Path">the corpus file, full path</param>
/// <param name="Sha256">SHA-256 of the file's bytes, lower-case hex</param>
/// <param name="Rows">data rows in the file (every row, also those that limit or sample leave out)</param>
/// <param name="Texts">the texts taken from it (after limit or sample)</param>
/// <param name="At">the entry in the experiment file</param>
public sealed record CorpusSpec(string Name, string Path, string Sha256, int Rows, int Texts, SourceSpan At);
