namespace Tta.Core;

/// <summary>Where <see cref="ContentHash"/> reports the hashes it computes or is told (<c>--explain</c>).</summary>
public interface IHashLog
{
    void Hashed(string path, string sha256, string how);
}

/// <summary>A hash log that writes one line per hash: <c>hash: PATH: sha256 HEX (HOW)</c>.</summary>
public sealed class HashLogWriter(TextWriter output) : IHashLog
{
    public void Hashed(string path, string sha256, string how) => output.WriteLine($"hash: {path}: sha256 {sha256} ({how})");
}
