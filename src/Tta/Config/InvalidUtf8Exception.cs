namespace Tta.Config;

/// <summary>A file that is not valid UTF-8, with where the first bad byte is (1-based line and column).</summary>
public sealed class InvalidUtf8Exception(int line, int column) : Exception("invalid UTF-8")
{
    public int Line { get; } = line;
    public int Column { get; } = column;
}
