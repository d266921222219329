using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using Tta.Cli;
using Tta.Cli.Verbs;
using Tta.Config;
using Tta.Metrics;

// tta-cli: one verb per pipeline step; build/build.cake calls these. Exit codes: 0 ok (status: up to date),
// 3 status: stale, 4 verify: checksums match but some units were made by other code (not regenerated), 2 bad input
// (an unknown verb or option, a bad option value, an experiment file), 1 any other failure.
var exitCode = TtaCli.Run(args, Console.Out, Console.Error);
Tta.Core.ProcessMemory.ReportPeak();
return QuickExit.After(exitCode);

/// <summary>The CLI's verbs, callable in-process (tests use it with their own writers).</summary>
public static class TtaCli
{
    public const int Stale = 3;
    public const int BadInput = 2;
    public const int NotRegenerated = 4; // verify: checksums match, but some units were made by other code

    /// <summary>The verbs, each declared once: the parser, its checks, completions and help are made from these.</summary>
    private static IReadOnlyList<Verb> CreateVerbs(MetricKinds kinds)
    {
        Verb[] verbs = [new ValidateVerb(), new PlanVerb(), new StatusVerb(), new RunVerb(), new UnitsVerb(), new ForwardVerb(),
            new CleanVerb(), new ArchiveVerb(), new VerifyVerb(), new CheckOptionsVerb()];
        foreach (var verb in verbs) verb.Kinds = kinds;
        return [.. verbs, new HelpVerb(verbs.Select(v => v.Name))];
    }

    public static IReadOnlyList<string> Verbs { get; } = [.. CreateVerbs(MetricKinds.Default).Select(v => v.Name)];

    /// <summary>tta-cli's command line: a root command with one sub-command per verb (made anew for each run: parses of one run share nothing with another's).</summary>
    /// <param name="kinds">the metric kinds experiments may configure (tta's own when null; tests add one of their own).</param>
    public static RootCommand Command(MetricKinds? kinds = null)
    {
        var root = new RootCommand("tta-cli: one verb per pipeline step (./build.sh calls these)") { HelpName = "tta-cli" };
        foreach (var verb in CreateVerbs(kinds ?? MetricKinds.Default)) root.Subcommands.Add(verb.Command);
        return root;
    }

    /// <param name="kinds">the metric kinds experiments may configure (tta's own when null; tests add one of their own).</param>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, MetricKinds? kinds = null)
    {
        var root = Command(kinds);
        // No @response files, no bundled -abc: every argument is taken as written (an experiment path may start with @).
        var result = root.Parse(args, new ParserConfiguration { EnablePosixBundling = false, ResponseFileTokenReplacer = null });
        if (result.Action is ParseErrorAction)
        {
            foreach (var problem in ParseProblems.Describe(result, args)) stderr.WriteLine($"error: {problem}");
            if (result.CommandResult.Command == root) WriteHelp(root, null, stderr);
            return BadInput;
        }
        try
        {
            return result.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null });
        }
        catch (ConfigException e)
        {
            foreach (var line in e.Problems) stderr.WriteLine($"error: {line}");
            return BadInput;
        }
        catch (BadInputException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            return BadInput;
        }
        catch (OperationCanceledException)
        {
            stderr.WriteLine("error: the run was interrupted (Ctrl-C or SIGTERM); its Slurm jobs were cancelled (scancel). Run again to build what is still stale");
            return 130;
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("TTA_DEBUG") != "1")
        {
            stderr.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    /// <summary>The parser's help for <paramref name="verb"/> (null: every verb) on <paramref name="output"/>.</summary>
    internal static int WriteHelp(Command root, string? verb, TextWriter output) =>
        root.Parse(verb is null ? ["--help"] : [verb, "--help"]).Invoke(new InvocationConfiguration { Output = output });
}
