using System.CommandLine;
using System.CommandLine.Parsing;
using Tta.Config;

namespace Tta.Cli;

/// <summary>
/// The parser's errors in tta's words, the same as ./build.sh's (<c>unknown option --froce — did you mean --force?</c>):
/// an unknown verb or option names the closest one the parser knows for that verb.
/// </summary>
internal static class ParseProblems
{
    public static IReadOnlyList<string> Describe(ParseResult result, IReadOnlyList<string> args)
    {
        var command = result.CommandResult.Command;
        // Words the parser could not place: the first says it (the rest often only follow from it, as after a mistyped verb).
        if (result.UnmatchedTokens.Count > 0) return [Unmatched(command, result.UnmatchedTokens[0], args)];
        var problems = new List<string>();
        foreach (var error in result.Errors)
        {
            if (error.SymbolResult is OptionResult { IdentifierToken: null, Option: var missing })
                problems.Add($"{missing.Name}=… is required");
            else if (error.SymbolResult is OptionResult { Tokens.Count: 0, Option: var option } && option.Arity.MinimumNumberOfValues > 0)
                problems.Add($"option {option.Name} needs a value: {option.Name}=…");
            else if (error.SymbolResult is OptionResult or ArgumentResult)
                problems.Add(error.Message); // a value's check (the library's message)
        }
        // With no verb, the usage that follows says it all; any other error of the parser is shown as it is.
        if (problems.Count == 0 && command is not RootCommand) problems.AddRange(result.Errors.Select(e => e.Message));
        return problems;
    }

    private static string Unmatched(Command command, string token, IReadOnlyList<string> args)
    {
        var options = command.Options.Where(o => o.Name.StartsWith("--", StringComparison.Ordinal)).ToList();
        // A switch given a value (--explain=yes): the parser reads the switch and leaves the value over.
        if (args.FirstOrDefault(a => a.EndsWith($"={token}", StringComparison.Ordinal) && options.Any(o => o.ValueType == typeof(bool) && a == $"{o.Name}={token}")) is { } given)
            return $"option {given[..given.IndexOf('=')]} is a switch and takes no value (got '{token}')";
        if (token.StartsWith('-'))
        {
            var name = token.Split('=')[0].TrimStart('-');
            var names = options.Select(o => o.Name[2..]).ToList();
            var hint = Suggestions.Closest(name, names) is { } guess ? $"did you mean --{guess}?" : $"known options: {string.Join(", ", names.Select(n => "--" + n))}";
            return $"unknown option --{name} — {hint}";
        }
        if (command is RootCommand)
        {
            var guess = Suggestions.Closest(token, command.Subcommands.Select(c => c.Name));
            return $"unknown verb '{token}'{(guess is null ? "" : $" — did you mean '{guess}'?")}";
        }
        return $"unexpected argument '{token}': {command.Name} takes options only (--name=value)";
    }
}
