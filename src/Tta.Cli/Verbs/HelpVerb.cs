using System.CommandLine;
using Tta.Build;
using Tta.Config;

namespace Tta.Cli.Verbs;

/// <summary>help [VERB|build]: the verbs and their options, one verb's help, or (build) what ./build.sh --help prints.</summary>
internal sealed class HelpVerb : Verb
{
    public const string Build = "build";

    private readonly Argument<string?> topic = new("topic")
    {
        Description = "a verb, or build: ./build.sh's targets and options",
        Arity = ArgumentArity.ZeroOrOne,
        HelpName = "VERB|build",
    };

    public HelpVerb(IEnumerable<string> verbs) : base("help", "this text; help VERB: that verb's options; help build: ./build.sh's targets and options")
    {
        string[] topics = [.. verbs, Name, Build];
        topic.CompletionSources.Add(topics);
        topic.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string?>() is { } given && !topics.Contains(given))
                r.AddError($"no help on '{given}'{(Suggestions.Closest(given, topics) is { } guess ? $" — did you mean '{guess}'?" : "")}; write a verb or build");
        });
        Command.Arguments.Add(topic);
    }

    protected override int Run(ParseResult p, Writers io)
    {
        if (p.GetValue(topic) == Build)
        {
            io.Out.Write(BuildHelp.Text());
            return 0;
        }
        return TtaCli.WriteHelp(p.RootCommandResult.Command, p.GetValue(topic), io.Out);
    }
}
