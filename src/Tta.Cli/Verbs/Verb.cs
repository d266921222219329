using System.CommandLine;
using Tta.Cache;
using Tta.Metrics;

namespace Tta.Cli.Verbs;

/// <summary>
/// One tta-cli verb: its command (name, description, the options it reads, their checks and help) and what it does.
/// Every verb takes <c>--root</c>, which Cake adds to every call.
/// </summary>
internal abstract class Verb
{
    private readonly Option<string?> root = CliOptions.Root();
    private int ownOptions; // --root and the options added through Add, which lead the verb's help

    protected Verb(string name, string description)
    {
        Command = new Command(name, description);
        Add(root);
        Command.SetAction(Invoke);
    }

    public Command Command { get; }

    public string Name => Command.Name;

    /// <summary>The metric kinds experiments may configure (<see cref="TtaCli.Run"/>'s).</summary>
    public MetricKinds Kinds { get; set; } = MetricKinds.Default;

    /// <summary>
    /// Adds <paramref name="option"/> to the verb's command, after its other own options and before the option groups
    /// a base class added (<see cref="StageVerb"/>'s), so that its help lists the verb's own options first; returns it.
    /// </summary>
    protected T Add<T>(T option) where T : Option
    {
        Command.Options.Insert(ownOptions++, option);
        return option;
    }

    /// <summary>The project root: --root, or the current folder.</summary>
    protected string Root(ParseResult p) => p.GetValue(root) ?? Directory.GetCurrentDirectory();

    /// <summary>Runs the verb; returns its exit code. Exceptions are reported by <see cref="TtaCli.Run"/>.</summary>
    protected abstract int Run(ParseResult p, Writers io);

    /// <summary>Whether each file hashed is reported on the output (--explain).</summary>
    protected virtual bool ExplainsHashes(ParseResult p) => false;

    private int Invoke(ParseResult p)
    {
        // --explain: each file hashed is reported, with where its hash came from. Units running side by side write to
        // these, so each is synchronized (a plain StringWriter or stream writer would mix and break their lines).
        return Run(p, new Writers(TextWriter.Synchronized(p.InvocationConfiguration.Output), TextWriter.Synchronized(p.InvocationConfiguration.Error),
            Explain: ExplainsHashes(p)));
    }
}

/// <summary>The verb's output and error streams; <paramref name="Explain"/>: --explain (hash lines in the output).</summary>
internal sealed record Writers(TextWriter Out, TextWriter Error, bool Explain = false);

/// <summary>Bad input found before anything ran (an option's value, an unreadable experiment file): exit <see cref="TtaCli.BadInput"/>.</summary>
internal sealed class BadInputException(string message) : Exception(message);
