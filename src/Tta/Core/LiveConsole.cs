namespace Tta.Core;

/// <summary>
/// Whether output can be redrawn in place (a live progress line or block): an interactive terminal that is not
/// redirected, not CI and not a dumb terminal. Elsewhere progress is written as plain periodic lines.
/// </summary>
public static class LiveConsole
{
    /// <summary>Live on an interactive terminal; plain lines when output is redirected, in CI or on a dumb terminal.</summary>
    public static bool ConsoleIsLive => !Console.IsOutputRedirected && TerminalAllowsLive;

    /// <summary>Whether <paramref name="writer"/> is the console's output or error stream, live by the same rule.</summary>
    public static bool IsLiveConsole(TextWriter writer) =>
        (ReferenceEquals(writer, Console.Out) && ConsoleIsLive) || (ReferenceEquals(writer, Console.Error) && !Console.IsErrorRedirected && TerminalAllowsLive);

    private static bool TerminalAllowsLive =>
        Environment.GetEnvironmentVariable("CI") is null && Environment.GetEnvironmentVariable("TERM") is not (null or "" or "dumb");
}
