using System.CommandLine;
using Tta.Build;

namespace Tta.Cli.Verbs;

/// <summary>
/// check-options --NAME=VALUE …: the options ./build.sh was given, checked against its table of known options
/// (<see cref="KnownOptions"/>); exit 2 naming an unknown one. Cake runs the same check in its own process.
/// </summary>
internal sealed class CheckOptionsVerb : Verb
{
    public CheckOptionsVerb() : base("check-options", "check ./build.sh options against the known ones") =>
        Command.TreatUnmatchedTokensAsErrors = false; // the options to check are not tta-cli's own

    protected override int Run(ParseResult p, Writers io)
    {
        var given = p.UnmatchedTokens.Select(token =>
        {
            var name = token.TrimStart('-');
            var eq = name.IndexOf('=');
            return eq < 0 ? (name, (string?)null) : (name[..eq], name[(eq + 1)..]);
        });
        if (KnownOptions.Problem(given) is not { } problem) return 0;
        io.Error.WriteLine($"error: {problem}");
        return TtaCli.BadInput;
    }
}
