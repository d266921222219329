using System.CommandLine;

namespace Tta.Cli.Verbs;

/// <summary>
/// forward --model=DIR --inputs=case.json --out=FILE.safetensors: runs a checkpoint on a case.json and writes every
/// internal tensor under the fixtures' names. By default (--masking=correct) attention is masked causally, as the
/// Extract stage does. Falcon with --masking=reference reproduces what transformers does when attention weights are
/// requested from a Falcon loaded with SDPA attention (it adds the boolean mask built for SDPA to the scores: +1 where
/// allowed, +0 elsewhere, no masking at all); the Falcon fixtures were recorded that way, so diffs against such
/// PyTorch runs need it.
/// </summary>
internal sealed class ForwardVerb : Verb
{
    private static readonly string[] Maskings = ["correct", "reference"];

    private readonly Option<string?> model = CliOptions.Text("model", "DIR", "checkpoint folder");
    private readonly Option<string?> inputs = CliOptions.Text("inputs", "case.json", "the case: text and token ids");
    private readonly Option<string?> output = CliOptions.Text("out", "FILE.safetensors", "where the tensors are written");
    private readonly Option<string?> masking = CliOptions.Text("masking", "MASKING",
        "correct (causal, default) or reference (Falcon as transformers with SDPA)",
        m => Maskings.Contains(m) ? m : throw new ArgumentException("--masking must be reference or correct"), Maskings);

    public ForwardVerb() : base("forward", "run a checkpoint on a case.json and write its internal tensors")
    {
        foreach (var option in new[] { model, inputs, output })
        {
            option.Required = true;
            Add(option);
        }
        Add(masking);
    }

    protected override int Run(ParseResult p, Writers io)
    {
        var reference = p.GetValue(masking) == "reference";
        return Tta.Models.ForwardRunner.Run(p.GetValue(model)!, p.GetValue(inputs)!, p.GetValue(output)!, io.Out, model =>
        {
            if (model is Tta.Models.Falcon falcon && reference)
            {
                falcon.EmulateReferenceBoolMaskBug = true;
                io.Out.WriteLine("forward: Falcon attention masked as transformers does when it returns attention weights from an SDPA-loaded model (--masking=reference); the default --masking=correct masks causally");
            }
        });
    }
}
